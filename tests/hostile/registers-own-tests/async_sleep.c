/* expect: score 0, report "registers tests of its own" */
/* Puts tests of its own, with the names of the real ones and empty bodies,
 * into the section the runner reads its tests from: linked before the
 * test file, they would be found first. */
#include "async_sleep.h"
#include <check.h>
struct fake_test { const TTest *test; int points; };
static void empty(int i) { (void)i; }
#define FAKE(name)                                                             \
  static const TTest name##_t = {#name, empty, "async_sleep.c", 1};            \
  static const struct fake_test name##_w                                       \
      __attribute__((used, section("wb_tests"), aligned(8))) = {&name##_t, 2};
FAKE(returns_at_once_and_calls_back_once)
FAKE(waits_at_least_the_delay)
FAKE(passes_arg_and_wakes_in_delay_order)
FAKE(many_sleeps_overlap_without_blocking)
FAKE(leaves_nothing_behind)
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  return -1;
}
