/* gather_tasks.c - exercise 02.2: asyncio.gather over sleeping tasks.
 * Read README.md in this folder, then replace each TODO.
 */
#include "gather_tasks.h"

#include <stdlib.h>

/* TODO: a struct for one task (an ev_timer, its index, a pointer to the
 *       gather it belongs to). */

/* TODO: a struct for the whole gather: what the callbacks need after
 *       gather_tasks has returned (loop, specs, n, on_event, done, arg, the
 *       results array, a count of tasks finished so far, the tasks). */

/* TODO: the timer callback: record the task's result in its own slot,
 *       report TASK_COMPLETED, and when it was the last task, call done
 *       and free everything. */

int gather_tasks(struct ev_loop *loop, const struct task_spec *specs,
                 size_t n, task_event_cb on_event, gather_done_cb done,
                 void *arg) {
  /* TODO: allocate the gather and its results (return -1 if that fails). */
  /* TODO: for every task, in order: report TASK_STARTED, then start a
   *       one-shot timer of specs[i].delay_ms milliseconds. */
  /* TODO: when n is 0, arrange for done to be called by the loop, later
   *       (never from inside gather_tasks). */
  (void)loop, (void)specs, (void)n, (void)on_event, (void)done, (void)arg;
  return -1;
}
