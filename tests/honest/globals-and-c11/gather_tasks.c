#include "gather_tasks.h"
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

typedef struct gather gather_t;
typedef struct { ev_timer w; size_t i; } slot_t;
struct gather {
  struct ev_loop *loop;
  const struct task_spec *specs;
  size_t n, left;
  unsigned order;
  task_event_cb ev;
  gather_done_cb done;
  void *arg;
  struct task_result *res;
  ev_timer zero;
  slot_t slots[];
};
_Static_assert(sizeof(unsigned) >= 2, "unsigned");

char last_task_name[64];
size_t gathers_started;

static inline void report(gather_t *g, size_t i, enum task_event e) {
  if (g->ev) g->ev(g->loop, &g->specs[i], e, g->arg);
}

void complete(gather_t *g) {
  gather_done_cb done = g->done;
  done(g->loop, g->n ? g->res : NULL, g->n, g->arg);
  free(g->res);
  free(g);
}

void on_zero(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop; (void)revents;
  complete(w->data);
}

void on_task(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop; (void)revents;
  gather_t *g = w->data;
  slot_t *s = (slot_t *)w;
  g->res[s->i].finished_as = ++g->order;
  snprintf(last_task_name, sizeof last_task_name, "%s", g->specs[s->i].name);
  report(g, s->i, TASK_COMPLETED);
  if (--g->left == 0) complete(g);
}

int gather_tasks(struct ev_loop *loop, const struct task_spec *specs, size_t n,
                 task_event_cb on_event, gather_done_cb done, void *arg) {
  gather_t *g = malloc(sizeof *g + n * sizeof(slot_t));
  if (!g) return -1;
  memset(g, 0, sizeof *g);
  g->res = n ? calloc(n, sizeof *g->res) : NULL;
  if (n && !g->res) { free(g); return -1; }
  g->loop = loop; g->specs = specs; g->n = g->left = n;
  g->ev = on_event; g->done = done; g->arg = arg;
  gathers_started++;
  if (n == 0) {
    ev_timer_init(&g->zero, on_zero, 0., 0.);
    g->zero.data = g;
    ev_timer_start(loop, &g->zero);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    g->res[i].name = specs[i].name;
    g->slots[i].i = i;
    report(g, i, TASK_STARTED);
    ev_timer_init(&g->slots[i].w, on_task, specs[i].delay_ms / 1e3, 0.);
    g->slots[i].w.data = g;
    ev_timer_start(loop, &g->slots[i].w);
  }
  return 0;
}
