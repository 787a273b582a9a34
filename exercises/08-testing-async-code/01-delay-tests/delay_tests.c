/* delay_tests.c - your tests for delay.h (exercise 08.1). Each test gets a
 * fresh loop, wb_loop(); see grader/support/wbtest.h for what else a test
 * may use (wb_run, wb_fail_alloc, wb_assert_no_leaks...).
 */
#include "delay.h"
#include "wbtest.h"

#include <stddef.h>

/* What the callback saw: it only records, the test asserts afterwards. */
static int calls, last_status = -1;

static void record(struct ev_loop *loop, int status, void *arg) {
  (void)loop, (void)arg;
  calls++;
  last_status = status;
}

/* An example: a delay of 100 ms ends, and says so. It passes on a correct
 * implementation, and catches none of the broken ones. */
WB_TEST(a_delay_ends, 1) {
  delay_t *d = delay_start(wb_loop(), 100, record, NULL);
  ck_assert_ptr_nonnull(d);
  wb_run(wb_loop(), 1000);
  ck_assert_int_ge(calls, 1);
  ck_assert_int_eq(last_status, DELAY_DONE);
}
END_TEST

/* TODO: write the tests that hold delay.h to each of its promises. Think
 * of the README's list "What your tests must catch", and for each promise
 * ask what a test must do to see it broken:
 *   - when must the callback not have run yet, and how many times must it
 *     have run once the loop is over? With which status, arg and loop?
 *   - the boundary: a delay of 0;
 *   - time, as a fact with no upper bound (never before the delay), and
 *     several delays at once (order, overlap, a loop never held);
 *   - delay_cancel: before the loop runs, and from inside the running loop
 *     (a 0 ms timer makes that happen on cue); what happens after it;
 *   - what is left behind (wb_assert_no_leaks, wb_active_watchers; the
 *     sanitizer build reports leaks and use after free for you);
 *   - memory running out (wb_fail_alloc, wb_allocs).
 * Never sleep to wait for something: run the loop with wb_run. */
