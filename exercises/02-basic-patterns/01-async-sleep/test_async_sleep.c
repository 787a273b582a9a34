/* test_async_sleep.c - the tests of exercise 02.1 and their points.
 * Every sleep is started through start_sleep, which also checks that
 * async_sleep returned without calling cb and without waiting itself.
 */
#include "async_sleep.h"
#include "wbtest.h"

static int calls, wrong_loop;
static void *got_arg;
static double called_at; /* wb_elapsed_ms() at the last call of count_cb */
static int order[3], norder;
static unsigned sleep_allocs; /* allocations of the last async_sleep call */

static void count_cb(struct ev_loop *loop, void *arg) {
  calls++;
  got_arg = arg;
  called_at = wb_elapsed_ms();
  if (loop != wb_loop())
    wrong_loop++;
}

static void record_cb(struct ev_loop *loop, void *arg) {
  if (loop != wb_loop())
    wrong_loop++;
  if (norder < 3)
    order[norder++] = arg ? *(int *)arg : -1;
}

/* async_sleep on the test's loop. It must return before cb has run, and
 * (for a sleep long enough to tell) before half the delay has passed. */
static int start_sleep(unsigned ms, async_sleep_cb cb, void *arg) {
  int before = calls + norder;
  double t0 = wb_elapsed_ms();
  int rc = async_sleep(wb_loop(), ms, cb, arg);
  double took = wb_elapsed_ms() - t0;
  /* Read before any check: Check's own bookkeeping allocates too. */
  sleep_allocs = wb_allocs();
  wb_fail_alloc(0);
  ck_assert_msg(calls + norder == before || rc != -1,
                "async_sleep(loop, %u, cb, arg) ran out of memory and returned "
                "-1, but it called cb: after -1, cb must never be called",
                ms);
  ck_assert_msg(calls + norder == before,
                "async_sleep(loop, %u, cb, arg) called cb before it returned. "
                "cb must be called later, by the loop, from the timer's "
                "callback%s.",
                ms, ms ? "" : " (even for a delay of 0: start a timer of 0 s)");
  if (ms >= 100)
    ck_assert_msg(took < ms / 2.0,
                  "async_sleep(loop, %u, cb, arg) took %.0f ms to return: it "
                  "waited itself. It must only start a timer and return at "
                  "once; the loop does the waiting while the caller runs it.",
                  ms, took);
  return rc;
}

WB_TEST(calls_back_once_after_the_delay, 2) {
  static int token;
  double t0 = wb_elapsed_ms();
  /* Timers count from the loop's idea of now: bring it up to date after
   * t0, so that a timer of 100 ms cannot fire before t0 + 100 ms. */
  ev_now_update(wb_loop());
  ck_assert_msg(start_sleep(100, count_cb, &token) == 0,
                "async_sleep returned an error; it should return 0 once the "
                "timer is started");
  ck_assert_msg(wb_active_watchers(wb_loop()) > 0,
                "async_sleep returned, but no watcher is active on the loop "
                "it was given: start the timer on `loop`, the loop passed to "
                "async_sleep (not ev_default_loop)");
  wb_run(wb_loop(), 1000);
  wb_assert_no_block(50);
  wb_assert_calls(calls, 1, "the callback given to async_sleep");
  ck_assert_msg(called_at - t0 >= 90,
                "the callback ran %.0f ms after async_sleep was called, but "
                "the sleep was 100 ms. libev counts in seconds, as a double: "
                "the delay is ms / 1000.0 (ms / 1000 is 0).",
                called_at - t0);
  ck_assert_msg(wrong_loop == 0,
                "cb was called with another loop than the one given to "
                "async_sleep: call cb(loop, arg) with that loop");
  ck_assert_msg(got_arg == &token,
                "cb was called with arg %p, but async_sleep was given %p: "
                "pass arg to cb untouched",
                got_arg, (void *)&token);
}
END_TEST

WB_TEST(wakes_in_delay_order, 1) {
  static int a = 100, b = 10, c = 50;
  ck_assert_msg(start_sleep(100, record_cb, &a) == 0 &&
                    start_sleep(10, record_cb, &b) == 0 &&
                    start_sleep(50, record_cb, &c) == 0,
                "async_sleep returned an error; it should return 0");
  wb_run(wb_loop(), 1000);
  wb_assert_no_block(50);
  wb_assert_calls(norder, 3, "the callback given to async_sleep");
  ck_assert_msg(order[0] == 10 && order[1] == 50 && order[2] == 100,
                "the sleeps woke in the order %d, %d, %d ms; expected 10, 50, "
                "100 (-1 stands for a NULL arg: is arg passed through "
                "untouched?)",
                order[0], order[1], order[2]);
  ck_assert_msg(wrong_loop == 0,
                "cb was called with another loop than the one given to "
                "async_sleep: call cb(loop, arg) with that loop");
}
END_TEST

WB_TEST(many_sleeps_overlap_without_blocking, 3) {
  for (int i = 0; i < 5; i++)
    ck_assert_msg(start_sleep(100, count_cb, NULL) == 0,
                  "async_sleep returned an error; it should return 0");
  wb_run(wb_loop(), 1000);
  wb_assert_no_block(50);
  wb_assert_calls(calls, 5, "the callback given to async_sleep");
  wb_assert_overlap(wb_elapsed_ms(), 100, 5);
}
END_TEST

WB_TEST(zero_delay_calls_back_from_the_loop, 1) {
  ck_assert_msg(start_sleep(0, count_cb, NULL) == 0,
                "async_sleep(loop, 0, cb, arg) returned an error; a delay of "
                "0 is valid and should return 0");
  wb_run(wb_loop(), 1000);
  ck_assert_msg(calls > 0,
                "the callback of a sleep of 0 ms was never called. A delay "
                "of 0 still needs a timer, of 0 s, which the loop runs on its "
                "next iteration (note that ev_timer_again starts nothing when "
                "the repeat is 0).");
  wb_assert_calls(calls, 1, "the callback of a sleep of 0 ms");
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "a watcher is still active after a sleep of 0 ms ended");
}
END_TEST

WB_TEST(out_of_memory_returns_minus_one, 2) {
  /* Make the first allocation of async_sleep fail, then the second, ...
   * until a call succeeds: each failure must be answered with -1. */
  for (unsigned n = 1;; n++) {
    wb_fail_alloc(n);
    int rc = start_sleep(100, count_cb, NULL);
    if (sleep_allocs < n) { /* nothing failed: this is the successful call */
      ck_assert_msg(rc == 0, "async_sleep returned %d; it should return 0", rc);
      wb_run(wb_loop(), 1000);
      wb_assert_no_block(50);
      wb_assert_calls(calls, 1, "the callback given to async_sleep");
      break;
    }
    ck_assert_msg(rc == -1,
                  "allocation %u of async_sleep failed (it returned NULL), "
                  "yet async_sleep returned %d: when memory runs out it must "
                  "return -1",
                  n, rc);
    ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                  "allocation %u of async_sleep failed and it returned -1, "
                  "but it left a watcher started: after -1, nothing may be "
                  "left behind",
                  n);
    wb_run(wb_loop(), 1000);
    ck_assert_msg(calls == 0,
                  "allocation %u of async_sleep failed and it returned -1, "
                  "but the loop called cb later: after -1, cb must never be "
                  "called",
                  n);
  }
}
END_TEST

WB_TEST(leaves_nothing_behind, 1) {
  for (unsigned ms = 20; ms <= 60; ms += 20)
    ck_assert_msg(start_sleep(ms, count_cb, NULL) == 0,
                  "async_sleep returned an error; it should return 0");
  wb_run(wb_loop(), 1000);
  wb_assert_calls(calls, 3, "the callback given to async_sleep");
  wb_assert_no_leaks();
}
END_TEST
