/* thread_executor.c - exercise 07.1, the reference solution: a pool of
 * threads that runs blocking calls for one loop, and hands each result back
 * to the loop's thread through one ev_async, the only libev call a worker
 * makes. Everything the two sides share is guarded by one mutex.
 */
#include "thread_executor.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

/* One job: from executor_submit until its done has been called. */
struct job {
  executor_work_fn work;
  executor_done_cb done;
  void *arg;
  int status;
  struct job *next;
};

struct executor {
  struct ev_loop *loop; /* touched by the loop's thread only... */
  ev_async wake;        /* ...except through ev_async_send */
  unsigned pending;     /* jobs whose done is still to come (loop's thread) */
  pthread_mutex_t lock; /* guards everything below */
  pthread_cond_t more;  /* todo grew, or stopping was set */
  struct job *todo, **todo_end;   /* FIFO: submitted, not started */
  struct job *ready, **ready_end; /* FIFO: worked, done not yet called */
  int stopping;
  unsigned nthreads; /* threads started */
  pthread_t threads[];
};

static void *worker_main(void *arg) {
  executor_t *ex = arg;
  pthread_mutex_lock(&ex->lock);
  for (;;) {
    while (!ex->todo && !ex->stopping)
      pthread_cond_wait(&ex->more, &ex->lock);
    if (!ex->todo)
      break; /* stopping, and nothing is left to start */
    struct job *j = ex->todo;
    if (!(ex->todo = j->next))
      ex->todo_end = &ex->todo;
    pthread_mutex_unlock(&ex->lock);
    j->work(j->arg); /* blocks this thread only, with the lock released */
    pthread_mutex_lock(&ex->lock);
    j->status = 0;
    j->next = NULL;
    *ex->ready_end = j;
    ex->ready_end = &j->next;
    /* Thread-safe by design; sends made before the loop wakes are merged
     * into one callback, which takes every ready job. */
    ev_async_send(ex->loop, &ex->wake);
  }
  pthread_mutex_unlock(&ex->lock);
  return NULL;
}

/* Calls one job's done and forgets the job. The ev_async stops with the
 * last job out, before done runs: a done that submits starts it again. */
static void deliver(executor_t *ex, struct job *j) {
  executor_done_cb done = j->done;
  void *arg = j->arg;
  int status = j->status;
  free(j);
  if (--ex->pending == 0)
    ev_async_stop(ex->loop, &ex->wake);
  done(ex->loop, arg, status);
}

/* On the loop's thread: every job that is ready, oldest first. */
static void wake_cb(struct ev_loop *loop, ev_async *w, int revents) {
  executor_t *ex = w->data;
  (void)loop, (void)revents;
  pthread_mutex_lock(&ex->lock);
  struct job *j = ex->ready;
  ex->ready = NULL;
  ex->ready_end = &ex->ready;
  pthread_mutex_unlock(&ex->lock);
  while (j) {
    struct job *next = j->next;
    deliver(ex, j);
    j = next;
  }
}

/* Stops the threads started so far and waits for them. */
static void stop_threads(executor_t *ex) {
  pthread_mutex_lock(&ex->lock);
  ex->stopping = 1;
  pthread_cond_broadcast(&ex->more);
  pthread_mutex_unlock(&ex->lock);
  for (unsigned i = 0; i < ex->nthreads; i++)
    pthread_join(ex->threads[i], NULL);
}

int executor_new(executor_t **out, struct ev_loop *loop, unsigned nthreads) {
  if (nthreads < 1 || nthreads > EXECUTOR_MAX_THREADS)
    return -EINVAL;
  executor_t *ex = calloc(1, sizeof *ex + nthreads * sizeof(pthread_t));
  if (!ex)
    return -ENOMEM;
  ex->loop = loop;
  ex->todo_end = &ex->todo;
  ex->ready_end = &ex->ready;
  ev_async_init(&ex->wake, wake_cb);
  ex->wake.data = ex;
  pthread_mutex_init(&ex->lock, NULL);
  pthread_cond_init(&ex->more, NULL);
  for (; ex->nthreads < nthreads; ex->nthreads++)
    if (pthread_create(&ex->threads[ex->nthreads], NULL, worker_main, ex)) {
      stop_threads(ex); /* the ones already running */
      pthread_cond_destroy(&ex->more);
      pthread_mutex_destroy(&ex->lock);
      free(ex);
      return -EAGAIN;
    }
  *out = ex;
  return 0;
}

int executor_submit(executor_t *ex, executor_work_fn work,
                    executor_done_cb done, void *arg) {
  struct job *j = malloc(sizeof *j);
  if (!j)
    return -ENOMEM;
  *j = (struct job){work, done, arg, 0, NULL};
  /* Started before any thread can send: a send to a stopped ev_async
   * would be lost. */
  if (ex->pending++ == 0)
    ev_async_start(ex->loop, &ex->wake);
  pthread_mutex_lock(&ex->lock);
  *ex->todo_end = j;
  ex->todo_end = &j->next;
  pthread_cond_signal(&ex->more);
  pthread_mutex_unlock(&ex->lock);
  return 0;
}

void executor_free(executor_t *ex) {
  if (!ex)
    return;
  /* Jobs not started are taken away first, so no thread starts them. */
  pthread_mutex_lock(&ex->lock);
  struct job *dropped = ex->todo;
  ex->todo = NULL;
  ex->todo_end = &ex->todo;
  pthread_mutex_unlock(&ex->lock);
  stop_threads(ex); /* the running jobs end, and land on ready */
  /* No thread is left: the lists need no lock any more. */
  for (struct job *j = ex->ready, *next; j; j = next) {
    next = j->next;
    deliver(ex, j);
  }
  for (struct job *j = dropped, *next; j; j = next) {
    next = j->next;
    j->status = -ECANCELED;
    deliver(ex, j);
  }
  ev_async_stop(ex->loop, &ex->wake); /* already stopped unless no job ran */
  pthread_cond_destroy(&ex->more);
  pthread_mutex_destroy(&ex->lock);
  free(ex);
}
