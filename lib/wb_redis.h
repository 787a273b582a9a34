/* wb_redis.h - a private redis-server for chapter programs and tests: started
 * as a child process on a Unix socket in a fresh temporary folder, with
 * nothing saved to disk, and stopped again; plus two small blocking queries
 * about it (its count of clients, and dropping them) that the harness uses.
 */
#ifndef WB_REDIS_H
#define WB_REDIS_H

#include <sys/types.h>

/* A running server. Everything lives in the struct: starting and stopping
 * allocate nothing and leave no descriptor open in the caller. */
typedef struct wb_redis {
  pid_t pid;      /* ro: the redis-server process, 0 when not running */
  char dir[64];   /* ro: its temporary folder (socket and log file) */
  char path[108]; /* ro: the Unix socket, "DIR/redis.sock" */
} wb_redis_t;

/* Starts redis-server (found on PATH, else /usr/bin or /usr/sbin) with
 *   --port 0 --unixsocket DIR/redis.sock --save "" --appendonly no --dir DIR
 * in a new folder under $TMPDIR or /tmp, and waits until it accepts a
 * connection: at most `wait_ms` milliseconds (0 means 5000). Returns 0, or
 * -1 after printing why on stderr (redis-server is not installed, it exited,
 * it never answered); nothing is left behind on failure. */
int wb_redis_start(wb_redis_t *r, unsigned wait_ms);

/* Stops the server (SIGTERM, then SIGKILL after 1 s), waits for it and
 * removes its folder. Safe to call twice, or on a server never started. */
void wb_redis_stop(wb_redis_t *r);

/* How many clients the server at `address` has connected right now, by its
 * own count (INFO clients: connected_clients), not counting the connection
 * this call makes to ask. A connection closed just before is not counted:
 * while the count is above 0 it asks again, a few times over about 20 ms.
 * `address` is a socket path (it holds a '/') or HOST:PORT. Blocking,
 * bounded by 1 s. Returns -1 when the server could not be asked. */
int wb_redis_client_count(const char *address);

/* Makes the server at `address` close every other client's connection
 * (CLIENT KILL TYPE normal SKIPME yes), as if the server had dropped them.
 * Blocking, bounded by 1 s. Returns how many it closed, or -1. */
int wb_redis_kill_clients(const char *address);

/* Splits `address` for hiredis: a socket path (port 0) or HOST:PORT.
 * Returns 0, or -1 when it is neither. */
int wb_redis_parse(const char *address, char *host, size_t hostlen, int *port);

/* For chapter programs: the address after "--redis" in argv, or else the
 * socket of a server started now into `own` (stop it with wb_redis_stop).
 * Returns NULL, after saying why on stderr, when there is neither. */
const char *wb_redis_address(int argc, char **argv, wb_redis_t *own);

#endif /* WB_REDIS_H */
