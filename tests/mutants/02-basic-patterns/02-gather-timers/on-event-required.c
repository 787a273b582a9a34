/* mutant: calls on_event without checking it (on_event may be NULL) */
/* gather_tasks.c - a mutant of the reference solution of exercise 02.2.
 * asyncio.gather runs its awaitables side by side and waits for the last;
 * on libev that is one ev_timer per task and a counter of those still
 * sleeping. The last timer to fire calls done.
 */
#include "gather_tasks.h"

#include <stdlib.h>

struct gather;

/* One sleeping task. The timer comes first, so the ev_timer pointer libev
 * hands to the callback is also a pointer to the task. */
struct task {
  ev_timer timer;
  struct gather *g;
  size_t index; /* in specs and in results */
};

/* The whole gather: what the callbacks need once gather_tasks has
 * returned, so it lives on the heap, not on gather_tasks' stack. */
struct gather {
  struct ev_loop *loop;
  const struct task_spec *specs;
  size_t n;
  size_t finished; /* tasks completed so far */
  task_event_cb on_event;
  gather_done_cb done;
  void *arg;
  struct task_result *results;
  struct task tasks[]; /* n of them, in the same allocation */
};

static void gather_finish(struct gather *g) {
  /* Every timer has fired (one-shot timers stop themselves), so nothing in
   * the loop points into g any more: it can go once done has returned. */
  g->done(g->loop, g->results, g->n, g->arg);
  free(g->results);
  free(g);
}

static void task_wake_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct task *t = (struct task *)w;
  struct gather *g = t->g;
  (void)revents;
  /* The result goes to the task's own slot, not to the next free one:
   * that is what keeps results in the order of the specs. */
  g->results[t->index].finished_as = (unsigned)++g->finished;
  g->on_event(loop, &g->specs[t->index], TASK_COMPLETED, g->arg);
  if (g->finished == g->n)
    gather_finish(g);
}

/* With no task there is no timer to finish the gather; ev_once runs the
 * callback on the next iteration, so done is still never called from
 * inside gather_tasks (callers can rely on "later, from the loop"). */
static void gather_empty_cb(int revents, void *arg) {
  (void)revents;
  gather_finish(arg);
}

int gather_tasks(struct ev_loop *loop, const struct task_spec *specs,
                 size_t n, task_event_cb on_event, gather_done_cb done,
                 void *arg) {
  struct gather *g = calloc(1, sizeof *g + n * sizeof g->tasks[0]);
  if (!g)
    return -1;
  if (n > 0) {
    g->results = calloc(n, sizeof *g->results);
    if (!g->results) {
      free(g);
      return -1;
    }
  }
  g->loop = loop;
  g->specs = specs;
  g->n = n;
  g->on_event = on_event;
  g->done = done;
  g->arg = arg;
  if (n == 0) {
    ev_once(loop, -1, 0, 0., gather_empty_cb, g);
    return 0;
  }
  /* Start them all before any can finish: that is the whole difference
   * between gather and awaiting the tasks one after another. */
  for (size_t i = 0; i < n; i++) {
    struct task *t = &g->tasks[i];
    t->g = g;
    t->index = i;
    g->results[i].name = specs[i].name;
    on_event(loop, &specs[i], TASK_STARTED, arg);
    ev_timer_init(&t->timer, task_wake_cb, specs[i].delay_ms / 1000., 0.);
    ev_timer_start(loop, &t->timer);
  }
  return 0;
}
