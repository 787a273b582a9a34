/* pitfall_async_sum.c - the guide's fourth pitfall, bad_calculate: the sum
 * of plain_sum.c dressed as async. The numbers are added ten at a time,
 * one ev_idle callback per step, and the result comes through a callback.
 * There is nothing to wait for, so all that adds is cost: 200,000 trips
 * through the loop, and 36 lines (a struct, a callback type, a step and a
 * start) where the plain function needs one. The program times both
 * versions on the same numbers, each the best of RUNS runs, taken in turns
 * so that a busy machine slows both alike.
 * Usage: pitfall_async_sum [N [RUNS]]   (default: 2000000 numbers, 7 runs)
 * symptom: ratio > 1.5, callbacks > 100000 (slower than the plain function, for nothing)
 */
#include "wb_lag.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>

#define STEP 10ul

static unsigned long long add_range(unsigned long from, unsigned long to) {
  volatile unsigned long long sum = 0;
  for (unsigned long i = from; i < to; i++)
    sum += i;
  return sum;
}

/* ---- async def bad_calculate(n): the same sum, in steps ------------------ */

typedef void (*sum_cb)(unsigned long long sum, void *arg);

struct sum_task {
  ev_idle idle;
  unsigned long next, n;
  unsigned long long sum;
  int *callbacks;
  sum_cb done;
  void *arg;
};

static void sum_step(struct ev_loop *loop, ev_idle *w, int revents) {
  struct sum_task *t = (struct sum_task *)w;
  (void)revents;
  unsigned long to = t->next + STEP < t->n ? t->next + STEP : t->n;
  (*t->callbacks)++;
  t->sum += add_range(t->next, to);
  t->next = to;
  if (t->next < t->n)
    return; /* "yield" to the loop, which has nothing else to do */
  ev_idle_stop(loop, w);
  t->done(t->sum, t->arg);
  free(t);
}

static int calculate_async(struct ev_loop *loop, unsigned long n, int *callbacks,
                           sum_cb done, void *arg) {
  struct sum_task *t = malloc(sizeof *t);
  if (!t)
    return -1;
  *t = (struct sum_task){.n = n, .callbacks = callbacks, .done = done,
                         .arg = arg};
  ev_idle_init(&t->idle, sum_step);
  ev_idle_start(loop, &t->idle);
  return 0;
}

/* ---- the plain function, for comparison -------------------------------- */

static unsigned long long calculate(unsigned long n) { return add_range(0, n); }

static void got_sum(unsigned long long sum, void *arg) {
  *(unsigned long long *)arg = sum;
}

int main(int argc, char **argv) {
  unsigned long N = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000ul;
  int runs = argc > 2 ? atoi(argv[2]) : 7;
  unsigned long long want = (unsigned long long)N * (N - 1) / 2, sum = 0;
  int callbacks = 0, errors = 0;
  double plain_ms = 1e9, async_ms = 1e9;
  for (int run = 0; run < runs; run++) {
    double t0 = wb_now_ms();
    errors += calculate(N) != want;
    double ms = wb_now_ms() - t0;
    plain_ms = ms < plain_ms ? ms : plain_ms;

    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    callbacks = 0;
    t0 = wb_now_ms();
    if (calculate_async(loop, N, &callbacks, got_sum, &sum) < 0)
      errors++;
    ev_run(loop, 0);
    ms = wb_now_ms() - t0;
    ev_loop_destroy(loop);
    errors += sum != want;
    async_ms = ms < async_ms ? ms : async_ms;
  }
  printf("sum(range(%lu)) = %llu: plain %.2f ms, async %.2f ms\n", N, want,
         plain_ms, async_ms);
  printf("measured: ratio=%.1f plain_ms=%.2f async_ms=%.2f callbacks=%d "
         "errors=%d\n", async_ms / (plain_ms > 0.01 ? plain_ms : 0.01),
         plain_ms, async_ms, callbacks, errors);
  return 0;
}
