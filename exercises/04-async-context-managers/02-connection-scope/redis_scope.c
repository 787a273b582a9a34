/* redis_scope.c - exercise 04.2: `async with` around a Redis connection,
 * whose close runs exactly once on every path.
 * Read README.md in this folder, then replace each TODO.
 */
#include "redis_scope.h"

#include <hiredis/adapters/libev.h>
#include <stdlib.h>

/* TODO: struct redis_scope: the loop, the connection (NULL once hiredis
 *       has let go of it), whether it is connected, a timer for the time
 *       limit, a 0 s timer for what must happen from the loop (start the
 *       body, report the end), body, done, arg, and the first ending. */

/* TODO: one function that every ending goes through (the body's end, the
 *       time limit, a cancel, a failed connect): only the first one counts.
 *       It stops the time limit and closes the connection: gracefully for
 *       the body's end (redisAsyncDisconnect), at once for the others
 *       (redisAsyncFree), or, with nothing connected yet, ends the scope
 *       by itself. */

/* TODO: hiredis's connect and disconnect callbacks. The disconnect
 *       callback is where a closed connection ends the scope (by the
 *       server's doing, it is SCOPE_EGONE); done then comes from a 0 s
 *       timer, and the scope is freed after done. */

struct redis_scope *redis_scope_open(struct ev_loop *loop, const char *path,
                                     unsigned timeout_ms, scope_body_fn body,
                                     scope_done_cb done, void *arg) {
  /* TODO: allocate the scope (NULL if that fails), connect with
   *       redisAsyncConnectUnix, attach it to the loop, set both
   *       callbacks, start the time limit when timeout_ms > 0. */
  (void)loop, (void)path, (void)timeout_ms, (void)body, (void)done, (void)arg;
  return NULL;
}

void redis_scope_end(struct redis_scope *scope, int status) {
  /* TODO: end the scope with `status`, closing gracefully. */
  (void)scope, (void)status;
}

void redis_scope_cancel(struct redis_scope *scope) {
  /* TODO: end the scope with SCOPE_ECANCELED, closing at once. */
  (void)scope;
}
