/* pitfall_cpu_in_callback.c - the classic mistake: CPU work run right in a
 * callback. Four jobs arrive together and each is computed by its timer's
 * callback: they run one after another, and the 10 ms heartbeat that shares
 * the loop stalls for all four of them (gap_ms).
 * symptom: gap_pct > 95, lag_ms > 100 (the heartbeat stalls)
 */
#define _DEFAULT_SOURCE /* clock_gettime */
#include "cpu_job.h"
#include "wb_trace.h"

#include <stdio.h>
#include <time.h>

#define NJOBS 4

/* A job: it arrives (its timer fires), then it is computed. */
struct job {
  ev_timer arrive;
  int index;
  long below;
};

static struct heartbeat hb;
static int pending = NJOBS;
static double job_cpu_ms; /* the CPU time the jobs took, in all */

static double cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* WRONG: the computation runs inside the callback. Until it returns the
 * loop cannot poll, so no timer fires, no socket is read, and the other
 * jobs wait their turn: async gives a CPU-bound job nothing to overlap. */
static void job_arrive_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct job *j = (struct job *)w;
  (void)loop, (void)revents;
  wb_trace_mark("job %d: computing", j->index);
  double c0 = cpu_ms();
  long primes = count_primes(j->below);
  job_cpu_ms += cpu_ms() - c0;
  wb_trace_mark("job %d: done", j->index);
  printf("job %d: %ld primes below %ld, computed inside the loop\n", j->index,
         primes, j->below);
  if (--pending == 0)
    heartbeat_finish(&hb);
}

int main(void) {
  static struct job jobs[NJOBS];
  wb_lag_t lag;
  double t0 = wb_now_ms();
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  wb_lag_start(loop, &lag);
  heartbeat_start(loop, &hb);
  for (int i = 0; i < NJOBS; i++) { /* they arrive 30, 31, 32, 33 ms in */
    jobs[i].index = i + 1;
    jobs[i].below = 700000;
    ev_timer_init(&jobs[i].arrive, job_arrive_cb, 0.030 + 0.001 * i, 0.);
    ev_timer_start(loop, &jobs[i].arrive);
  }
  ev_run(loop, 0);
  wb_lag_stop(loop, &lag);
  ev_loop_destroy(loop);
  heartbeat_measured_print(&hb, wb_lag_longest_ms(&lag), wb_now_ms() - t0,
                           job_cpu_ms, 0);
  return 0;
}
