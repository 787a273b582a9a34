/* test_work_queue.c - the tests of exercise 07.2 and their points.
 * The test's process starts a timer per item (or finishes at once), and
 * every callback copies what it sees into static state, checked after the
 * loop has returned.
 */
#include "work_queue.h"
#include "wbtest.h"

#include <errno.h>

#define MAX_ITEMS 512

static work_queue_t *q;
static size_t maxsize;
static int duration_ms[MAX_ITEMS]; /* < 0: process finishes at once */

struct active {
  ev_timer timer;
  int item;
  wq_finish_fn finish;
  void *token;
};
static struct active act[MAX_ITEMS];

static int in_api;         /* the test is inside a wq_ call right now */
static int want_parallel;  /* > 0: that many items must have been in work at once */
static int sync_calls;     /* callbacks of the queue made from inside one */
static int in_process, reentered;
static int order[MAX_ITEMS], nprocessed, per_item[MAX_ITEMS];
static int in_progress, most_in_progress, nfinished;
static int accepted, too_full; /* items in the queue: accepted - nprocessed */
static int put_done_item[MAX_ITEMS], put_done_status[MAX_ITEMS], nput_done;
static int join_calls, join_status = 99, finished_at_join = -1;
static int closed_calls, finished_at_close = -1, processed_at_close = -1;

static void check_room(void) {
  if (accepted - nprocessed > (int)maxsize)
    too_full = accepted - nprocessed;
}

static void work_done_cb(struct ev_loop *loop, ev_timer *t, int revents) {
  struct active *a = (struct active *)t;
  (void)loop, (void)revents;
  in_progress--;
  nfinished++;
  a->finish(a->token);
}

static void process(struct ev_loop *loop, int item, void *arg,
                    wq_finish_fn finish, void *token) {
  (void)arg;
  if (in_api)
    sync_calls++;
  if (in_process)
    reentered++;
  in_process++;
  if (nprocessed < MAX_ITEMS)
    order[nprocessed] = item;
  nprocessed++;
  if (item >= 0 && item < MAX_ITEMS)
    per_item[item]++;
  if (++in_progress > most_in_progress)
    most_in_progress = in_progress;
  if (item < 0 || item >= MAX_ITEMS || duration_ms[item] < 0) {
    in_progress--;
    nfinished++;
    finish(token);
  } else {
    struct active *a = &act[item];
    a->item = item;
    a->finish = finish;
    a->token = token;
    ev_timer_init(&a->timer, work_done_cb, duration_ms[item] / 1000., 0.);
    ev_timer_start(loop, &a->timer);
  }
  in_process--;
}

static void put_done(struct ev_loop *loop, int status, void *arg) {
  (void)loop;
  if (in_api)
    sync_calls++;
  if (nput_done < MAX_ITEMS) {
    put_done_item[nput_done] = (int)(long)arg;
    put_done_status[nput_done] = status;
  }
  nput_done++;
  if (status == 0) {
    accepted++;
    check_room();
  }
}

static void join_done(struct ev_loop *loop, int status, void *arg) {
  (void)loop, (void)arg;
  if (in_api)
    sync_calls++;
  join_calls++;
  join_status = status;
  finished_at_join = nfinished;
}

static void closed(struct ev_loop *loop, int status, void *arg) {
  (void)loop, (void)status, (void)arg;
  if (in_api)
    sync_calls++;
  closed_calls++;
  finished_at_close = nfinished;
  processed_at_close = nprocessed;
  q = NULL; /* gone: nothing of it may stay reachable from here */
}

/* join_done, then close right away: the guide's join, then cancel. */
static void join_then_close(struct ev_loop *loop, int status, void *arg) {
  join_done(loop, status, arg);
  wq_close(q, closed, NULL);
}

static void make(size_t size, unsigned workers) {
  maxsize = size;
  in_api = 1;
  int rc = wq_new(&q, wb_loop(), size, workers, process, NULL);
  in_api = 0;
  ck_assert_msg(rc == 0 && q,
                "wq_new(&q, loop, %zu, %u, ...) returned %d; expected 0", size,
                workers, rc);
}

/* Puts item i with the given duration; returns what wq_put returned. */
static int put(int i, int ms) {
  duration_ms[i] = ms;
  in_api = 1;
  int rc = wq_put(q, i, put_done, (void *)(long)i);
  in_api = 0;
  ck_assert_msg(rc == 0 || rc == 1,
                "wq_put of item %d returned %d; expected 0 (in the queue) or "
                "1 (waiting: the queue is full)",
                i, rc);
  if (rc == 0) {
    accepted++;
    check_room();
  }
  return rc;
}

static void join_and_close(void) {
  in_api = 1;
  int rc = wq_join(q, join_then_close, NULL);
  in_api = 0;
  ck_assert_msg(rc == 0, "wq_join returned %d; expected 0", rc);
}

/* What every test checks once the loop has returned. */
static void assert_common(int nitems) {
  ck_assert_msg(sync_calls == 0,
                "a callback (process, put_done, join's done or closed) was "
                "called from inside wq_new, wq_put, wq_join or wq_close: they "
                "must all come from the loop, later");
  ck_assert_msg(reentered == 0,
                "process was called while another call of process was still "
                "running (from inside finish?): a worker takes its next "
                "item on the loop's next turn, not from inside finish");
  ck_assert_msg(too_full == 0,
                "the queue held %d items at one point, more than its maxsize "
                "of %zu: when it is full, wq_put must return 1 and keep the "
                "item waiting",
                too_full, maxsize);
  ck_assert_msg(!want_parallel || most_in_progress == want_parallel,
                "with %d workers and enough items to keep them busy, at "
                "most %d item%s in work at once; expected %d: every idle "
                "worker takes the next item, and each holds one at a time",
                want_parallel, most_in_progress,
                most_in_progress == 1 ? " was" : "s were", want_parallel);
  for (int i = 0; i < nitems && i < MAX_ITEMS; i++)
    ck_assert_msg(per_item[i] == 1,
                  "item %d was processed %d times; expected once", i,
                  per_item[i]);
}

static void assert_closed_cleanly(void) {
  wb_assert_calls(closed_calls, 1, "the closed callback");
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "after closed was called, %d watcher%s of the queue %s still "
                "active: stop it before you free the queue",
                wb_active_watchers(wb_loop()),
                wb_active_watchers(wb_loop()) == 1 ? "" : "s",
                wb_active_watchers(wb_loop()) == 1 ? "is" : "are");
  wb_assert_no_leaks();
}

WB_TEST(items_go_out_from_the_loop_oldest_first, 2) {
  make(10, 2);
  want_parallel = 2;
  for (int i = 0; i < 5; i++)
    ck_assert_msg(put(i, 20) == 0,
                  "wq_put returned 1 for item %d of a queue of 10", i);
  ck_assert_msg(nprocessed == 0,
                "process was called before the loop ran: workers take "
                "items from the loop, never from inside wq_put");
  join_and_close();
  wb_run(wb_loop(), 1000);
  assert_common(5);
  for (int i = 0; i < 5; i++)
    ck_assert_msg(order[i] == i,
                  "the workers took the items in the order %d %d %d %d %d; "
                  "expected 0 1 2 3 4 (oldest first)",
                  order[0], order[1], order[2], order[3], order[4]);
  wb_assert_calls(join_calls, 1, "join's done");
  assert_closed_cleanly();
}
END_TEST

WB_TEST(n_workers_at_once_never_more, 3) {
  make(10, 3);
  for (int i = 0; i < 9; i++)
    put(i, 40);
  join_and_close();
  wb_run(wb_loop(), 1500);
  assert_common(9);
  ck_assert_msg(most_in_progress == 3,
                "with 3 workers and 9 items of 40 ms, at most %d items were "
                "in work at once; expected 3: each worker takes an item as "
                "soon as it is idle, and a worker holds one item at a time",
                most_in_progress);
  for (int i = 0; i < 9; i++)
    ck_assert_msg(order[i] == i, "the items were taken out of order (item "
                  "%d was taken as number %d)", order[i], i);
  wb_assert_no_block(50);
  assert_closed_cleanly();
}
END_TEST

WB_TEST(workers_overlap, 2) {
  make(8, 4);
  for (int i = 0; i < 8; i++)
    put(i, 60);
  join_and_close();
  wb_run(wb_loop(), 1500);
  assert_common(8);
  ck_assert_msg(most_in_progress == 4,
                "with 4 workers, at most %d items were in work at once",
                most_in_progress);
  wb_assert_overlap(wb_elapsed_ms(), 60, 8);
  assert_closed_cleanly();
}
END_TEST

WB_TEST(put_waits_when_the_queue_is_full, 3) {
  make(2, 2);
  want_parallel = 2;
  ck_assert_msg(put(0, 30) == 0 && put(1, 30) == 0,
                "wq_put into an empty queue of 2 returned 1");
  ck_assert_msg(put(2, 30) == 1,
                "the queue (maxsize 2) held 2 items no worker had taken "
                "yet, and wq_put of a third returned 0; expected 1: the item "
                "waits for room");
  ck_assert_msg(put(3, 30) == 1, "a fourth wq_put into the full queue did not "
                "return 1");
  ck_assert_msg(nput_done == 0, "put_done was called before the loop ran");
  join_and_close();
  wb_run(wb_loop(), 1500);
  assert_common(4);
  ck_assert_msg(nput_done == 2,
                "put_done was called %d times for the 2 items that had to "
                "wait; expected once each",
                nput_done);
  ck_assert_msg(put_done_item[0] == 2 && put_done_item[1] == 3 &&
                    put_done_status[0] == 0 && put_done_status[1] == 0,
                "put_done came for items %d, %d (status %d, %d); expected 2, "
                "then 3, status 0: the oldest waiting item goes in first",
                put_done_item[0], put_done_item[1], put_done_status[0],
                put_done_status[1]);
  for (int i = 0; i < 4; i++)
    ck_assert_msg(order[i] == i,
                  "the workers took the items in the order %d %d %d %d; "
                  "expected 0 1 2 3",
                  order[0], order[1], order[2], order[3]);
  assert_closed_cleanly();
}
END_TEST

static int producer_next, producer_total;

static void produce(struct ev_loop *loop, int status, void *arg);

static int producer_put(int i) {
  duration_ms[i] = 5;
  in_api = 1;
  int rc = wq_put(q, i, produce, (void *)(long)i);
  in_api = 0;
  ck_assert_msg(rc == 0 || rc == 1, "wq_put of item %d returned %d", i, rc);
  if (rc == 0) {
    accepted++;
    check_room();
  }
  return rc;
}

/* A producer: it puts until wq_put says 1, then waits for put_done. */
static void produce(struct ev_loop *loop, int status, void *arg) {
  if (loop)
    put_done(loop, status, arg);
  while (producer_next < producer_total)
    if (producer_put(producer_next++) == 1)
      return;
  join_and_close();
}

WB_TEST(a_producer_is_held_back_by_a_small_queue, 2) {
  make(3, 2);
  want_parallel = 2;
  producer_total = 40;
  produce(NULL, 0, NULL);
  ck_assert_msg(producer_next == 4,
                "a queue of maxsize 3 took %d items before wq_put returned "
                "1; expected 3 (the fourth waits)",
                producer_next - 1);
  wb_run(wb_loop(), 1500);
  assert_common(40);
  ck_assert_msg(nput_done > 0 && producer_next == 40,
                "the producer got %d put_done calls and put %d of its 40 "
                "items",
                nput_done, producer_next);
  for (int i = 0; i < 40; i++)
    ck_assert_msg(order[i] == i, "the items were taken out of order (item "
                  "%d was taken as number %d)", order[i], i);
  ck_assert_msg(most_in_progress == 2,
                "with 2 workers, at most %d items were in work at once",
                most_in_progress);
  wb_assert_calls(join_calls, 1, "join's done");
  assert_closed_cleanly();
}
END_TEST

WB_TEST(join_comes_after_the_last_item, 3) {
  make(4, 2);
  want_parallel = 2;
  put(0, 60);
  put(1, 10);
  put(2, 30);
  put(3, 5);
  put(4, 20);
  in_api = 1;
  int rc = wq_join(q, join_done, NULL);
  in_api = 0;
  ck_assert_msg(rc == 0, "wq_join returned %d", rc);
  in_api = 1;
  rc = wq_join(q, join_done, NULL);
  in_api = 0;
  ck_assert_msg(rc == -EBUSY,
                "a second wq_join while the first waits returned %d; "
                "expected -EBUSY",
                rc);
  wb_run(wb_loop(), 1500);
  assert_common(5);
  wb_assert_calls(join_calls, 1, "join's done");
  ck_assert_msg(finished_at_join == 5 && join_status == 0,
                "join's done was called when %d of the 5 items had been "
                "finished (status %d); expected after the last one, status 0",
                finished_at_join, join_status);
  in_api = 1;
  wq_close(q, closed, NULL);
  in_api = 0;
  wb_run(wb_loop(), 500);
  assert_closed_cleanly();
}
END_TEST

WB_TEST(join_with_nothing_left_comes_from_the_loop, 1) {
  make(2, 2);
  join_and_close();
  ck_assert_msg(join_calls == 0,
                "wq_join on an empty queue called done at once: it must come "
                "from the loop, later");
  wb_run(wb_loop(), 500);
  wb_assert_calls(join_calls, 1, "join's done (nothing was put)");
  ck_assert_msg(join_status == 0, "join's done got status %d; expected 0",
                join_status);
  assert_common(0);
  assert_closed_cleanly();
}
END_TEST

WB_TEST(process_that_finishes_at_once, 2) {
  make(400, 2);
  for (int i = 0; i < 300; i++)
    put(i, -1);
  join_and_close();
  wb_run(wb_loop(), 1500);
  assert_common(300);
  ck_assert_msg(nfinished == 300 && finished_at_join == 300,
                "process finished each item from inside itself; %d of 300 "
                "were processed, and join's done came after %d",
                nfinished, finished_at_join);
  assert_closed_cleanly();
}
END_TEST

WB_TEST(an_idle_queue_lets_the_loop_end, 2) {
  make(4, 2);
  want_parallel = 2;
  wb_run(wb_loop(), 500); /* nothing put: returns at once */
  put(0, 10);
  put(1, 10);
  wb_run(wb_loop(), 500); /* returns when both are finished */
  ck_assert_msg(nfinished == 2, "only %d of 2 items were finished", nfinished);
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "the queue is idle, but %d watcher%s of it %s still active: "
                "an idle queue keeps nothing running",
                wb_active_watchers(wb_loop()),
                wb_active_watchers(wb_loop()) == 1 ? "" : "s",
                wb_active_watchers(wb_loop()) == 1 ? "is" : "are");
  put(2, 0);
  wb_run(wb_loop(), 500);
  ck_assert_msg(per_item[2] == 1, "an item put after an idle spell was not "
                "processed");
  join_and_close();
  wb_run(wb_loop(), 500);
  assert_common(3);
  assert_closed_cleanly();
}
END_TEST

static void close_now_cb(struct ev_loop *loop, ev_timer *t, int revents) {
  (void)loop, (void)t, (void)revents;
  in_api = 1;
  wq_close(q, closed, NULL);
  in_api = 0;
  ck_assert_msg(closed_calls == 0,
                "wq_close called closed from inside itself while a worker "
                "was busy");
}

WB_TEST(close_drops_what_is_not_started, 3) {
  static ev_timer close_timer;
  make(2, 2);
  want_parallel = 2;
  put(0, 120);
  put(1, 120);
  for (int i = 2; i < 6; i++)
    ck_assert_msg(put(i, 10) == 1, "wq_put of item %d into a full queue "
                  "did not return 1", i);
  in_api = 1;
  wq_join(q, join_done, NULL);
  in_api = 0;
  ev_timer_init(&close_timer, close_now_cb, 0.04, 0.);
  ev_timer_start(wb_loop(), &close_timer);
  wb_run(wb_loop(), 1500);
  assert_common(2);
  ck_assert_msg(nprocessed == 2,
                "%d items were processed; expected only items 0 and 1, which "
                "were in work when wq_close was called: the queued items and "
                "the waiting ones are dropped",
                nprocessed);
  /* 2 and 3 went in when 0 and 1 were taken; 4 and 5 were still waiting. */
  ck_assert_msg(nput_done == 4 && put_done_item[2] == 4 &&
                    put_done_item[3] == 5 &&
                    put_done_status[2] == -ECANCELED &&
                    put_done_status[3] == -ECANCELED,
                "the items still waiting when wq_close was called got %d "
                "put_done call(s) in all (the 4 waiting items: 2 and 3 went "
                "in, 4 and 5 were dropped); the last two were for items %d, "
                "%d with status %d, %d; expected 4 and 5, each once, with "
                "-ECANCELED",
                nput_done, put_done_item[2], put_done_item[3],
                put_done_status[2], put_done_status[3]);
  wb_assert_calls(join_calls, 1, "join's done");
  ck_assert_msg(join_status == -ECANCELED,
                "join's done got status %d after wq_close dropped items; "
                "expected -ECANCELED",
                join_status);
  ck_assert_msg(finished_at_close == 2,
                "closed was called when %d item(s) had finished; expected "
                "after items 0 and 1, the ones in work, had finished",
                finished_at_close);
  assert_closed_cleanly();
}
END_TEST

WB_TEST(close_of_an_idle_queue, 1) {
  make(3, 3);
  in_api = 1;
  wq_close(q, NULL, NULL); /* closed may be NULL */
  in_api = 0;
  q = NULL;
  wb_run(wb_loop(), 500);
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "after wq_close of an idle queue a watcher is still active");
  wb_assert_no_leaks();
  make(3, 3);
  put(0, 10);
  in_api = 1;
  wq_close(q, closed, NULL);
  in_api = 0;
  ck_assert_msg(closed_calls == 0, "closed was called from inside wq_close");
  wb_run(wb_loop(), 500);
  ck_assert_msg(nprocessed == 0,
                "an item put before wq_close, and never taken by a worker, "
                "was processed after wq_close");
  assert_closed_cleanly();
}
END_TEST

static int put_after_close_rc = 99, join_after_close_rc = 99;

static void try_after_close(struct ev_loop *loop, int status, void *arg) {
  join_done(loop, status, arg);
  wq_close(q, closed, NULL);
  put_after_close_rc = wq_put(q, 7, put_done, NULL);
  join_after_close_rc = wq_join(q, join_done, NULL);
}

WB_TEST(put_and_join_after_close_fail, 1) {
  make(2, 1);
  put(0, 5);
  in_api = 1;
  wq_join(q, try_after_close, NULL);
  in_api = 0;
  wb_run(wb_loop(), 500);
  ck_assert_msg(put_after_close_rc == -EPIPE && join_after_close_rc == -EPIPE,
                "after wq_close, wq_put returned %d and wq_join %d; expected "
                "-EPIPE (%d) for both",
                put_after_close_rc, join_after_close_rc, -EPIPE);
  ck_assert_msg(per_item[7] == 0, "an item put after wq_close was processed");
  assert_closed_cleanly();
}
END_TEST

WB_TEST(zero_size_or_workers_is_einval, 1) {
  work_queue_t *x = NULL;
  int a = wq_new(&x, wb_loop(), 0, 2, process, NULL);
  int b = wq_new(&x, wb_loop(), 2, 0, process, NULL);
  ck_assert_msg(a == -EINVAL && b == -EINVAL,
                "wq_new with maxsize 0 returned %d, with 0 workers %d; "
                "expected -EINVAL (%d) for both",
                a, b, -EINVAL);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(out_of_memory_leaves_nothing, 2) {
  for (unsigned k = 1;; k++) {
    work_queue_t *x = NULL;
    wb_fail_alloc(k);
    int rc = wq_new(&x, wb_loop(), 2, 2, process, NULL);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < k) {
      ck_assert_msg(rc == 0, "wq_new returned %d", rc);
      q = x;
      break;
    }
    ck_assert_msg(rc == -ENOMEM,
                  "allocation number %u of wq_new failed, and it returned %d; "
                  "expected -ENOMEM (%d)",
                  k, rc, -ENOMEM);
  }
  maxsize = 2;
  want_parallel = 2;
  put(0, 20);
  put(1, 20);
  wb_fail_alloc(1);
  int rc = wq_put(q, 2, put_done, (void *)2L);
  unsigned used = wb_allocs();
  wb_fail_alloc(0);
  if (used > 0)
    ck_assert_msg(rc == -ENOMEM,
                  "wq_put into a full queue could not allocate, and it "
                  "returned %d; expected -ENOMEM",
                  rc);
  else if (rc == 0 || rc == 1)
    accepted += rc == 0;
  join_and_close();
  wb_run(wb_loop(), 1000);
  if (used > 0) {
    ck_assert_msg(per_item[2] == 0 && nput_done == 0,
                  "the item whose wq_put failed was processed or reported");
    ck_assert_msg(join_calls == 1 && finished_at_join == 2,
                  "after a failed wq_put, join's done came %d time(s), after "
                  "%d finished items; expected once, after 2: an item that "
                  "was never put is not waited for",
                  join_calls, finished_at_join);
  }
  assert_common(2);
  assert_closed_cleanly();
}
END_TEST
