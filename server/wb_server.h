/* wb_server.h - the workbook's local HTTP/1.1 server, written on libev.
 *
 * Examples and tests start it on 127.0.0.1 on a free port so that nothing
 * needs the internet. Every buffer is bounded, every connection has an idle
 * timeout, and each response closes its connection ("Connection: close").
 *
 * Endpoints (GET or HEAD):
 *   /               a short text index of what follows
 *   /json           a JSON document: {"id":1,"name":"workbook","tags":[...]}
 *   /json/N         the same document with "id": N
 *   /delay/MS       {"delay_ms":MS}, sent after MS milliseconds (at most
 *                   60000); other clients are served meanwhile
 *   /status/CODE    a response with that status (200-599) and a JSON body
 *   /drip/N/MS      a body of N bytes (at most 65536), one byte every MS
 *                   milliseconds (at most 10000)
 *   /split/N        {"id":7,...}: a JSON document sent in N pieces (at most
 *                   its length), 20 ms apart, so the client receives it in
 *                   several reads
 *   /close          the connection is closed without any response
 *   /flaky/KEY/N    the first N requests (at most 1000) for KEY (1-32
 *                   letters, digits, '-' or '_') are answered 503, every
 *                   later one 200, each with {"attempt":K}, K counting from
 *                   1; counted per server (at most 64 keys), so a fresh
 *                   server starts every key afresh
 * Anything else is 404; a malformed request is 400, a method other than
 * GET or HEAD is 405, a request head over 8 KiB is 400.
 */
#ifndef WB_SERVER_H
#define WB_SERVER_H

#include <ev.h>

typedef struct wb_server wb_server_t;

/* Opens a listening socket on host:port (port 0 picks a free one) and serves
 * on `loop`, which the caller runs. Returns 0 and sets *out, or a negative
 * errno value. The server's watchers do not keep the loop alive on their
 * own (they are unref'ed), so ev_run returns when the caller's work ends. */
int wb_server_open(wb_server_t **out, struct ev_loop *loop, const char *host,
                   int port);

/* Closes the listening socket and every open connection, then frees the
 * server. Must be called from the thread that runs the server's loop. */
void wb_server_close(wb_server_t *srv);

/* Starts a server on a loop of its own in a new thread. Returns 0 and sets
 * *out, or a negative errno value. Stop it with wb_server_stop. */
int wb_server_start(wb_server_t **out, const char *host, int port);

/* Stops a server made by wb_server_start: wakes its loop (ev_async), closes
 * everything, joins the thread and frees it all. */
void wb_server_stop(wb_server_t *srv);

/* The port the server listens on. */
int wb_server_port(const wb_server_t *srv);

/* Requests answered (any status) since the server started. Safe to read from
 * another thread. */
unsigned wb_server_answered(const wb_server_t *srv);

/* Makes the server count answered requests into *counter instead of its own
 * field: memory shared with another process (MAP_SHARED) lets a parent see
 * what a server in a child process did. The counter is updated atomically. */
void wb_server_count_into(wb_server_t *srv, unsigned *counter);

/* The most connections the server has had open at the same time since it
 * started: with one request per connection, the most requests a client had
 * in flight together. Safe to read from another thread. */
unsigned wb_server_most_open(const wb_server_t *srv);

/* Makes the server keep that number in *counter instead of its own field,
 * as wb_server_count_into does for answered requests (memory shared with
 * another process). Only the server's loop writes it, atomically. */
void wb_server_most_open_into(wb_server_t *srv, unsigned *counter);

#endif /* WB_SERVER_H */
