/* An honest alternative: ev_once per task, clock_gettime(CLOCK_MONOTONIC)
 * read directly as the clock (not ev_time(), which is the wall clock and
 * may jump), the report filled in by a plain helper, separate allocations. */
#include "measure_case.h"

#include <stdlib.h>
#include <time.h>

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct run;
struct ticket {
  struct run *run;
  unsigned index;
};
struct run {
  struct ev_loop *loop;
  compute_fn compute;
  case_done_cb done;
  void *arg;
  double t0;
  unsigned n, left, waiting;
  struct case_report rep;
  struct ticket *tickets;
};

static void report(struct run *r) {
  struct case_report rep = {0};
  if (r->n) {
    rep = r->rep;
    rep.tasks = r->n;
    rep.elapsed_ms = (mono() - r->t0) * 1000.0;
    rep.serial_ms = rep.wait_ms + rep.compute_ms;
    rep.speedup = rep.serial_ms / rep.elapsed_ms;
    rep.pays = rep.speedup >= 2.0 ? 1 : 0;
  }
  r->done(r->loop, &rep, r->arg);
  free(r->tickets);
  free(r);
}

static void one(int revents, void *arg) {
  struct ticket *t = arg;
  struct run *r = t->run;
  (void)revents;
  r->waiting--;
  if (r->compute) {
    double a = mono();
    r->compute(t->index);
    double ms = (mono() - a) * 1000.0;
    r->rep.compute_ms += ms;
    r->rep.longest_compute_ms =
        ms > r->rep.longest_compute_ms ? ms : r->rep.longest_compute_ms;
  }
  if (--r->left == 0)
    report(r);
}

static void none(int revents, void *arg) {
  (void)revents;
  report(arg);
}

int measure_case(struct ev_loop *loop, const struct case_spec *spec,
                 case_done_cb done, void *arg) {
  double t0 = mono();
  struct run *r = calloc(1, sizeof *r);
  if (!r)
    return -1;
  r->tickets = spec->n ? calloc(spec->n, sizeof *r->tickets) : NULL;
  if (spec->n && !r->tickets) {
    free(r);
    return -1;
  }
  r->loop = loop, r->compute = spec->compute, r->done = done, r->arg = arg;
  r->t0 = t0, r->n = r->left = spec->n;
  r->rep.wait_ms = (double)spec->n * spec->wait_ms;
  if (!spec->n) {
    ev_once(loop, -1, 0, 0., none, r);
    return 0;
  }
  for (unsigned i = 0; i < spec->n; i++) {
    r->tickets[i] = (struct ticket){r, i};
    ev_once(loop, -1, 0, spec->wait_ms / 1e3, one, &r->tickets[i]);
    if (++r->waiting > r->rep.most_waiting)
      r->rep.most_waiting = r->waiting;
  }
  return 0;
}
