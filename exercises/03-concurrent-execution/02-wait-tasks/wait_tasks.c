/* wait_tasks.c - exercise 03.2: asyncio.wait with a timeout and a
 * return-when mode. Read README.md in this folder, then replace each TODO.
 */
#include "wait_tasks.h"

#include <stdlib.h>

/* TODO: a struct for one task (its ev_timer, its index, its status, a
 *       pointer to the wait). */

/* TODO: the wait: loop, specs, n, mode, callback and arg, the timeout's
 *       ev_timer, the done set in the order the tasks ended, whether it
 *       has returned, and the tasks. */

int wt_wait_start(struct ev_loop *loop, const struct wt_spec *specs, size_t n,
                  long timeout_ms, enum wt_return_when mode, wt_cb cb,
                  void *arg, wt_wait_t **out) {
  /* TODO: allocate, start every task's timer and the timeout (with no
   *       tasks, a 0 s timer that returns the wait), set *out. */
  (void)loop, (void)specs, (void)n, (void)timeout_ms, (void)mode, (void)cb;
  (void)arg, (void)out;
  return -1;
}

enum wt_status wt_status(const wt_wait_t *w, size_t i) {
  (void)w, (void)i;
  return WT_PENDING; /* TODO */
}

size_t wt_done(const wt_wait_t *w, size_t *idx) {
  (void)w, (void)idx;
  return 0; /* TODO */
}

size_t wt_pending(const wt_wait_t *w, size_t *idx) {
  (void)w, (void)idx;
  return 0; /* TODO */
}

size_t wt_cancel_pending(wt_wait_t *w) {
  (void)w;
  return 0; /* TODO */
}

void wt_free(wt_wait_t *w) {
  (void)w; /* TODO */
}
