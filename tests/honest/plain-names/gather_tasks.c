#include "gather_tasks.h"
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

struct gather;
struct task { ev_timer timer; struct gather *g; size_t index; };
struct gather {
  struct ev_loop *loop; const struct task_spec *specs; size_t n, finished;
  task_event_cb on_event; gather_done_cb done; void *arg;
  struct task_result *results; struct task *tasks;
};

int gathers_running;

void finish(struct gather *g) {
  g->done(g->loop, g->results, g->n, g->arg);
  free(g->results); free(g->tasks); free(g);
  gathers_running--;
}

void step(struct ev_loop *loop, ev_timer *w, int revents);

void start_task(struct gather *g, size_t i) {
  struct task *t = &g->tasks[i];
  t->g = g; t->index = i;
  g->results[i].name = g->specs[i].name;
  if (g->on_event) g->on_event(g->loop, &g->specs[i], TASK_STARTED, g->arg);
  ev_timer_init(&t->timer, step, g->specs[i].delay_ms / 1000.0, 0.);
  ev_timer_start(g->loop, &t->timer);
}

void step(struct ev_loop *loop, ev_timer *w, int revents) {
  struct task *t = (struct task *)w; struct gather *g = t->g; (void)revents;
  g->results[t->index].finished_as = (unsigned)++g->finished;
  if (g->on_event) g->on_event(loop, &g->specs[t->index], TASK_COMPLETED, g->arg);
  if (g->finished == g->n) finish(g);
}

void on_empty(int revents, void *arg) { (void)revents; finish(arg); }

int gather_tasks(struct ev_loop *loop, const struct task_spec *specs, size_t n,
                 task_event_cb on_event, gather_done_cb done, void *arg) {
  struct gather *g = calloc(1, sizeof *g);
  if (!g) return -1;
  if (n) {
    g->results = calloc(n, sizeof *g->results);
    g->tasks = calloc(n, sizeof *g->tasks);
    if (!g->results || !g->tasks) { free(g->results); free(g->tasks); free(g); return -1; }
  }
  *g = (struct gather){loop, specs, n, 0, on_event, done, arg, g->results, g->tasks};
  gathers_running++;
  if (!n) { ev_once(loop, -1, 0, 0., on_empty, g); return 0; }
  for (size_t i = 0; i < n; i++) start_task(g, i);
  return 0;
}
