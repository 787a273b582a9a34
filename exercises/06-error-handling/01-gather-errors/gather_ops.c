/* gather_ops.c - exercise 06.1: gather over operations that may fail.
 * Read README.md in this folder, then replace each TODO.
 */
#include "gather_ops.h"

#include <stdio.h>
#include <stdlib.h>

/* TODO: a struct for the whole gather: what the callbacks need once
 *       gather_ops has returned (loop, mode, done, arg, n, how many
 *       operations answered, the index of the first error, the slots, each
 *       running operation's struct op pointer). */

/* TODO: what each operation's callback gets as arg: its gather and its
 *       index. */

/* TODO: the operations' callback: mark the operation answered, copy its
 *       value or its error into its own slot, remember the first error;
 *       in GATHER_FAIL_FAST mode at an error, cancel every operation still
 *       running (their slots OP_ECANCELED) and call done; otherwise call
 *       done after the last answer. Free everything after done returns. */

int gather_ops(struct ev_loop *loop, size_t n, enum gather_mode mode,
               gather_done_cb done, void *arg) {
  /* TODO: allocate the gather (return -1 if that fails). */
  /* TODO: with n == 0, make the loop call done later (ev_once). */
  /* TODO: start operations 0 to n-1 with op_start; if one returns NULL,
   *       cancel those already started, free everything, return -1. */
  (void)loop, (void)n, (void)mode, (void)done, (void)arg;
  return -1;
}
