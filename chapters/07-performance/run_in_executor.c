/* run_in_executor.c - `await loop.run_in_executor(None, time.sleep, 2.0)`
 * in C: blocking calls go to a small pool of threads, and each result comes
 * back to the loop's thread through an ev_async. Three blocking sleeps of
 * 200 ms run side by side while a heartbeat keeps ticking on the loop.
 * expect: lag_ms < 50, elapsed_ms < 480, errors < 1, ticks > 4
 */
#define _DEFAULT_SOURCE
#include "wb_lag.h"
#include "wb_trace.h"

#include <ev.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- The executor: a pool of threads and one ev_async ---------------------- */

/* One call to run: work(arg) on a worker thread, then done(loop, arg) on
 * the loop's thread. */
struct job {
  void (*work)(void *arg);
  void (*done)(struct ev_loop *loop, void *arg);
  void *arg;
  struct job *next;
};

struct pool {
  struct ev_loop *loop; /* touched by the loop's thread only */
  ev_async wake;        /* a worker's one way into the loop: ev_async_send */
  int pending;          /* jobs submitted, done not yet called (loop only) */
  pthread_mutex_t lock; /* guards everything below */
  pthread_cond_t more;  /* signalled when todo grows or stopping is set */
  struct job *todo, **todo_end;  /* FIFO: submitted, not yet taken */
  struct job *ready, **ready_end; /* FIFO: worked, done not yet called */
  int stopping;
  int nthreads;
  pthread_t threads[8];
};

static void *worker_main(void *arg) {
  struct pool *p = arg;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (!p->todo && !p->stopping)
      pthread_cond_wait(&p->more, &p->lock);
    if (!p->todo)
      break; /* stopping, and nothing left to do */
    struct job *j = p->todo;
    if (!(p->todo = j->next))
      p->todo_end = &p->todo;
    pthread_mutex_unlock(&p->lock);
    j->work(j->arg); /* may block: it blocks this thread, not the loop */
    pthread_mutex_lock(&p->lock);
    j->next = NULL;
    *p->ready_end = j;
    p->ready_end = &j->next;
    /* The one libev call that is safe from another thread. Several sends
     * before the loop wakes make one callback: it takes the whole list. */
    ev_async_send(p->loop, &p->wake);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

/* On the loop's thread: call done for every job that is ready. */
static void wake_cb(struct ev_loop *loop, ev_async *w, int revents) {
  struct pool *p = w->data;
  (void)revents;
  pthread_mutex_lock(&p->lock);
  struct job *j = p->ready;
  p->ready = NULL;
  p->ready_end = &p->ready;
  pthread_mutex_unlock(&p->lock);
  while (j) {
    struct job *next = j->next;
    j->done(loop, j->arg);
    free(j);
    /* The ev_async keeps the loop running only while jobs are out. */
    if (--p->pending == 0)
      ev_async_stop(loop, &p->wake);
    j = next;
  }
}

static int pool_init(struct pool *p, struct ev_loop *loop, int nthreads) {
  *p = (struct pool){.loop = loop, .nthreads = 0};
  p->todo_end = &p->todo;
  p->ready_end = &p->ready;
  ev_async_init(&p->wake, wake_cb);
  p->wake.data = p;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->more, NULL);
  for (; p->nthreads < nthreads && p->nthreads < 8; p->nthreads++)
    if (pthread_create(&p->threads[p->nthreads], NULL, worker_main, p) != 0)
      return -1;
  return 0;
}

/* loop.run_in_executor(pool, work, arg): returns at once; done comes later,
 * from the loop. */
static int pool_submit(struct pool *p, void (*work)(void *),
                       void (*done)(struct ev_loop *, void *), void *arg) {
  struct job *j = malloc(sizeof *j);
  if (!j)
    return -1;
  *j = (struct job){work, done, arg, NULL};
  if (p->pending++ == 0)
    ev_async_start(p->loop, &p->wake);
  pthread_mutex_lock(&p->lock);
  *p->todo_end = j;
  p->todo_end = &j->next;
  pthread_cond_signal(&p->more);
  pthread_mutex_unlock(&p->lock);
  return 0;
}

/* Lets the workers finish what was submitted, then joins them. */
static void pool_destroy(struct pool *p) {
  pthread_mutex_lock(&p->lock);
  p->stopping = 1;
  pthread_cond_broadcast(&p->more);
  pthread_mutex_unlock(&p->lock);
  for (int i = 0; i < p->nthreads; i++)
    pthread_join(p->threads[i], NULL);
  pthread_cond_destroy(&p->more);
  pthread_mutex_destroy(&p->lock);
}

/* ---- The program: the guide's run_blocking_in_executor, three times --------- */

struct app {
  struct ev_loop *loop;
  struct pool pool;
  ev_timer heartbeat;
  int ticks, left;
};

struct call {
  struct app *app;
  int index;
};

/* Runs on a worker thread: time.sleep(0.2). It may not touch the loop. */
static void blocking_sleep(void *arg) {
  (void)arg;
  usleep(200 * 1000);
}

/* Runs on the loop's thread: what follows the await. */
static void sleep_done(struct ev_loop *loop, void *arg) {
  struct call *c = arg;
  printf("call %d: Done\n", c->index);
  wb_trace_mark("call %d: Done", c->index);
  if (--c->app->left == 0)
    ev_timer_stop(loop, &c->app->heartbeat);
}

static void heartbeat_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct app *app = w->data;
  (void)loop, (void)revents;
  app->ticks++;
}

static void async_main(int revents, void *arg) {
  struct app *app = arg;
  static struct call calls[3];
  (void)revents;
  ev_timer_init(&app->heartbeat, heartbeat_cb, 0.02, 0.02);
  app->heartbeat.data = app;
  ev_timer_start(app->loop, &app->heartbeat);
  for (int i = 0; i < 3; i++) {
    calls[i] = (struct call){app, i + 1};
    wb_trace_mark("call %d: submitted", i + 1);
    if (pool_submit(&app->pool, blocking_sleep, sleep_done, &calls[i]) == 0)
      app->left++;
  }
}

int main(void) {
  struct app app = {0};
  wb_lag_t lag;
  double t0 = wb_now_ms();
  app.loop = ev_loop_new(EVFLAG_AUTO);
  if (pool_init(&app.pool, app.loop, 3) < 0)
    fprintf(stderr, "run_in_executor: could not start every thread\n");
  wb_lag_start(app.loop, &lag);
  ev_once(app.loop, -1, 0, 0., async_main, &app);
  ev_run(app.loop, 0);
  wb_lag_stop(app.loop, &lag);
  pool_destroy(&app.pool);
  ev_loop_destroy(app.loop);
  double elapsed = wb_now_ms() - t0;
  printf("measured: lag_ms=%.0f elapsed_ms=%.0f open_fds=%d errors=%d "
         "ticks=%d\n",
         wb_lag_longest_ms(&lag), elapsed, wb_open_fds(), app.left, app.ticks);
  return 0;
}
