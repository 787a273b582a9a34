/* chan_tests.c - your tests for chan.h (exercise 08.3). Each test gets a
 * fresh loop, wb_loop(); see grader/support/wbtest.h for the rest.
 */
#include "chan.h"
#include "wbtest.h"

#include <stdint.h>

/* What the callbacks saw. Items are small numbers cast to pointers. */
static int puts_ok, gets_ok;
static intptr_t last_item;

static void put_done(struct ev_loop *loop, int status, void *arg) {
  (void)loop, (void)arg;
  puts_ok += status == CHAN_OK;
}

static void get_done(struct ev_loop *loop, int status, void *item, void *arg) {
  (void)loop, (void)arg;
  gets_ok += status == CHAN_OK;
  last_item = (intptr_t)item;
}

/* An example: one item in, the same item out. It passes on a correct
 * implementation, and catches none of the broken ones. */
WB_TEST(one_item_goes_through, 1) {
  chan_t *c = chan_new(wb_loop(), 1);
  ck_assert_ptr_nonnull(c);
  ck_assert_int_eq(chan_put(c, (void *)42, put_done, NULL), 0);
  ck_assert_int_eq(chan_get(c, get_done, NULL), 0);
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(puts_ok, 1);
  ck_assert_int_eq(gets_ok, 1);
  ck_assert_int_eq(last_item, 42);
  chan_free(c);
}
END_TEST

/* TODO: write the tests that hold chan.h to each of its promises; the
 * README's "What your tests must catch" says what can go wrong.
 *   - When may a callback run, and when must it not have run yet?
 *   - Order: several items, several waiting gets, several waiting puts.
 *     A log of every ending (which operation, which status, which item),
 *     kept by your callbacks, lets a test check all of it afterwards.
 *   - The bound: fill the channel and go on putting. What does chan_len
 *     say, which puts have ended, and which one is let in by a get?
 *   - An empty channel: gets that wait, then puts.
 *   - chan_close: with gets waiting, with puts waiting, with items still
 *     in the channel; puts and gets after it.
 *   - Memory running out (wb_fail_alloc): -1, and nothing changed.
 *   - What is left (chan_free, then wb_assert_no_leaks; the sanitizer
 *     build reports leaks).
 * Never sleep to wait for something: run the loop with wb_run. */
