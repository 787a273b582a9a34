/* deadline_call.c - exercise 06.3: a call with a time limit and a cancel
 * whose completion runs exactly once.
 * Read README.md in this folder, then replace each TODO.
 */
#include "deadline_call.h"

#include <stdio.h>
#include <stdlib.h>

/* TODO: struct deadline: the loop, done, arg, the time limit's ev_timer, a
 *       0 ms ev_timer for reporting a cancel from the loop, the struct op
 *       pointer (NULL once it answered or was aborted), whether the
 *       operation has answered, whether the first ending has arrived,
 *       whether done has run, and the value or a copy of the error. */

/* TODO: a function that frees the call once done has run AND the
 *       operation has answered (it always does, even when aborted). */

/* TODO: the operation's callback: the first ending? then keep a copy of
 *       the value or error and call done. A late answer changes nothing,
 *       but it may be the moment the memory can go. */

/* TODO: the time limit's callback and the 0 ms timer's callback. */

struct deadline *deadline_call(struct ev_loop *loop, unsigned timeout_ms,
                               deadline_cb done, void *arg) {
  /* TODO: allocate (NULL if that fails), start the time limit when
   *       timeout_ms > 0, begin the operation. */
  (void)loop, (void)timeout_ms, (void)done, (void)arg;
  return NULL;
}

void deadline_cancel(struct deadline *d) {
  /* TODO: unless an ending has already arrived: record OP_ECANCELED, stop
   *       the limit, abort the operation, start the 0 ms timer. */
  (void)d;
}
