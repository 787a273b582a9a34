/* expect: score 0, report "a name the linker keeps for itself" */
/* Defines the bounds the runner iterates (__start/__stop_wb_tests) around
 * tests of its own: no "wb_tests" section needed. */
#include "async_sleep.h"
#include <check.h>
static void empty(int i) { (void)i; }
#define FT(name) const TTest fk_##name = {#name, empty, "async_sleep.c", 1};
FT(returns_at_once_and_calls_back_once)
FT(waits_at_least_the_delay)
FT(passes_arg_and_wakes_in_delay_order)
FT(many_sleeps_overlap_without_blocking)
FT(leaves_nothing_behind)
#define E(name) ".quad fk_" #name "\n.long 2\n.long 0\n"
__asm__(".pushsection .data.rel.ro.fk,\"aw\"\n.balign 8\n"
        ".globl __start_wb_tests\n__start_wb_tests:\n"
        E(returns_at_once_and_calls_back_once) E(waits_at_least_the_delay)
        E(passes_arg_and_wakes_in_delay_order) E(many_sleeps_overlap_without_blocking)
        E(leaves_nothing_behind)
        ".globl __stop_wb_tests\n__stop_wb_tests:\n.popsection\n");
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  return -1;
}
