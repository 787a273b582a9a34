/* test_bounded_stream.c - the tests of exercise 05.2 and their points.
 * The producer counts its calls and checks, at each one, how many items
 * the stream already holds; consumers take at their own pace.
 */
#include "bounded_stream.h"
#include "wbtest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- The producer: 0, 1, 2, ... up to `limit` items ----------------------- */

struct gen {
  int limit;    /* items it makes before it returns 0 */
  int made;     /* items made */
  int calls;    /* calls, the one that returned 0 included */
  int after_end; /* calls after it had returned 0 */
  int most_held; /* the most items the stream held, each new one included */
  int inside;   /* calls made while the test was inside bstream_new/take */
};

static struct gen gen;
static int taken;   /* items handed to the consumer */
static int in_call; /* 1 while the test is inside bstream_new or bstream_take */

static int produce(void *ctx, int *item) {
  struct gen *g = ctx;
  g->calls++;
  if (in_call)
    g->inside++;
  if (g->made >= g->limit) {
    if (g->calls > g->made + 1)
      g->after_end++;
    return 0;
  }
  *item = g->made++;
  if (g->made - taken > g->most_held) /* held, this item included */
    g->most_held = g->made - taken;
  return 1;
}

/* ---- The consumer ------------------------------------------------------- */

#define MAXGOT 256
static int got[MAXGOT], ngot, nends, sync_calls, wrong_arg, out_of_order;
static int ask_again = 1;   /* the callback takes the next item at once */
static int free_at = -1;    /* the callback frees the stream at this many items */
static bstream_t *stream;
static int token;

static void collect_cb(struct ev_loop *loop, bstream_t *s, int item,
                       int status, void *arg);

static int take(bstream_t *s) {
  in_call++;
  int rc = bstream_take(s, collect_cb, &token);
  in_call--;
  return rc;
}

static void collect_cb(struct ev_loop *loop, bstream_t *s, int item,
                       int status, void *arg) {
  (void)loop;
  if (in_call)
    sync_calls++;
  if (arg != &token)
    wrong_arg++;
  if (status == 0) {
    nends++;
    return;
  }
  if (item != ngot)
    out_of_order++;
  if (ngot < MAXGOT)
    got[ngot] = item;
  ngot++;
  taken++;
  if (free_at >= 0 && ngot >= free_at) {
    bstream_free(s);
    stream = NULL;
    return;
  }
  if (ask_again)
    ck_assert_msg(take(s) == 0,
                  "bstream_take, called from the callback right after an "
                  "item, did not return 0: a take counts as answered once "
                  "its callback runs");
}

static void start(unsigned bound, unsigned period_ms, int limit) {
  memset(&gen, 0, sizeof gen);
  gen.limit = limit;
  taken = ngot = nends = sync_calls = wrong_arg = out_of_order = 0;
  in_call = 1;
  int rc = bstream_new(&stream, wb_loop(), bound, period_ms, produce, &gen);
  in_call = 0;
  ck_assert_msg(rc == 0, "bstream_new returned %d for valid arguments", rc);
}

static const char *got_text(void) {
  static char buf[400];
  size_t used = 0;
  buf[0] = 0;
  for (int i = 0; i < ngot && i < MAXGOT && used < sizeof buf - 20; i++)
    used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%d",
                             i ? ", " : "", got[i]);
  return ngot ? buf : "nothing";
}

/* Every one of `n` items once, in order, then the end once. */
static void expect_all(int n, const char *how) {
  ck_assert_msg(out_of_order == 0 && ngot == n,
                "%s: the consumer should get 0, 1, ..., %d, each once and in "
                "order; it got %s",
                how, n - 1, got_text());
  ck_assert_msg(nends == 1,
                "%s: after the last item the end (status 0) should come "
                "once; it came %d times",
                how, nends);
  ck_assert_msg(sync_calls == 0 && gen.inside == 0,
                "%s: a callback or a call of produce happened inside "
                "bstream_new or bstream_take; both must come from the loop",
                how);
  ck_assert_msg(wrong_arg == 0,
                "%s: the callback got another arg than the one given to "
                "bstream_take",
                how);
  ck_assert_msg(gen.after_end == 0,
                "%s: produce was called again after it had returned 0", how);
}

/* ---- A slow consumer: takes one item every `ms` milliseconds -------------- */

struct slow {
  ev_timer timer;
};

static void slow_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  if (!stream || nends) {
    ev_timer_stop(loop, w);
    return;
  }
  (void)take(stream); /* -EBUSY: the last take is not answered yet */
}

static void slow_start(struct slow *sl, unsigned ms) {
  ask_again = 0;
  ev_timer_init(&sl->timer, slow_cb, ms / 1000., ms / 1000.);
  ev_timer_start(wb_loop(), &sl->timer);
}

/* ---- The tests ----------------------------------------------------------- */

WB_TEST(items_in_order_then_the_end, 2) {
  struct slow sl;
  start(2, 1, 10);
  slow_start(&sl, 5);
  wb_run(wb_loop(), 1000);
  wb_assert_no_block(50);
  expect_all(10, "10 items, bound 2, a consumer taking every 5 ms");
  bstream_free(stream);
  stream = NULL;
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(buffer_never_exceeds_its_bound, 3) {
  struct slow sl;
  start(3, 1, 8);
  slow_start(&sl, 30);
  wb_run(wb_loop(), 1500);
  wb_assert_no_block(50);
  ck_assert_msg(gen.most_held <= 3,
                "with bound 3, the stream held %d items at once: when the "
                "buffer is full the producer must pause",
                gen.most_held);
  expect_all(8, "8 items, bound 3, a consumer taking every 30 ms");
  ck_assert_msg(gen.most_held == 3,
                "the producer (every 1 ms) never got ahead of the consumer "
                "(every 30 ms) by 3 items: it should fill the buffer while "
                "the consumer is slow, not wait to be asked");
  bstream_free(stream);
  stream = NULL;
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(fills_the_buffer_then_pauses, 2) {
  start(3, 1, 100);
  ck_assert_msg(gen.calls == 0,
                "bstream_new called produce before it returned: the first "
                "item comes from the loop, one period later");
  wb_run(wb_loop(), 500);
  ck_assert_msg(gen.made == 3,
                "nobody took anything from a stream with bound 3, yet the "
                "producer made %d items: it must run by itself up to the "
                "bound, then pause",
                gen.made);
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "the buffer is full, but the stream still has %d active "
                "watcher(s): a paused producer keeps nothing started, so the "
                "loop can return",
                wb_active_watchers(wb_loop()));
  bstream_free(stream);
  stream = NULL;
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(resumes_when_a_take_makes_room, 2) {
  start(3, 1, 100);
  wb_run(wb_loop(), 500);
  ask_again = 0;
  for (int i = 0; i < 3; i++) {
    ck_assert(take(stream) == 0);
    wb_run(wb_loop(), 500);
    ck_assert_msg(ngot == i + 1 && got[i] == i,
                  "after %d take(s), the consumer got %s", i + 1, got_text());
    ck_assert_msg(gen.made == 4 + i,
                  "a full stream (bound 3) paused, then a take made room: "
                  "the producer should resume and make exactly one more item "
                  "before it pauses again; %d items were made after %d "
                  "take(s), expected %d",
                  gen.made, i + 1, 4 + i);
    ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                  "the buffer is full again, but %d watcher(s) are still "
                  "active",
                  wb_active_watchers(wb_loop()));
  }
  ck_assert_msg(sync_calls == 0 && gen.inside == 0,
                "a callback or a call of produce happened inside bstream_take");
  bstream_free(stream);
  stream = NULL;
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(never_calls_back_before_take_returns, 2) {
  start(2, 1, 4);
  wb_run(wb_loop(), 500); /* two items wait in the buffer */
  ask_again = 0;
  ck_assert(take(stream) == 0);
  ck_assert_msg(ngot == 0, "bstream_take called back before it returned, "
                           "with an item from the buffer: the answer must "
                           "come from the loop");
  wb_run(wb_loop(), 500);
  ask_again = 1;
  ck_assert(take(stream) == 0);
  wb_run(wb_loop(), 1000);
  expect_all(4, "items taken from a full buffer");
  bstream_free(stream);
  stream = NULL;
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(waits_for_a_slow_producer, 1) {
  ask_again = 1;
  start(4, 10, 5);
  ck_assert(take(stream) == 0);
  wb_run(wb_loop(), 1000);
  wb_assert_no_block(50);
  expect_all(5, "5 items every 10 ms, the consumer always waiting");
  bstream_free(stream);
  stream = NULL;
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(the_end_comes_after_the_last_item, 1) {
  start(6, 1, 5);
  wb_run(wb_loop(), 500); /* all 5 made: the generator has returned */
  ck_assert_msg(gen.made == 5, "the producer made %d items of 5", gen.made);
  ask_again = 1;
  ck_assert(take(stream) == 0);
  wb_run(wb_loop(), 500);
  expect_all(5, "5 items made before the first take");
  bstream_free(stream);
  start(3, 1, 5);
  wb_run(wb_loop(), 500); /* it pauses at 3; the generator has 2 more */
  ck_assert(take(stream) == 0);
  wb_run(wb_loop(), 500);
  expect_all(5, "5 items, bound 3, taken after the buffer was full");
  bstream_free(stream);
  start(3, 1, 0);
  bstream_t *empty = stream;
  ck_assert(take(empty) == 0);
  wb_run(wb_loop(), 500);
  expect_all(0, "a generator with no items");
  bstream_free(empty);
  stream = NULL;
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(busy_and_after_the_end, 1) {
  start(2, 1, 1);
  ask_again = 0;
  ck_assert(take(stream) == 0);
  int rc = take(stream);
  ck_assert_msg(rc == -EBUSY,
                "a second bstream_take before the first is answered returned "
                "%d; it must return -EBUSY (%d)",
                rc, -EBUSY);
  wb_run(wb_loop(), 500);
  ck_assert_msg(ngot == 1 && nends == 0,
                "two takes, the second refused: expected one item, got %s "
                "and %d end(s)",
                got_text(), nends);
  ck_assert(take(stream) == 0);
  wb_run(wb_loop(), 500);
  ck_assert_msg(nends == 1, "the end did not come after the last item");
  rc = take(stream);
  ck_assert_msg(rc == -EPIPE,
                "bstream_take after the end returned %d; it must return "
                "-EPIPE (%d)",
                rc, -EPIPE);
  wb_run(wb_loop(), 500);
  ck_assert_msg(nends == 1 && ngot == 1, "after the end, the callback was "
                                         "called again");
  bstream_free(stream);
  stream = NULL;
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(free_cleans_up_on_every_path, 2) {
  /* while the producer runs, a take pending */
  start(4, 5, 100);
  ask_again = 0;
  ck_assert(take(stream) == 0);
  bstream_free(stream);
  stream = NULL;
  int calls = gen.calls;
  wb_run(wb_loop(), 500);
  ck_assert_msg(ngot + nends == 0,
                "bstream_free dropped a pending take, but its callback ran");
  ck_assert_msg(gen.calls == calls,
                "produce was called after bstream_free");
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "bstream_free left %d watcher(s) active",
                wb_active_watchers(wb_loop()));
  /* full, with items in the buffer */
  start(3, 1, 100);
  wb_run(wb_loop(), 500);
  bstream_free(stream);
  stream = NULL;
  /* from inside the callback, the producer running */
  start(4, 1, 100);
  ask_again = 1;
  free_at = 3;
  ck_assert(take(stream) == 0);
  wb_run(wb_loop(), 500);
  ck_assert_msg(ngot == 3 && stream == NULL,
                "the callback freed the stream at the third item, yet %d "
                "items came",
                ngot);
  free_at = -1;
  bstream_free(NULL);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(out_of_memory_returns_enomem, 1) {
  for (unsigned n = 1;; n++) {
    bstream_t *s = (bstream_t *)&token;
    memset(&gen, 0, sizeof gen);
    gen.limit = 3;
    wb_fail_alloc(n);
    int rc = bstream_new(&s, wb_loop(), 2, 1, produce, &gen);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < n) {
      ck_assert_msg(rc == 0, "bstream_new returned %d with memory to spare",
                    rc);
      stream = s;
      break;
    }
    ck_assert_msg(rc == -ENOMEM,
                  "allocation %u of bstream_new failed, and it returned %d "
                  "instead of -ENOMEM (%d)",
                  n, rc, -ENOMEM);
    ck_assert_msg(s == (bstream_t *)&token,
                  "bstream_new failed but changed *out");
    ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                  "bstream_new failed but left a watcher started");
    wb_run(wb_loop(), 200);
    ck_assert_msg(gen.calls == 0, "bstream_new failed, yet produce was "
                                  "called later");
  }
  taken = ngot = nends = 0;
  wb_run(wb_loop(), 500); /* full: 2 items, 1 more to come */
  ask_again = 1;
  ck_assert(take(stream) == 0);
  wb_run(wb_loop(), 500);
  expect_all(3, "a stream made after failed allocations");
  bstream_free(stream);
  stream = NULL;
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(bad_arguments_are_refused, 1) {
  bstream_t *s = (bstream_t *)&token;
  ck_assert_msg(bstream_new(NULL, wb_loop(), 2, 1, produce, &gen) == -EINVAL,
                "bstream_new with out == NULL must return -EINVAL");
  ck_assert_msg(bstream_new(&s, NULL, 2, 1, produce, &gen) == -EINVAL,
                "bstream_new with loop == NULL must return -EINVAL");
  ck_assert_msg(bstream_new(&s, wb_loop(), 2, 1, NULL, &gen) == -EINVAL,
                "bstream_new with produce == NULL must return -EINVAL");
  ck_assert_msg(bstream_new(&s, wb_loop(), 0, 1, produce, &gen) == -EINVAL,
                "bstream_new with bound 0 must return -EINVAL");
  ck_assert_msg(bstream_new(&s, wb_loop(), 2, 0, produce, &gen) == -EINVAL,
                "bstream_new with period_ms 0 must return -EINVAL");
  ck_assert_msg(s == (bstream_t *)&token,
                "bstream_new refused its arguments but changed *out");
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "bstream_new refused its arguments but started a watcher");
  wb_assert_no_leaks();
}
END_TEST
