/* test_async_sleep.c - the tests of exercise 02.1 and their points. */
#include "async_sleep.h"
#include "wbtest.h"

static int calls;
static int order[3], norder;

static void count_cb(struct ev_loop *loop, void *arg) {
  (void)loop, (void)arg;
  calls++;
}

static void record_cb(struct ev_loop *loop, void *arg) {
  (void)loop;
  if (norder < 3)
    order[norder++] = *(int *)arg;
}

WB_TEST(returns_at_once_and_calls_back_once, 2) {
  ck_assert_msg(async_sleep(wb_loop(), 100, count_cb, NULL) == 0,
                "async_sleep returned an error; it should return 0 once the "
                "timer is started");
  ck_assert_msg(wb_elapsed_ms() < 50,
                "async_sleep took %.0f ms to return: it must only start a "
                "timer and return; the loop does the waiting",
                wb_elapsed_ms());
  wb_run(wb_loop(), 2000);
  wb_assert_calls(calls, 1, "the callback given to async_sleep");
}
END_TEST

WB_TEST(waits_at_least_the_delay, 2) {
  ck_assert_msg(async_sleep(wb_loop(), 120, count_cb, NULL) == 0,
                "async_sleep returned an error; it should return 0");
  wb_run(wb_loop(), 2000);
  wb_assert_calls(calls, 1, "the callback given to async_sleep");
  ck_assert_msg(wb_elapsed_ms() >= 110,
                "the callback ran after %.0f ms, but the sleep was 120 ms",
                wb_elapsed_ms());
}
END_TEST

WB_TEST(passes_arg_and_wakes_in_delay_order, 2) {
  static int a = 150, b = 30, c = 90;
  async_sleep(wb_loop(), 150, record_cb, &a);
  async_sleep(wb_loop(), 30, record_cb, &b);
  async_sleep(wb_loop(), 90, record_cb, &c);
  wb_run(wb_loop(), 2000);
  wb_assert_calls(norder, 3, "the callback given to async_sleep");
  ck_assert_msg(order[0] == 30 && order[1] == 90 && order[2] == 150,
                "the sleeps woke in the order %d, %d, %d ms; expected 30, 90, "
                "150 (is arg passed through untouched?)",
                order[0], order[1], order[2]);
}
END_TEST

WB_TEST(many_sleeps_overlap_without_blocking, 3) {
  for (int i = 0; i < 5; i++)
    async_sleep(wb_loop(), 100, count_cb, NULL);
  wb_run(wb_loop(), 3000);
  wb_assert_calls(calls, 5, "the callback given to async_sleep");
  wb_assert_overlap(wb_elapsed_ms(), 100, 5);
  wb_assert_no_block(50);
}
END_TEST

WB_TEST(leaves_nothing_behind, 1) {
  async_sleep(wb_loop(), 10, count_cb, NULL);
  wb_run(wb_loop(), 2000);
  wb_assert_calls(calls, 1, "the callback given to async_sleep");
  wb_assert_no_leaks();
}
END_TEST
