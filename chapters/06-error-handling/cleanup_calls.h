/* cleanup_calls.h - what with_cleanup.c and pitfall_skipped_cleanup.c
 * share: the state of one call of the guide's with_cleanup, its
 * `finally`, acquire_resource and release_resource (each a 100 ms wait),
 * and running N calls on a loop. The two programs differ only in the end
 * of do_work (work_resume), which each defines after including this file,
 * and in what main checks.
 */
#ifndef CLEANUP_CALLS_H
#define CLEANUP_CALLS_H

#include "op_error.h"
#include "wb_lag.h"
#include "wb_trace.h"

#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum fail_at { FAIL_NONE, FAIL_ACQUIRE, FAIL_WORK };

/* One call of with_cleanup: the state a coroutine keeps across its three
 * awaits. One timer serves every step, one step at a time. */
struct call {
  ev_timer timer;  /* the wait of the step in progress */
  char name[16];
  enum fail_at fail_at;
  int fd[2];           /* the resource; -1 when not held */
  struct op_error err; /* the first error, reported at the end */
  int released;        /* how many times release ran (must be 0 or 1) */
  int *pending;        /* calls still running, for main */
};

static void call_finish(struct ev_loop *loop, struct call *c);
static void release_resource(struct ev_loop *loop, struct call *c);
/* How do_work ends: each program that includes this file writes it. */
static void work_resume(struct ev_loop *loop, ev_timer *w, int revents);

/* `finally`: the one place every path goes through once acquire has
 * answered. If the resource is held, release it; then the call ends. */
static void with_cleanup_finally(struct ev_loop *loop, struct call *c) {
  if (c->fd[0] >= 0)
    release_resource(loop, c);
  else
    call_finish(loop, c);
}

/* `except ValueError` and `except Exception` become a switch on the code. */
static void report_error(const struct call *c) {
  if (c->err.code == OP_EVALUE)
    printf("%s: Value error: %s\n", c->name, c->err.message);
  else
    printf("%s: Unexpected error: %s\n", c->name, c->err.message);
}

/* ---- release_resource: 100 ms, then the descriptors are closed ---------- */

static void release_resume(struct ev_loop *loop, ev_timer *w, int revents) {
  struct call *c = (struct call *)w;
  (void)revents;
  for (int i = 0; i < 2; i++)
    if (c->fd[i] >= 0)
      close(c->fd[i]), c->fd[i] = -1;
  c->released++;
  printf("%s: Resource released\n", c->name);
  wb_trace_mark("%s: released", c->name);
  call_finish(loop, c);
}

static void release_resource(struct ev_loop *loop, struct call *c) {
  ev_timer_init(&c->timer, release_resume, 0.1, 0.);
  ev_timer_start(loop, &c->timer);
}

/* ---- do_work: 200 ms, then a message through the resource --------------- */

static void do_work(struct ev_loop *loop, struct call *c) {
  ev_timer_init(&c->timer, work_resume, 0.2, 0.);
  ev_timer_start(loop, &c->timer);
}

/* ---- acquire_resource: 100 ms, then a socketpair ------------------------ */

static void acquire_resume(struct ev_loop *loop, ev_timer *w, int revents) {
  struct call *c = (struct call *)w;
  (void)revents;
  if (c->fail_at == FAIL_ACQUIRE) {
    op_error_set(&c->err, OP_EACQUIRE, 0, "acquire_resource: %s: none left",
                 c->name);
  } else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, c->fd) < 0) {
    op_error_set(&c->err, OP_ESYS, errno, "acquire_resource: socketpair: %s",
                 strerror(errno));
    c->fd[0] = c->fd[1] = -1;
  } else {
    printf("%s: Resource acquired\n", c->name);
    if (c->fail_at == FAIL_WORK) /* on cue: the peer hangs up at once */
      close(c->fd[1]), c->fd[1] = -1;
  }
  wb_trace_mark("%s: acquire %s", c->name, c->err.code ? "failed" : "done");
  if (c->err.code != OP_OK) {
    report_error(c);
    with_cleanup_finally(loop, c); /* nothing held: nothing to release */
    return;
  }
  do_work(loop, c);
}

static void acquire_resource(struct ev_loop *loop, struct call *c) {
  ev_timer_init(&c->timer, acquire_resume, 0.1, 0.);
  ev_timer_start(loop, &c->timer);
}

/* ---- async def with_cleanup() ------------------------------------------- */

static void with_cleanup(struct ev_loop *loop, struct call *c) {
  c->fd[0] = c->fd[1] = -1;
  c->err.code = OP_OK;
  wb_trace_mark("%s: Started", c->name);
  acquire_resource(loop, c);
}

/* The caller's continuation: the call is over, its error (if any) in err. */
static void call_finish(struct ev_loop *loop, struct call *c) {
  (void)loop;
  printf("%s: finished: %s; open descriptors: %d\n", c->name,
         op_strerror(c->err.code), wb_open_fds());
  --*c->pending;
}

/* N calls on a loop of their own, the i-th failing at fail_at(i); once the
 * loop has nothing left, the loop's longest lag, the time it took and the
 * calls that never ended. NULL when memory ran out. */
struct run {
  double lag_ms, elapsed_ms;
  int pending;
};

static struct call *run_calls(int n, enum fail_at (*fail_at)(int i), struct run *r) {
  struct call *calls = calloc((size_t)n, sizeof *calls);
  wb_lag_t lag;
  double t0 = wb_now_ms();
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  if (!calls || !loop) {
    free(calls);
    if (loop)
      ev_loop_destroy(loop);
    return NULL;
  }
  r->pending = n;
  wb_lag_start(loop, &lag);
  for (int i = 0; i < n; i++) {
    snprintf(calls[i].name, sizeof calls[i].name, "call %d", i + 1);
    calls[i].fail_at = fail_at(i);
    calls[i].pending = &r->pending;
    with_cleanup(loop, &calls[i]);
  }
  ev_run(loop, 0);
  wb_lag_stop(loop, &lag);
  ev_loop_destroy(loop);
  r->lag_ms = wb_lag_longest_ms(&lag);
  r->elapsed_ms = wb_now_ms() - t0;
  return calls;
}

#endif /* CLEANUP_CALLS_H */
