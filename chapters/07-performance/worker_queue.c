/* worker_queue.c - the guide's "Limit Concurrency" listing: a queue of at
 * most 10 items, 3 workers that each take an item and work on it for a while
 * (0.5 s in the guide, 50 ms here), queue.join(), then the workers
 * cancelled. One thread, one loop: no lock anywhere.
 * Usage: worker_queue [ITEMS [MAXSIZE [WORKERS]]]   (10, 10 and 3)
 * expect: lag_ms < 50, elapsed_ms < 450, errors < 1, busy_max < 4, busy_max > 2
 */
#include "wb_lag.h"
#include "wb_trace.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_WORKERS 16

struct worker;

/* asyncio.Queue(maxsize): a ring of items, the workers waiting in get(),
 * the producer waiting in put(), and the count that join() waits for. */
struct queue {
  int *items;
  int cap, head, count;
  int unfinished;               /* put, and task_done not yet called */
  struct worker *getters[MAX_WORKERS]; /* FIFO of idle workers */
  int ngetters;
  void (*put_waiter)(void *arg); /* the producer, when the queue was full */
  void *put_arg;
  void (*join_waiter)(void *arg); /* who awaits queue.join() */
  void *join_arg;
};

struct app {
  struct ev_loop *loop;
  struct queue q;
  struct worker *workers;
  int nitems, nworkers, next_item, busy, busy_max, errors;
};

/* async def worker(name, queue): one item at a time, forever. */
struct worker {
  ev_timer work; /* the `await asyncio.sleep(0.5)` of the work */
  struct app *app;
  int index, item;
};

static void worker_get(struct worker *w);

/* `item = await queue.get()` returned: start the work on it. */
static void worker_process(struct worker *w, int item) {
  struct app *app = w->app;
  w->item = item;
  if (++app->busy > app->busy_max)
    app->busy_max = app->busy;
  printf("Worker %d: Processing Item %d\n", w->index, item);
  wb_trace_mark("Worker %d: Item %d", w->index, item);
  /* A one-shot timer that has fired must be set again: libev keeps the
   * time left in it, which is now nothing. */
  ev_timer_set(&w->work, 0.05, 0.);
  ev_timer_start(app->loop, &w->work);
}

/* queue.task_done(): one item less to wait for; the last wakes join(). */
static void queue_task_done(struct queue *q) {
  if (--q->unfinished == 0 && q->join_waiter)
    q->join_waiter(q->join_arg);
}

/* The work is over: the next item, and `finally: queue.task_done()`. */
static void work_done_cb(struct ev_loop *loop, ev_timer *t, int revents) {
  struct worker *w = (struct worker *)t;
  (void)loop, (void)revents;
  printf("Worker %d: Completed Item %d\n", w->index, w->item);
  w->app->busy--;
  worker_get(w); /* back in line first, so join finds this worker idle */
  queue_task_done(&w->app->q);
}

/* `await queue.get()`: an item now, or wait in line for one. Taking an
 * item frees a place, which wakes a producer that waits in put(). */
static void worker_get(struct worker *w) {
  struct queue *q = &w->app->q;
  if (q->count == 0) {
    q->getters[q->ngetters++] = w;
    return;
  }
  int item = q->items[q->head];
  q->head = (q->head + 1) % q->cap;
  q->count--;
  worker_process(w, item);
  if (q->put_waiter) {
    void (*cb)(void *) = q->put_waiter;
    q->put_waiter = NULL;
    cb(q->put_arg);
  }
}

/* `await queue.put(item)`: hand it to an idle worker, or keep it. Returns
 * 0 when the queue was full: then `resume` runs once there is room. */
static int queue_put(struct app *app, int item, void (*resume)(void *)) {
  struct queue *q = &app->q;
  if (q->count == q->cap) {
    q->put_waiter = resume; /* backpressure: the producer waits */
    q->put_arg = app;
    return 0;
  }
  q->unfinished++;
  if (q->ngetters > 0) {
    struct worker *w = q->getters[0];
    for (int i = 1; i < q->ngetters; i++)
      q->getters[i - 1] = q->getters[i];
    q->ngetters--;
    worker_process(w, item);
  } else {
    q->items[(q->head + q->count++) % q->cap] = item;
  }
  return 1;
}

/* After `await queue.join()`: cancel the workers. Each one is idle,
 * waiting in get(), so cancelling it only takes it off the line. */
static void main_after_join(void *arg) {
  struct app *app = arg;
  printf("All items processed; cancelling %d workers\n", app->q.ngetters);
  wb_trace_mark("main: cancel workers");
  app->errors += app->nworkers - app->q.ngetters; /* none should be busy */
  app->q.ngetters = 0;
}

/* The producer: `for i in range(n): await queue.put(f"Item {i}")`, then
 * `await queue.join()`. It resumes here whenever put had to wait. */
static void produce(void *arg) {
  struct app *app = arg;
  while (app->next_item < app->nitems)
    if (!queue_put(app, app->next_item, produce))
      return; /* full: resumed by worker_get when a place frees up */
    else
      app->next_item++;
  app->q.join_waiter = main_after_join;
  app->q.join_arg = app;
  if (app->q.unfinished == 0)
    main_after_join(app);
}

static void async_main(int revents, void *arg) {
  struct app *app = arg;
  (void)revents;
  for (int i = 0; i < app->nworkers; i++) {
    struct worker *w = &app->workers[i];
    *w = (struct worker){.app = app, .index = i};
    ev_init(&w->work, work_done_cb);
    worker_get(w); /* the queue is empty: each worker waits in line */
  }
  produce(app);
}

int main(int argc, char **argv) {
  struct app app = {.nitems = argc > 1 ? atoi(argv[1]) : 10,
                    .nworkers = argc > 3 ? atoi(argv[3]) : 3};
  int maxsize = argc > 2 ? atoi(argv[2]) : 10;
  wb_lag_t lag;
  if (app.nitems < 0 || maxsize < 1 || app.nworkers < 1 ||
      app.nworkers > MAX_WORKERS) {
    fprintf(stderr, "usage: worker_queue [ITEMS [MAXSIZE [WORKERS (1-16)]]]\n");
    return 2;
  }
  app.q = (struct queue){.items = calloc((size_t)maxsize, sizeof(int)),
                         .cap = maxsize};
  app.workers = calloc((size_t)app.nworkers, sizeof *app.workers);
  if (!app.q.items || !app.workers) {
    fprintf(stderr, "worker_queue: out of memory\n");
    return 1;
  }
  double t0 = wb_now_ms();
  app.loop = ev_loop_new(EVFLAG_AUTO);
  wb_lag_start(app.loop, &lag);
  ev_once(app.loop, -1, 0, 0., async_main, &app);
  ev_run(app.loop, 0);
  wb_lag_stop(app.loop, &lag);
  ev_loop_destroy(app.loop);
  double elapsed = wb_now_ms() - t0;
  if (app.q.unfinished != 0)
    app.errors++;
  free(app.q.items);
  free(app.workers);
  printf("measured: lag_ms=%.0f elapsed_ms=%.0f open_fds=%d errors=%d "
         "busy_max=%d\n",
         wb_lag_longest_ms(&lag), elapsed, wb_open_fds(), app.errors,
         app.busy_max);
  return 0;
}
