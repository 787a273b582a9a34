/* wb_lag.h - a loop-lag probe for any libev loop, shared by the chapter
 * programs and the test-support library, plus the one-line report that lets
 * the workbook's harness read what a chapter program measured.
 */
#ifndef WB_LAG_H
#define WB_LAG_H

#include <ev.h>
#include <stdio.h>

/* The probe measures the longest stretch the loop spent running callbacks
 * in one go: from libev's check phase (a check watcher at EV_MAXPRI runs
 * before any other callback of an iteration) to the next prepare phase,
 * and at loop exit (wb_lag_longest_ms closes an open stretch). While such a
 * stretch lasts, no other callback can run: that is the loop's lag. */
typedef struct wb_lag {
  ev_check check;     /* ro */
  ev_prepare prepare; /* ro */
  double busy_since;  /* ro: monotonic seconds, 0 while the loop polls */
  double max_s;       /* ro: longest stretch so far, in seconds */
} wb_lag_t;

/* Starts the probe on `loop`. Its watchers are unref'ed: they never keep
 * the loop running on their own. */
void wb_lag_start(struct ev_loop *loop, wb_lag_t *lag);

/* Stops the probe. Call before destroying the loop. */
void wb_lag_stop(struct ev_loop *loop, wb_lag_t *lag);

/* The longest stretch so far, in milliseconds (an open one is closed). */
double wb_lag_longest_ms(wb_lag_t *lag);

/* Whether `w` is one of a probe's own watchers (the test support library
 * leaves them out of the learner's watcher list). */
int wb_lag_owns(const ev_watcher *w);

/* Monotonic clock in milliseconds, for measuring elapsed time. */
double wb_now_ms(void);

/* Number of open file descriptors of this process. */
int wb_open_fds(void);

/* Prints the line the harness reads from a chapter program:
 *   measured: lag_ms=1003 elapsed_ms=1507 open_fds=3 errors=0
 * Each chapter program ends by printing it; its file names, in a comment
 * "expect: ..." line, what the numbers must show (see grader/src/chapters.c). */
void wb_measured_print(FILE *out, double lag_ms, double elapsed_ms,
                       int errors);

#endif /* WB_LAG_H */
