/* timer_scope.c - the guide's `timer` asynccontextmanager: how long a piece
 * of asynchronous work took, measured around it without blocking. The scope
 * notes the loop's clock when it begins, the body waits twice with timers
 * (100 then 50 ms, for the guide's 1.0 and 0.5 s), and the scope's end, the
 * `finally`, reads the clock again: on success and on error alike.
 * expect: elapsed_ms > 140, elapsed_ms < 1000, lag_ms < 50, errors < 1
 */
#include "wb_lag.h"
#include "wb_trace.h"

#include <ev.h>
#include <stdio.h>

/* ---- @asynccontextmanager async def timer(name) --------------------------- */

struct timer_scope {
  struct ev_loop *loop;
  const char *name;
  ev_tstamp start; /* the loop's clock when the scope began, in seconds */
};

/* The part before `yield`: note the time. ev_now is the loop's cached
 * clock; ev_now_update brings it to this moment first. */
static void timer_begin(struct timer_scope *t, struct ev_loop *loop,
                        const char *name) {
  t->loop = loop;
  t->name = name;
  ev_now_update(loop);
  t->start = ev_now(loop);
  printf("Timer '%s' started\n", name);
  wb_trace_mark("%s: timer started", name);
}

/* The `finally`: called by the body's last continuation, whichever way the
 * body ended. Returns the elapsed time in seconds. */
static double timer_end(struct timer_scope *t) {
  ev_now_update(t->loop);
  double elapsed = ev_now(t->loop) - t->start;
  printf("Timer '%s' elapsed: %.2fs\n", t->name, elapsed);
  wb_trace_mark("%s: timer elapsed %.0f ms", t->name, elapsed * 1e3);
  return elapsed;
}

/* ---- async with timer(name): await sleep(0.1); await sleep(0.05) ---------- */

struct body {
  ev_timer sleep;       /* one wait at a time, so one timer */
  struct timer_scope t; /* the scope around this body */
  int step;
  int fail_after_first; /* this body raises after its first sleep */
  double elapsed_ms;    /* what the scope measured */
  int ended;
};

static void body_end(struct body *b, const char *error) {
  if (error)
    printf("%s: the body failed: %s\n", b->t.name, error);
  b->elapsed_ms = timer_end(&b->t) * 1e3; /* runs on both paths */
  b->ended++;
}

/* Each wake-up of the body: after the first sleep, then after the second. */
static void body_resume(struct ev_loop *loop, ev_timer *w, int revents) {
  struct body *b = (struct body *)w;
  (void)revents;
  if (++b->step == 1) {
    if (b->fail_after_first) {
      body_end(b, "something went wrong after the first sleep");
      return;
    }
    ev_timer_set(&b->sleep, 0.050, 0.); /* await asyncio.sleep(0.5) */
    ev_timer_start(loop, &b->sleep);
    return;
  }
  body_end(b, NULL);
}

static void body_start(struct ev_loop *loop, struct body *b, const char *name) {
  timer_begin(&b->t, loop, name); /* async with timer(name): */
  ev_timer_init(&b->sleep, body_resume, 0.100, 0.); /* await asyncio.sleep(1.0) */
  ev_timer_start(loop, &b->sleep);
}

int main(void) {
  struct body ok = {.fail_after_first = 0}, failing = {.fail_after_first = 1};
  wb_lag_t lag;
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  wb_lag_start(loop, &lag);
  body_start(loop, &ok, "operation"); /* both scopes at once, on one loop */
  body_start(loop, &failing, "failing");
  ev_run(loop, 0);
  wb_lag_stop(loop, &lag);
  ev_loop_destroy(loop);
  /* Both scopes ended once; the one that failed still reported its time. */
  int errors = (ok.ended != 1) + (failing.ended != 1) +
               (failing.elapsed_ms < 90 || failing.elapsed_ms > ok.elapsed_ms);
  wb_measured_print(stdout, wb_lag_longest_ms(&lag), ok.elapsed_ms, errors);
  return errors ? 1 : 0;
}
