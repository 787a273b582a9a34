/* with_resource.c - exercise 06.2, the reference solution: acquire, work
 * and release, each asynchronous, with a time limit and cancellation.
 * Every ending goes through scope_end, which lets only the first one in;
 * release runs exactly once when the resource is held, and done last.
 */
#include "with_resource.h"

#include <stdio.h>
#include <stdlib.h>

enum step { STEP_ACQUIRE, STEP_WORK, STEP_RELEASE, STEP_ENDING };

struct scope {
  ev_timer limit; /* the time limit over acquire and work */
  ev_timer later; /* 0 ms: ends a scope that holds nothing, from the loop */
  struct ev_loop *loop;
  scope_done_cb done;
  void *arg;
  enum step step;
  struct res_op *op;   /* the acquire or work in progress, else NULL */
  int fd;              /* the resource, -1 while not held */
  long result;         /* the work's result */
  struct op_error err; /* OP_OK until the first ending arrives */
};

/* The very end: nothing of the scope is running, so done may run, and
 * then the scope goes. */
static void scope_finish(struct scope *s) {
  ev_timer_stop(s->loop, &s->limit);
  ev_timer_stop(s->loop, &s->later);
  s->done(s->loop, s->result, s->err.code != OP_OK ? &s->err : NULL,
          s->arg);
  free(s);
}

static void released(struct ev_loop *loop, long value,
                     const struct op_error *err, void *arg) {
  struct scope *s = arg;
  (void)loop, (void)value, (void)err; /* release cannot fail */
  s->fd = -1;
  scope_finish(s);
}

/* `finally`: the resource is released once, and the limit no longer
 * applies; the release cannot be cancelled. */
static void scope_release(struct scope *s) {
  ev_timer_stop(s->loop, &s->limit);
  s->step = STEP_RELEASE;
  res_release(s->loop, s->fd, released, s);
}

static void later_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  scope_finish(w->data);
}

/* Every ending but success comes here: an error from an operation, the
 * time limit, a cancel. Only the first one counts; it stops whatever is
 * in progress, then releases if something is held. */
static void scope_end(struct scope *s, const struct op_error *why) {
  if (s->err.code != OP_OK || s->step >= STEP_RELEASE)
    return;
  s->err = *why;
  ev_timer_stop(s->loop, &s->limit);
  if (s->op) {
    res_cancel(s->loop, s->op);
    s->op = NULL;
  }
  if (s->fd >= 0) {
    scope_release(s);
  } else {
    /* Nothing to release: end on the next iteration, so that done never
     * runs inside scope_cancel. */
    s->step = STEP_ENDING;
    ev_timer_start(s->loop, &s->later);
  }
}

static void worked(struct ev_loop *loop, long value,
                   const struct op_error *err, void *arg) {
  struct scope *s = arg;
  (void)loop;
  s->op = NULL; /* it answered: never cancel it now */
  if (err) {
    scope_end(s, err); /* copies *err: it is freed when we return */
    return;
  }
  s->result = value;
  scope_release(s);
}

static void acquired(struct ev_loop *loop, long value,
                     const struct op_error *err, void *arg) {
  struct scope *s = arg;
  s->op = NULL;
  if (err) {
    scope_end(s, err);
    return;
  }
  s->fd = (int)value;
  s->step = STEP_WORK;
  s->op = res_work(loop, s->fd, worked, s);
}

static void limit_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct op_error e = {.code = OP_ETIMEDOUT};
  (void)loop, (void)revents;
  snprintf(e.message, sizeof e.message, "the time limit passed");
  scope_end(w->data, &e);
}

struct scope *with_resource(struct ev_loop *loop, unsigned timeout_ms,
                            scope_done_cb done, void *arg) {
  struct scope *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->loop = loop, s->done = done, s->arg = arg;
  s->fd = -1;
  s->step = STEP_ACQUIRE;
  ev_timer_init(&s->limit, limit_cb, timeout_ms / 1000., 0.);
  s->limit.data = s;
  ev_timer_init(&s->later, later_cb, 0., 0.);
  s->later.data = s;
  if (timeout_ms > 0)
    ev_timer_start(loop, &s->limit);
  s->op = res_acquire(loop, acquired, s);
  return s;
}

void scope_cancel(struct scope *s) {
  struct op_error e = {.code = OP_ECANCELED};
  snprintf(e.message, sizeof e.message, "cancelled by the caller");
  scope_end(s, &e);
}
