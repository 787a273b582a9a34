/* cpu_job.h - what the CPU-bound programs of chapter 01 share: the job (a
 * computation with no waiting in it) and the heartbeat, a 10 ms timer that
 * notes the longest gap between two of its ticks. A loop that is free keeps
 * that gap near 10 ms; a loop held by a long callback cannot.
 */
#ifndef CPU_JOB_H
#define CPU_JOB_H

#include "wb_lag.h"

#include <ev.h>
#include <stdio.h>

/* The job: how many primes there are below `below`, by trial division.
 * Pure computation, about 90 ms of CPU for 700,000 on a laptop core: there
 * is nothing in it for a loop to overlap. */
static inline long count_primes(long below) {
  long n = 0;
  for (long k = 2; k < below; k++) {
    int prime = 1;
    for (long d = 2; d * d <= k; d++)
      if (k % d == 0) {
        prime = 0;
        break;
      }
    n += prime;
  }
  return n;
}

/* A timer that should tick every 10 ms, and what it saw. */
struct heartbeat {
  ev_timer timer;
  double last_ms;    /* when it last ticked (wb_now_ms) */
  double longest_ms; /* the longest gap between two ticks */
  int ticks;
  int stop_after; /* ticks left before it stops; 0: not stopping yet */
};

static inline void heartbeat_cb(struct ev_loop *loop, ev_timer *w,
                                int revents) {
  struct heartbeat *hb = (struct heartbeat *)w;
  double now = wb_now_ms();
  (void)revents;
  if (now - hb->last_ms > hb->longest_ms)
    hb->longest_ms = now - hb->last_ms;
  hb->last_ms = now;
  hb->ticks++;
  if (hb->stop_after > 0 && --hb->stop_after == 0)
    ev_timer_stop(loop, w);
}

static inline void heartbeat_start(struct ev_loop *loop,
                                   struct heartbeat *hb) {
  ev_timer_init(&hb->timer, heartbeat_cb, 0.010, 0.010);
  hb->last_ms = wb_now_ms();
  ev_timer_start(loop, &hb->timer);
}

/* The work is over: a few more ticks, so that a stall that has just ended
 * is measured too, then the heartbeat stops and the loop can end. */
static inline void heartbeat_finish(struct heartbeat *hb) {
  hb->stop_after = 3;
}

/* The measurement line, with the heartbeat's longest gap and its ticks,
 * the CPU time the jobs took in all, and the gap as a share of it
 * (gap_pct): a loop that computes the jobs itself goes silent for all of
 * that time (100% or more), one that hands them out hardly at all. */
static inline void heartbeat_measured_print(const struct heartbeat *hb,
                                            double lag_ms, double elapsed_ms,
                                            double job_cpu_ms, int errors) {
  printf("measured: lag_ms=%.0f elapsed_ms=%.0f gap_ms=%.0f ticks=%d "
         "job_cpu_ms=%.0f gap_pct=%.0f open_fds=%d errors=%d\n",
         lag_ms, elapsed_ms, hb->longest_ms, hb->ticks, job_cpu_ms,
         job_cpu_ms > 0 ? 100 * hb->longest_ms / job_cpu_ms : 0,
         wb_open_fds(), errors);
}

#endif /* CPU_JOB_H */
