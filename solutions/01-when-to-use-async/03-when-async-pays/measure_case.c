/* measure_case.c - reference solution of exercise 01.3: run n tasks that
 * wait, then compute, all started at once; time each part and the whole,
 * and decide from the numbers whether async paid.
 */
#include "measure_case.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct measure;

/* One task: its wait, then its compute call. */
struct task {
  ev_timer timer;
  unsigned index;
  struct measure *m;
};

struct measure {
  struct ev_loop *loop;
  compute_fn compute;
  case_done_cb done;
  void *arg;
  double started_ms;
  unsigned left;    /* tasks not yet completed */
  unsigned waiting; /* tasks whose wait is under way right now */
  struct case_report report;
  ev_timer empty; /* n == 0: done still comes from the loop */
  struct task tasks[];
};

/* A monotonic clock in milliseconds: what the report is measured with. */
static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Every task is over (or there were none): finish the report from what
 * was measured, hand it over, free. No timer is active any more. */
static void measure_end(struct measure *m) {
  struct case_report *r = &m->report;
  r->elapsed_ms = now_ms() - m->started_ms;
  r->serial_ms = r->wait_ms + r->compute_ms;
  /* With no task there is nothing to compare: everything stays 0. */
  r->speedup = r->tasks && r->elapsed_ms > 0 ? r->serial_ms / r->elapsed_ms : 0;
  r->pays = r->speedup >= 2.0;
  if (!r->tasks)
    memset(r, 0, sizeof *r);
  m->done(m->loop, r, m->arg);
  free(m);
}

static void empty_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  measure_end((struct measure *)((char *)w - offsetof(struct measure, empty)));
}

/* The task's wait is over: compute, timed; the last task ends the case. */
static void task_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct task *t = (struct task *)w;
  struct measure *m = t->m;
  (void)loop, (void)revents;
  m->waiting--;
  if (m->compute) {
    double t0 = now_ms();
    m->compute(t->index);
    double took = now_ms() - t0;
    m->report.compute_ms += took;
    if (took > m->report.longest_compute_ms)
      m->report.longest_compute_ms = took;
  }
  m->report.tasks++;
  if (--m->left == 0)
    measure_end(m);
}

int measure_case(struct ev_loop *loop, const struct case_spec *spec,
                 case_done_cb done, void *arg) {
  double started = now_ms(); /* the clock starts with the call */
  struct measure *m = calloc(1, sizeof *m + spec->n * sizeof m->tasks[0]);
  if (!m)
    return -1;
  m->loop = loop;
  m->compute = spec->compute;
  m->done = done;
  m->arg = arg;
  m->started_ms = started;
  m->left = spec->n;
  m->report.wait_ms = (double)spec->n * spec->wait_ms;
  for (unsigned i = 0; i < spec->n; i++) { /* every wait starts now */
    struct task *t = &m->tasks[i];
    t->index = i;
    t->m = m;
    ev_timer_init(&t->timer, task_cb, spec->wait_ms / 1000., 0.);
    ev_timer_start(loop, &t->timer);
    if (++m->waiting > m->report.most_waiting)
      m->report.most_waiting = m->waiting;
  }
  if (spec->n == 0) {
    ev_timer_init(&m->empty, empty_cb, 0., 0.);
    ev_timer_start(loop, &m->empty);
  }
  return 0;
}
