/* work_queue.c - exercise 07.2: asyncio.Queue(maxsize) with N workers, join
 * and cancel, on one loop. Read README.md in this folder, then replace each
 * TODO.
 */
#include "work_queue.h"

#include <errno.h>
#include <stdlib.h>

/* TODO: a struct for a put that found the queue full (the item, put_done,
 *       its arg, next). */

/* TODO: a struct for a worker (its queue, whether it is busy); its address
 *       can be the token that finish gets back. */

/* TODO: struct work_queue: the loop, one watcher that runs the hand-out on
 *       the loop's next turn, process and its arg, a ring of items, the
 *       FIFO of waiting puts, the count of unfinished items, the join, the
 *       close, the workers. */

/* TODO: finish(token): the worker is idle again, one item less is
 *       unfinished; ask the loop for a hand-out. */

/* TODO: the hand-out callback: give items to idle workers (oldest first),
 *       let the oldest waiting put in when a place frees up (then its
 *       put_done), end a join when nothing is unfinished, and when closing:
 *       drop the rest and, once no worker is busy, free and call closed. */

int wq_new(work_queue_t **out, struct ev_loop *loop, size_t maxsize,
           unsigned nworkers, wq_process_fn process, void *process_arg) {
  /* TODO */
  (void)out, (void)loop, (void)maxsize, (void)nworkers, (void)process,
      (void)process_arg;
  return -ENOSYS;
}

int wq_put(work_queue_t *q, int item, wq_status_cb put_done, void *put_arg) {
  /* TODO */
  (void)q, (void)item, (void)put_done, (void)put_arg;
  return -ENOSYS;
}

int wq_join(work_queue_t *q, wq_status_cb done, void *arg) {
  /* TODO */
  (void)q, (void)done, (void)arg;
  return -ENOSYS;
}

void wq_close(work_queue_t *q, wq_status_cb closed, void *arg) {
  /* TODO */
  (void)q, (void)closed, (void)arg;
}
