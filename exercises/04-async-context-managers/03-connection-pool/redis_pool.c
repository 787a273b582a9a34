/* redis_pool.c - exercise 04.3: a bounded pool of Redis connections.
 * Read README.md in this folder, then replace each TODO.
 */
#include "redis_pool.h"

#include <hiredis/adapters/libev.h>
#include <stdio.h>
#include <stdlib.h>

/* TODO: struct pool_conn: its pool, its connection (NULL once gone),
 *       whether it is connected, whether it is lent out, a list link. */

/* TODO: a struct for a request: its callback and arg, a 0 s ev_timer to
 *       answer it from the loop, the answer (conn, status), a queue link. */

/* TODO: struct redis_pool: the loop, the socket path, size, how many
 *       connections are open or opening, every handle, the queue of
 *       waiting requests (oldest first), answers on their way, and what
 *       close needs (closing, closed, its arg, a 0 s timer). */

/* TODO: hiredis's connect and disconnect callbacks for a pool connection,
 *       and one function that serves the queue: idle connections first,
 *       then new connections while fewer than size exist. */

struct redis_pool *redis_pool_new(struct ev_loop *loop, const char *path,
                                  unsigned size) {
  /* TODO */
  (void)loop, (void)path, (void)size;
  return NULL;
}

int redis_pool_get(struct redis_pool *pool, pool_get_cb cb, void *arg) {
  /* TODO: queue the request, then serve the queue. */
  (void)pool, (void)cb, (void)arg;
  return -1;
}

redisAsyncContext *pool_conn_ac(const struct pool_conn *conn) {
  /* TODO */
  (void)conn;
  return NULL;
}

void redis_pool_put(struct pool_conn *conn) {
  /* TODO: drop it if gone, close it if the pool is closing, else serve
   *       the queue with it. */
  (void)conn;
}

void redis_pool_close(struct redis_pool *pool, pool_closed_cb closed,
                      void *arg) {
  /* TODO: answer every waiting request with POOL_ECLOSED, close idle and
   *       opening connections, and call closed from the loop once nothing
   *       is left. */
  (void)pool, (void)closed, (void)arg;
}
