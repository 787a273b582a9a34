/* report_jobs.c - exercise 09.1, the reference solution: the report is
 * handed over in the callback of the last job to end (the code after the
 * await), and the timer of an empty report is started, not only
 * initialised.
 */
#include "report_jobs.h"

#include <stdio.h>
#include <stdlib.h>

/* The longest line: "job " + 20 digits + ": " + 10 digits + " ms\n". */
#define REPORT_LINE 48

struct report;

/* One job. The timer comes first: libev's ev_timer pointer is the job. */
struct job {
  ev_timer timer;
  size_t index;
  unsigned ms;
  struct report *report;
};

/* The state of one call, kept across the wait: the C form of a suspended
 * coroutine. */
struct report {
  report_cb cb;
  void *arg;
  size_t pending; /* jobs still running */
  ev_timer empty; /* n == 0: calls back from the loop all the same */
  char *text;     /* the lines so far, in the order the jobs ended */
  size_t len;
  struct job jobs[];
};

static void report_free(struct report *r) {
  free(r->text);
  free(r);
}

static void job_done(struct ev_loop *loop, ev_timer *w, int revents) {
  struct job *j = (struct job *)w;
  struct report *r = j->report;
  (void)loop, (void)revents;
  r->len += (size_t)snprintf(r->text + r->len, REPORT_LINE, "job %zu: %u ms\n",
                             j->index, j->ms);
  /* The last job to end is where the report is complete: here, and only
   * here, it can be handed over. */
  if (--r->pending == 0) {
    r->cb(loop, r->text, r->arg);
    report_free(r);
  }
}

static void empty_done(struct ev_loop *loop, ev_timer *w, int revents) {
  struct report *r = w->data;
  (void)revents;
  r->cb(loop, r->text, r->arg);
  report_free(r);
}

int report_jobs(struct ev_loop *loop, const unsigned *delays_ms, size_t n,
                report_cb cb, void *arg) {
  struct report *r = malloc(sizeof *r + n * sizeof r->jobs[0]);
  if (!r)
    return -1;
  r->text = malloc(n * REPORT_LINE + 1);
  if (!r->text) {
    free(r);
    return -1;
  }
  r->text[0] = 0;
  r->len = 0;
  r->cb = cb;
  r->arg = arg;
  r->pending = n;
  if (n == 0) {
    /* No job to wait for, but the callback must still come from the loop:
     * a timer of 0 s, started, fires on the loop's next iteration. */
    ev_timer_init(&r->empty, empty_done, 0., 0.);
    r->empty.data = r;
    ev_timer_start(loop, &r->empty);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    struct job *j = &r->jobs[i];
    j->index = i;
    j->ms = delays_ms[i];
    j->report = r;
    ev_timer_init(&j->timer, job_done, delays_ms[i] / 1000.0, 0.);
    ev_timer_start(loop, &j->timer);
  }
  /* Nothing more here: the report does not exist yet. */
  return 0;
}
