/* plain_sum.c - the guide's good_calculate: CPU work with no I/O is a
 * plain function. Called from a callback, it returns its answer at once;
 * for 2,000,000 numbers that takes about a millisecond, too short to matter
 * to the loop (chapter 01 sends work that is really long to a process).
 * Usage: plain_sum [N]   (default: 2000000 numbers)
 * expect: lag_ms < 50, callbacks < 2, errors < 1
 */
#include "wb_lag.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>

/* The work itself, shared with the pitfall so both do the same arithmetic.
 * `volatile` stops the compiler from replacing the loop by n(n-1)/2. */
static unsigned long long add_range(unsigned long from, unsigned long to) {
  volatile unsigned long long sum = 0;
  for (unsigned long i = from; i < to; i++)
    sum += i;
  return sum;
}

/* def good_calculate(n): return sum(range(n)) */
static unsigned long long calculate(unsigned long n) { return add_range(0, n); }

struct app {
  unsigned long n;
  unsigned long long sum;
  int callbacks;
};

static void async_main(int revents, void *arg) {
  struct app *app = arg;
  (void)revents;
  app->callbacks++;
  app->sum = calculate(app->n); /* a call, not a task */
}

int main(int argc, char **argv) {
  unsigned long N = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000ul;
  struct app app = {N, 0, 0};
  wb_lag_t lag;
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  double t0 = wb_now_ms();
  wb_lag_start(loop, &lag);
  ev_once(loop, -1, 0, 0., async_main, &app);
  ev_run(loop, 0);
  wb_lag_stop(loop, &lag);
  ev_loop_destroy(loop);
  double elapsed = wb_now_ms() - t0;
  int errors = app.sum != (unsigned long long)N * (N - 1) / 2;
  printf("sum(range(%lu)) = %llu\n", N, app.sum);
  printf("measured: lag_ms=%.0f elapsed_ms=%.1f callbacks=%d errors=%d\n",
         wb_lag_longest_ms(&lag), elapsed, app.callbacks, errors);
  return 0;
}
