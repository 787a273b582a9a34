/* with_resource.c - exercise 06.2: acquire, work and release, each
 * asynchronous, with a time limit and cancellation.
 * Read README.md in this folder, then replace each TODO.
 */
#include "with_resource.h"

#include <stdio.h>
#include <stdlib.h>

/* TODO: struct scope: what the callbacks need (loop, done, arg), the time
 *       limit's ev_timer, the step in progress, the res_op in progress,
 *       the descriptor (-1 while not held), the result, and a copy of the
 *       error that ended the scope (OP_OK until one arrives). */

/* TODO: one function that every ending goes through (an error from an
 *       operation, the time limit, a cancel): only the first one counts.
 *       It stops the time limit, cancels the operation in progress, and
 *       releases the resource if it is held; with nothing held, it ends
 *       the scope on the loop's next iteration. */

/* TODO: the callbacks of res_acquire, res_work and res_release, and of
 *       the time limit's timer. The release's callback calls done, then
 *       frees the scope. */

struct scope *with_resource(struct ev_loop *loop, unsigned timeout_ms,
                            scope_done_cb done, void *arg) {
  /* TODO: allocate the scope (NULL if that fails), start the time limit
   *       when timeout_ms > 0, start res_acquire. */
  (void)loop, (void)timeout_ms, (void)done, (void)arg;
  return NULL;
}

void scope_cancel(struct scope *scope) {
  /* TODO: end the scope with OP_ECANCELED, unless it is already ending or
   *       releasing. */
  (void)scope;
}
