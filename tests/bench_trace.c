/* bench_trace.c - what the recorder costs: 100,000 timers of 0.1 s on one
 * loop, all started from the loop's first callback, as in NOTES.md. Prints
 * how long the loop took and the memory used. Built twice (Makefile,
 * bench-trace): plain, and with the chapter programs' hooks, which record
 * when WB_TRACE=FILE is set and cost a branch each when it is not.
 * tests/bench-trace.sh runs them in turns and compares medians.
 */
#include "wb_lag.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#define TIMERS 100000

static int fired;

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  fired++;
}

static void start_all(int revents, void *arg) {
  ev_timer *timers = arg;
  struct ev_loop *loop = ev_default_loop(0);
  (void)revents;
  for (int i = 0; i < TIMERS; i++) {
    ev_timer_init(&timers[i], timer_cb, 0.1, 0.);
    ev_timer_start(loop, &timers[i]);
  }
}

int main(void) {
  ev_timer *timers = calloc(TIMERS, sizeof *timers);
  if (!timers)
    return 1;
  struct ev_loop *loop = ev_default_loop(0);
  double t0 = wb_now_ms();
  ev_once(loop, -1, 0, 0., start_all, timers);
  ev_run(loop, 0);
  double ms = wb_now_ms() - t0;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("loop_ms=%.1f fired=%d maxrss_kb=%ld\n", ms, fired, ru.ru_maxrss);
  free(timers);
  return fired == TIMERS ? 0 : 1;
}
