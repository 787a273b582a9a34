/* expect: score 0, report "registers tests of its own" */
/* registers-own-tests, plus more than 65279 sections: an object that
 * needs ELF's extended numbering, which a careless reader takes for one
 * without sections at all. */
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
#define CAT(a,b) a##b
#define XCAT(a,b) CAT(a,b)
#define STR(x) #x
#define XSTR(x) STR(x)
#define ONE XONE(__COUNTER__)
#define XONE(n) YONE(n)
#define YONE(n) char __attribute__((used, section(".s" #n))) v##n = 1;
#define T2 ONE ONE
#define T4 T2 T2
#define T8 T4 T4
#define T16 T8 T8
#define T32 T16 T16
#define T64 T32 T32
#define T128 T64 T64
#define T256 T128 T128
#define T512 T256 T256
#define T1K T512 T512
#define T2K T1K T1K
#define T4K T2K T2K
#define T8K T4K T4K
#define T16K T8K T8K
#define T32K T16K T16K
#define T64K T32K T32K
T64K
T16K
