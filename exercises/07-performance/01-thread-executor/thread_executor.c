/* thread_executor.c - exercise 07.1: loop.run_in_executor over a pool of
 * threads. Read README.md in this folder, then replace each TODO.
 */
#include "thread_executor.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

/* TODO: a struct for one job (work, done, arg, its status, a next pointer
 *       for the lists it is on). */

/* TODO: struct executor: the loop, an ev_async (the one way a worker may
 *       wake the loop), a count of jobs whose done is still to come, a
 *       mutex and a condition variable, a FIFO of jobs not started, a FIFO
 *       of jobs whose work is done, a stopping flag, the threads. */

/* TODO: the worker thread: wait for a job (or for stopping), run its work
 *       with the lock released, put it on the ready list, ev_async_send. */

/* TODO: the ev_async's callback, on the loop's thread: take every ready
 *       job, call its done, free it; stop the ev_async when no job is out. */

int executor_new(executor_t **out, struct ev_loop *loop, unsigned nthreads) {
  /* TODO: check nthreads, allocate, start the threads. */
  (void)out, (void)loop, (void)nthreads;
  return -ENOSYS;
}

int executor_submit(executor_t *ex, executor_work_fn work,
                    executor_done_cb done, void *arg) {
  /* TODO: allocate the job, start the ev_async if it is the only job out,
   *       queue the job and wake one thread. */
  (void)ex, (void)work, (void)done, (void)arg;
  return -ENOSYS;
}

void executor_free(executor_t *ex) {
  /* TODO: drop the jobs not started, stop and join the threads, call done
   *       for every job left (-ECANCELED for the dropped ones), stop the
   *       ev_async, free everything. */
  (void)ex;
}
