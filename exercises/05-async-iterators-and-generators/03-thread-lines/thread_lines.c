/* thread_lines.c - exercise 05.3: the lines of a file through a worker
 * thread and an ev_async. Read README.md in this folder, then replace
 * each TODO.
 */
#include "thread_lines.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tlines {
  /* TODO: on the loop's side: the loop, an ev_async (the worker's wake-up
   *       call), a 0 s ev_timer to answer from the loop, the pending
   *       request (cb, arg) and whether the stream is over.
   *       Shared with the worker, under a mutex: a queue of lines, its
   *       length and bound, a condition variable "there is room", and
   *       "finished" / "error" / "stop" flags. Also the path, the thread,
   *       and a pipe that tlines_free writes to, to wake the worker. */
  int todo;
};

int tlines_open(tlines_t **out, struct ev_loop *loop, const char *path,
                unsigned max_queued) {
  /* TODO: check the arguments; allocate the reader and a copy of path;
   *       make the stop pipe; initialise the mutex, the condition
   *       variable and both watchers (start neither); start the worker
   *       with pthread_create. Undo everything on any failure. */
  (void)out, (void)loop, (void)path, (void)max_queued;
  return -ENOSYS;
}

int tlines_next(tlines_t *t, tlines_cb cb, void *arg) {
  /* TODO: -EBUSY, -EPIPE; else remember cb and arg and start the 0 s
   *       timer, whose callback answers from the queue or starts the
   *       ev_async to wait for the worker. */
  (void)t, (void)cb, (void)arg;
  return -ENOSYS;
}

unsigned tlines_queued(tlines_t *t) {
  /* TODO: the queue's length, read under the mutex. */
  (void)t;
  return 0;
}

void tlines_free(tlines_t *t) {
  /* TODO: stop both watchers; tell the worker to stop (the flag, the
   *       condition variable, a byte into the stop pipe); join it; free
   *       the queued lines and everything else; close the pipe. */
  (void)t;
}
