/* deadline_call.c - exercise 06.3, the reference solution: a call with a
 * time limit and a cancel. The first ending decides and calls done once;
 * the memory lives on until the operation, which always answers, has.
 */
#include "deadline_call.h"

#include <stdio.h>
#include <stdlib.h>

struct deadline {
  ev_timer limit; /* the time limit */
  ev_timer later; /* 0 ms: done after a cancel, from the loop */
  struct ev_loop *loop;
  deadline_cb done;
  void *arg;
  struct op *op;       /* until it answers or is aborted, else NULL */
  int op_answered;     /* the operation has called back (it always does) */
  int decided;         /* the first ending has arrived: nothing else counts */
  int done_ran;        /* done has returned */
  long value;
  struct op_error err; /* OP_OK when the operation's value won */
};

/* Frees the call once nothing can reach it any more: done has run, and
 * the operation, which always answers, has answered. */
static void deadline_release(struct deadline *d) {
  if (!d->done_ran || !d->op_answered)
    return;
  ev_timer_stop(d->loop, &d->limit);
  ev_timer_stop(d->loop, &d->later);
  free(d);
}

static void deadline_run_done(struct deadline *d) {
  ev_timer_stop(d->loop, &d->limit);
  ev_timer_stop(d->loop, &d->later);
  d->done(d->loop, d->value, d->err.code != OP_OK ? &d->err : NULL, d->arg);
  d->done_ran = 1;
  deadline_release(d);
}

/* The first ending that is not the operation's own answer: record it,
 * stop the limit, and ask the operation to stop (once). */
static void deadline_decide(struct deadline *d, enum op_code code,
                            const char *why) {
  d->decided = 1;
  d->err.code = code;
  d->err.sys_errno = 0;
  snprintf(d->err.message, sizeof d->err.message, "%s", why);
  ev_timer_stop(d->loop, &d->limit);
  if (d->op) {
    op_abort(d->loop, d->op);
    d->op = NULL; /* aborted: it will still answer, but is not ours now */
  }
}

static void op_answered(struct ev_loop *loop, long value,
                        const struct op_error *err, void *arg) {
  struct deadline *d = arg;
  (void)loop;
  d->op = NULL;
  d->op_answered = 1;
  if (!d->decided) {
    d->decided = 1;
    d->value = err ? 0 : value;
    if (err)
      d->err = *err; /* a copy: *err is freed when we return */
    deadline_run_done(d);
    return;
  }
  /* A late answer (after the limit or a cancel): ignored, but only now
   * may the memory go, if done has already run. */
  deadline_release(d);
}

static void limit_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct deadline *d = w->data;
  (void)loop, (void)revents;
  deadline_decide(d, OP_ETIMEDOUT, "the time limit passed");
  deadline_run_done(d);
}

static void later_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  deadline_run_done(w->data);
}

struct deadline *deadline_call(struct ev_loop *loop, unsigned timeout_ms,
                               deadline_cb done, void *arg) {
  struct deadline *d = calloc(1, sizeof *d);
  if (!d)
    return NULL;
  d->loop = loop, d->done = done, d->arg = arg;
  ev_timer_init(&d->limit, limit_cb, timeout_ms / 1000., 0.);
  d->limit.data = d;
  ev_timer_init(&d->later, later_cb, 0., 0.);
  d->later.data = d;
  if (timeout_ms > 0)
    ev_timer_start(loop, &d->limit);
  d->op = op_begin(loop, op_answered, d);
  return d;
}

void deadline_cancel(struct deadline *d) {
  if (d->decided)
    return; /* again, or from inside done: nothing to do */
  deadline_decide(d, OP_ECANCELED, "cancelled by the caller");
  ev_timer_start(d->loop, &d->later); /* done never runs in here */
}
