/* measure_case.c - exercise 01.3: when does async pay? Measure it.
 * Read README.md in this folder, then replace each TODO.
 */
#include "measure_case.h"

#include <stdlib.h>
#include <time.h>

/* TODO: a struct for one task: its ev_timer, its index, a pointer to the
 *       measurement it belongs to. */

/* TODO: a struct for the measurement: the loop, compute, done, arg, when
 *       measure_case was called, how many tasks are left and how many are
 *       waiting right now, the report being filled in, the tasks. */

/* TODO: a clock in milliseconds: clock_gettime(CLOCK_MONOTONIC, ...). */

/* TODO: the timer callback: one wait fewer under way; compute(index),
 *       timed; count the task; after the last one, finish the report,
 *       call done, free. */

int measure_case(struct ev_loop *loop, const struct case_spec *spec,
                 case_done_cb done, void *arg) {
  /* TODO: note the time; allocate; start every task's timer, counting
   *       the waits under way; with no tasks, have the loop call done. */
  (void)loop, (void)spec, (void)done, (void)arg;
  return -1;
}
