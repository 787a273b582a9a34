/* wait_tasks.c - exercise 03.2, the reference solution: asyncio.wait with
 * a timeout and a return-when mode. The wait returns once, from the loop;
 * the tasks still pending go on until they end or are cancelled.
 */
#include "wait_tasks.h"

#include <stdlib.h>

struct wt_task {
  ev_timer timer; /* first: the ev_timer pointer is the task pointer */
  struct wt_wait *w;
  size_t index;
  enum wt_status status;
};

struct wt_wait {
  struct ev_loop *loop;
  const struct wt_spec *specs;
  size_t n;
  enum wt_return_when mode;
  wt_cb cb;
  void *arg;
  ev_timer timeout; /* the timeout; for n == 0, a 0 s "return now" */
  size_t *order;    /* the done set, in the order the tasks ended */
  size_t ndone;
  int returned;     /* the callback has been called (or is running) */
  int in_cb, freed; /* wt_free from inside the callback waits for it */
  struct wt_task tasks[];
};

static void really_free(wt_wait_t *w) {
  for (size_t i = 0; i < w->n; i++)
    ev_timer_stop(w->loop, &w->tasks[i].timer);
  ev_timer_stop(w->loop, &w->timeout);
  free(w->order);
  free(w);
}

/* The wait returns: once only, whichever of a task or the timeout gets
 * here first. The callback may free the wait: nothing touches it after. */
static void wait_return(wt_wait_t *w, int timed_out) {
  w->returned = 1;
  ev_timer_stop(w->loop, &w->timeout);
  w->in_cb = 1;
  w->cb(w->loop, w, timed_out, w->arg);
  w->in_cb = 0;
  if (w->freed)
    really_free(w);
}

static void task_cb(struct ev_loop *loop, ev_timer *t, int revents) {
  struct wt_task *task = (struct wt_task *)t;
  wt_wait_t *w = task->w;
  (void)loop, (void)revents;
  int failed = w->specs[task->index].result < 0;
  task->status = failed ? WT_FAILED : WT_DONE;
  w->order[w->ndone++] = task->index;
  if (w->returned)
    return; /* a task still pending after the wait: it just ends */
  if (w->mode == WT_FIRST_COMPLETED ||
      (w->mode == WT_FIRST_EXCEPTION && failed) || w->ndone == w->n)
    wait_return(w, 0);
}

static void timeout_cb(struct ev_loop *loop, ev_timer *t, int revents) {
  wt_wait_t *w = t->data;
  (void)loop, (void)revents;
  wait_return(w, w->n > 0); /* n == 0: nothing to wait for, not a timeout */
}

int wt_wait_start(struct ev_loop *loop, const struct wt_spec *specs, size_t n,
                  long timeout_ms, enum wt_return_when mode, wt_cb cb,
                  void *arg, wt_wait_t **out) {
  wt_wait_t *w = calloc(1, sizeof *w + n * sizeof w->tasks[0]);
  if (!w)
    return -1;
  if (n && !(w->order = malloc(n * sizeof *w->order))) {
    free(w);
    return -1;
  }
  w->loop = loop;
  w->specs = specs;
  w->n = n;
  w->mode = mode;
  w->cb = cb;
  w->arg = arg;
  /* Every task starts now, side by side. */
  for (size_t i = 0; i < n; i++) {
    struct wt_task *task = &w->tasks[i];
    task->w = w;
    task->index = i;
    task->status = WT_PENDING;
    ev_timer_init(&task->timer, task_cb, specs[i].delay_ms / 1000., 0.);
    ev_timer_start(loop, &task->timer);
  }
  ev_timer_init(&w->timeout, timeout_cb, 0., 0.);
  w->timeout.data = w;
  if (n == 0 || timeout_ms >= 0) {
    ev_timer_set(&w->timeout, n == 0 ? 0. : timeout_ms / 1000., 0.);
    ev_timer_start(loop, &w->timeout);
  }
  *out = w;
  return 0;
}

enum wt_status wt_status(const wt_wait_t *w, size_t i) {
  return w->tasks[i].status;
}

size_t wt_done(const wt_wait_t *w, size_t *idx) {
  for (size_t k = 0; k < w->ndone; k++)
    idx[k] = w->order[k];
  return w->ndone;
}

size_t wt_pending(const wt_wait_t *w, size_t *idx) {
  size_t k = 0;
  for (size_t i = 0; i < w->n; i++)
    if (w->tasks[i].status == WT_PENDING)
      idx[k++] = i;
  return k;
}

size_t wt_cancel_pending(wt_wait_t *w) {
  size_t k = 0;
  for (size_t i = 0; i < w->n; i++) {
    struct wt_task *task = &w->tasks[i];
    if (task->status == WT_PENDING) {
      ev_timer_stop(w->loop, &task->timer); /* task.cancel() */
      task->status = WT_CANCELLED;
      k++;
    }
  }
  return k;
}

void wt_free(wt_wait_t *w) {
  if (w->in_cb) {
    /* Inside the callback: wait_return frees it once that returns. */
    for (size_t i = 0; i < w->n; i++)
      ev_timer_stop(w->loop, &w->tasks[i].timer);
    w->freed = 1;
    return;
  }
  really_free(w);
}
