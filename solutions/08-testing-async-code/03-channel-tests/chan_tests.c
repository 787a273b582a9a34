/* chan_tests.c - tests for chan.h (exercise 08.3): callbacks record each
 * ending in a log (which operation, how, which item), the loop runs, and
 * the tests assert on that log, on chan_len and on what is left behind.
 */
#include "chan.h"
#include "wbtest.h"

#include <stdint.h>

/* The log of endings, in the order the callbacks ran. Items and args are
 * small numbers cast to pointers. */
#define LOG 32
static struct ending {
  char kind; /* 'p' a put, 'g' a get */
  int status;
  intptr_t item, who;
} seen[LOG];
static int nseen;

static void put_done(struct ev_loop *loop, int status, void *arg) {
  (void)loop;
  if (nseen < LOG)
    seen[nseen++] = (struct ending){'p', status, 0, (intptr_t)arg};
}

static void get_done(struct ev_loop *loop, int status, void *item, void *arg) {
  (void)loop;
  if (nseen < LOG)
    seen[nseen++] = (struct ending){'g', status, (intptr_t)item, (intptr_t)arg};
}

static void put(chan_t *c, intptr_t item) {
  ck_assert_int_eq(chan_put(c, (void *)item, put_done, (void *)item), 0);
}

static void get(chan_t *c, intptr_t who) {
  ck_assert_int_eq(chan_get(c, get_done, (void *)who), 0);
}

/* The log entry of the get made by `who`, or NULL. */
static const struct ending *get_of(intptr_t who) {
  for (int i = 0; i < nseen; i++)
    if (seen[i].kind == 'g' && seen[i].who == who)
      return &seen[i];
  return NULL;
}

static int puts_ended(int status) {
  int n = 0;
  for (int i = 0; i < nseen; i++)
    n += seen[i].kind == 'p' && seen[i].status == status;
  return n;
}

WB_TEST(callbacks_come_from_the_loop, 1) {
  chan_t *c = chan_new(wb_loop(), 4);
  ck_assert_ptr_nonnull(c);
  put(c, 1);
  ck_assert_int_eq(nseen, 0); /* room: taken, but the callback comes later */
  ck_assert_uint_eq(chan_len(c), 1);
  get(c, 100);
  ck_assert_int_eq(nseen, 0);
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(nseen, 2);
  ck_assert_int_eq(puts_ended(CHAN_OK), 1);
  ck_assert_int_eq(get_of(100)->item, 1);
  chan_free(c);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(items_come_out_first_in_first_out, 1) {
  chan_t *c = chan_new(wb_loop(), 4);
  ck_assert_ptr_nonnull(c);
  for (intptr_t i = 1; i <= 4; i++)
    put(c, i);
  for (intptr_t g = 100; g < 104; g++)
    get(c, g);
  wb_run(wb_loop(), 1000);
  for (intptr_t g = 100; g < 104; g++) {
    ck_assert_ptr_nonnull(get_of(g));
    ck_assert_int_eq(get_of(g)->item, g - 99);
  }
  chan_free(c);
}
END_TEST

WB_TEST(a_full_channel_makes_put_wait, 1) {
  chan_t *c = chan_new(wb_loop(), 2);
  ck_assert_ptr_nonnull(c);
  put(c, 1);
  put(c, 2);
  put(c, 3);
  put(c, 4);
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(puts_ended(CHAN_OK), 2); /* 3 and 4 still wait */
  ck_assert_uint_eq(chan_len(c), 2);
  get(c, 100);
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(get_of(100)->item, 1);
  ck_assert_int_eq(puts_ended(CHAN_OK), 3); /* 3 was let in, not 4 */
  ck_assert_int_eq(seen[nseen - 1].kind, 'p');
  ck_assert_int_eq(seen[nseen - 1].who, 3);
  ck_assert_uint_eq(chan_len(c), 2);
  chan_close(c);
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(puts_ended(CHAN_CLOSED), 1); /* 4 */
  chan_free(c);
}
END_TEST

WB_TEST(a_get_waits_for_a_put, 1) {
  chan_t *c = chan_new(wb_loop(), 1);
  ck_assert_ptr_nonnull(c);
  get(c, 100);
  get(c, 101);
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(nseen, 0);
  put(c, 7);
  put(c, 8);
  ck_assert_int_eq(nseen, 0);
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(get_of(100)->item, 7); /* in the order they asked */
  ck_assert_int_eq(get_of(101)->item, 8);
  ck_assert_int_eq(puts_ended(CHAN_OK), 2);
  ck_assert_uint_eq(chan_len(c), 0);
  chan_free(c);
}
END_TEST

WB_TEST(close_ends_every_waiter, 1) {
  chan_t *c = chan_new(wb_loop(), 1);
  ck_assert_ptr_nonnull(c);
  get(c, 100);
  get(c, 101);
  wb_run(wb_loop(), 1000);
  chan_close(c);
  ck_assert_int_eq(nseen, 0);
  put(c, 5); /* too late */
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(nseen, 3);
  ck_assert_int_eq(get_of(100)->status, CHAN_CLOSED);
  ck_assert_int_eq(get_of(101)->status, CHAN_CLOSED);
  ck_assert_int_eq(puts_ended(CHAN_CLOSED), 1);
  ck_assert_uint_eq(chan_len(c), 0);
  chan_free(c);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(a_closed_channel_still_hands_out_its_items, 1) {
  chan_t *c = chan_new(wb_loop(), 2);
  ck_assert_ptr_nonnull(c);
  put(c, 1);
  put(c, 2);
  chan_close(c);
  chan_close(c);
  get(c, 100);
  get(c, 101);
  get(c, 102);
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(get_of(100)->status, CHAN_OK);
  ck_assert_int_eq(get_of(100)->item, 1);
  ck_assert_int_eq(get_of(101)->item, 2);
  ck_assert_int_eq(get_of(102)->status, CHAN_CLOSED);
  chan_free(c);
}
END_TEST

WB_TEST(out_of_memory_changes_nothing, 1) {
  for (unsigned n = 1;; n++) {
    wb_fail_alloc(n);
    chan_t *c = chan_new(wb_loop(), 2);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (c)
      chan_free(c);
    if (used < n)
      break;
  }
  chan_t *c = chan_new(wb_loop(), 1);
  ck_assert_ptr_nonnull(c);
  wb_fail_alloc(1);
  int rc = chan_put(c, (void *)1, put_done, NULL);
  wb_fail_alloc(0);
  ck_assert_int_eq(rc, -1);
  ck_assert_uint_eq(chan_len(c), 0);
  put(c, 2); /* the room is still there */
  get(c, 100);
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(nseen, 2);
  ck_assert_int_eq(get_of(100)->item, 2);
  chan_free(c);
}
END_TEST
