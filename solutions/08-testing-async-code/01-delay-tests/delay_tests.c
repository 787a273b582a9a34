/* delay_tests.c - tests for delay.h (exercise 08.1), one promise each:
 * callbacks that only record, a bounded run, then assertions on counts,
 * order and facts after the loop has returned.
 */
#include "delay.h"
#include "wbtest.h"

#include <stddef.h>

/* What the callbacks saw. */
static int calls, last_status = -1, order[4], norder;
static void *last_arg;
static struct ev_loop *last_loop;
static double called_at;

static void record(struct ev_loop *loop, int status, void *arg) {
  calls++;
  last_status = status;
  last_arg = arg;
  last_loop = loop;
  called_at = wb_elapsed_ms();
  if (arg && norder < 4)
    order[norder++] = *(int *)arg;
}

WB_TEST(ends_once_from_the_loop, 1) {
  int token = 7;
  delay_t *d = delay_start(wb_loop(), 20, record, &token);
  ck_assert_ptr_nonnull(d);
  ck_assert_int_eq(calls, 0); /* not from inside delay_start */
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(calls, 1);
  ck_assert_int_eq(last_status, DELAY_DONE);
  ck_assert_ptr_eq(last_arg, &token);
  ck_assert_ptr_eq(last_loop, wb_loop());
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(zero_delay_ends_from_the_loop, 1) {
  delay_t *d = delay_start(wb_loop(), 0, record, NULL);
  ck_assert_ptr_nonnull(d);
  ck_assert_int_eq(calls, 0);
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(calls, 1);
  ck_assert_int_eq(last_status, DELAY_DONE);
  ck_assert_int_eq(wb_active_watchers(wb_loop()), 0);
}
END_TEST

WB_TEST(never_ends_before_its_delay, 1) {
  ev_now_update(wb_loop()); /* timers count from the loop's "now" */
  double t0 = wb_elapsed_ms();
  ck_assert_ptr_nonnull(delay_start(wb_loop(), 100, record, NULL));
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(calls, 1);
  ck_assert(called_at - t0 >= 95); /* a fact: never early; no upper bound */
}
END_TEST

WB_TEST(delays_overlap_and_end_in_deadline_order, 1) {
  static int ids[3] = {0, 1, 2};
  static const unsigned ms[3] = {120, 40, 80};
  for (int i = 0; i < 3; i++)
    ck_assert_ptr_nonnull(delay_start(wb_loop(), ms[i], record, &ids[i]));
  wb_run(wb_loop(), 1000);
  wb_assert_no_block(50);
  ck_assert_int_eq(calls, 3);
  ck_assert_int_eq(order[0], 1);
  ck_assert_int_eq(order[1], 2);
  ck_assert_int_eq(order[2], 0);
  ck_assert(wb_elapsed_ms() < 200); /* about the longest, 120, not 240 */
}
END_TEST

WB_TEST(cancel_calls_back_once_and_cleans_up, 1) {
  int token = 3;
  delay_t *d = delay_start(wb_loop(), 50, record, &token);
  ck_assert_ptr_nonnull(d);
  delay_cancel(d);
  ck_assert_int_eq(calls, 1); /* from inside delay_cancel */
  ck_assert_int_eq(last_status, DELAY_CANCELLED);
  ck_assert_ptr_eq(last_arg, &token);
  wb_run(wb_loop(), 1000); /* its time would be up in here */
  ck_assert_int_eq(calls, 1);
  wb_assert_no_leaks();
}
END_TEST

/* A race on cue: a 0 ms timer cancels the delay from inside the loop,
 * while it is still waiting. */
static delay_t *to_cancel;
static void cancel_now(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  delay_cancel(to_cancel);
}

WB_TEST(cancel_while_the_loop_runs, 1) {
  ev_timer zero;
  ev_timer_init(&zero, cancel_now, 0., 0.);
  to_cancel = delay_start(wb_loop(), 100, record, NULL);
  ck_assert_ptr_nonnull(to_cancel);
  ev_timer_start(wb_loop(), &zero);
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(calls, 1);
  ck_assert_int_eq(last_status, DELAY_CANCELLED);
  ck_assert_int_eq(wb_active_watchers(wb_loop()), 0);
}
END_TEST

WB_TEST(out_of_memory_returns_null, 1) {
  for (unsigned n = 1;; n++) {
    calls = 0;
    wb_fail_alloc(n);
    delay_t *d = delay_start(wb_loop(), 10, record, NULL);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (d == NULL) {
      wb_run(wb_loop(), 1000);
      ck_assert_int_eq(calls, 0);
      ck_assert_int_eq(wb_active_watchers(wb_loop()), 0);
    } else {
      wb_run(wb_loop(), 1000);
      ck_assert_int_eq(calls, 1);
    }
    if (used < n)
      break;
  }
}
END_TEST
