/* test_wait_tasks.c - the tests of exercise 03.2 and their points.
 * The callback copies the done and pending sets into static state and, on
 * request, cancels the pending tasks or frees the wait.
 */
#include "wait_tasks.h"
#include "wbtest.h"

#include <stdio.h>

#define MAXN 8

static int inside;         /* 1 while the test is inside wt_wait_start */
static int calls, called_inside, timed_out_seen = -1;
static size_t done_idx[MAXN], ndone = 99, pending_idx[MAXN], npending = 99;
static enum wt_status status_seen[MAXN];
static int cancel_in_cb, free_in_cb;
static size_t cancelled = 99;
static int active_after_cancel = -1;
static size_t nspecs;

static void on_wait(struct ev_loop *loop, wt_wait_t *w, int timed_out,
                    void *arg) {
  (void)arg;
  calls++;
  called_inside += inside;
  timed_out_seen = timed_out;
  ndone = wt_done(w, done_idx);
  npending = wt_pending(w, pending_idx);
  for (size_t i = 0; i < nspecs; i++)
    status_seen[i] = wt_status(w, i);
  if (cancel_in_cb) {
    cancelled = wt_cancel_pending(w);
    active_after_cancel = wb_active_watchers(loop);
  }
  if (free_in_cb)
    wt_free(w);
}

static wt_wait_t *start(const struct wt_spec *specs, size_t n, long timeout,
                        enum wt_return_when mode) {
  wt_wait_t *w = NULL;
  nspecs = n;
  inside = 1;
  int rc = wt_wait_start(wb_loop(), specs, n, timeout, mode, on_wait, NULL, &w);
  inside = 0;
  ck_assert_msg(rc == 0 && w, "wt_wait_start returned %d; expected 0", rc);
  ck_assert_msg(calls == 0,
                "the wait's callback ran inside wt_wait_start: it must come "
                "from the loop, later");
  return w;
}

static const char *sname(enum wt_status s) {
  return s == WT_PENDING ? "WT_PENDING" : s == WT_DONE ? "WT_DONE"
         : s == WT_FAILED ? "WT_FAILED" : s == WT_CANCELLED ? "WT_CANCELLED"
                                                            : "(not a status)";
}

static void assert_set(const char *what, const size_t *got, size_t ngot,
                       const size_t *want, size_t nwant) {
  int same = ngot == nwant;
  for (size_t i = 0; same && i < nwant; i++)
    same = got[i] == want[i];
  char g[64] = "", e[64] = "";
  for (size_t i = 0, o = 0; i < ngot && i < MAXN; i++)
    o += (size_t)snprintf(g + o, sizeof g - o, "%s%zu", i ? ", " : "", got[i]);
  for (size_t i = 0, o = 0; i < nwant; i++)
    o += (size_t)snprintf(e + o, sizeof e - o, "%s%zu", i ? ", " : "", want[i]);
  ck_assert_msg(same, "when the wait returned, the %s was {%s}; expected {%s}",
                what, g, e);
}

WB_TEST(first_completed_returns_with_the_first, 3) {
  static const struct wt_spec specs[] = {{60, 1}, {20, 2}, {40, 3}};
  wt_wait_t *w = start(specs, 3, WT_NO_TIMEOUT, WT_FIRST_COMPLETED);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls, 1, "the wait's callback");
  ck_assert_msg(timed_out_seen == 0, "timed_out was %d without a timeout",
                timed_out_seen);
  assert_set("done set", done_idx, ndone, (size_t[]){1}, 1);
  assert_set("pending set", pending_idx, npending, (size_t[]){0, 2}, 2);
  ck_assert_msg(status_seen[1] == WT_DONE && status_seen[0] == WT_PENDING,
                "when the wait returned, task 1 was %s and task 0 %s; "
                "expected WT_DONE and WT_PENDING",
                sname(status_seen[1]), sname(status_seen[0]));
  size_t all[MAXN];
  assert_set("done set, once the loop had run to the end,", all,
             wt_done(w, all), (size_t[]){1, 2, 0}, 3);
  wb_assert_no_block(50);
  wt_free(w);
}
END_TEST

WB_TEST(first_completed_counts_a_failure, 1) {
  static const struct wt_spec specs[] = {{40, 1}, {10, -5}};
  wt_wait_t *w = start(specs, 2, WT_NO_TIMEOUT, WT_FIRST_COMPLETED);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls, 1, "the wait's callback");
  assert_set("done set", done_idx, ndone, (size_t[]){1}, 1);
  ck_assert_msg(status_seen[1] == WT_FAILED,
                "task 1 ended with result -5 but its status was %s; "
                "expected WT_FAILED (a failed task has ended too)",
                sname(status_seen[1]));
  wt_free(w);
}
END_TEST

WB_TEST(first_exception_returns_at_the_first_failure, 2) {
  static const struct wt_spec specs[] = {{80, 3}, {30, -1}, {10, 1}};
  wt_wait_t *w = start(specs, 3, WT_NO_TIMEOUT, WT_FIRST_EXCEPTION);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls, 1, "the wait's callback");
  assert_set("done set", done_idx, ndone, (size_t[]){2, 1}, 2);
  assert_set("pending set", pending_idx, npending, (size_t[]){0}, 1);
  ck_assert_msg(status_seen[2] == WT_DONE && status_seen[1] == WT_FAILED,
                "tasks 2 and 1 were %s and %s; expected WT_DONE and "
                "WT_FAILED",
                sname(status_seen[2]), sname(status_seen[1]));
  wt_free(w);
}
END_TEST

WB_TEST(first_exception_without_failure_waits_for_all, 1) {
  static const struct wt_spec specs[] = {{30, 2}, {10, 1}};
  wt_wait_t *w = start(specs, 2, WT_NO_TIMEOUT, WT_FIRST_EXCEPTION);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls, 1, "the wait's callback");
  assert_set("done set", done_idx, ndone, (size_t[]){1, 0}, 2);
  wt_free(w);
}
END_TEST

WB_TEST(all_completed_waits_for_all, 2) {
  static const struct wt_spec specs[] = {{30, 1}, {10, -2}, {20, 3}};
  wt_wait_t *w = start(specs, 3, 1000, WT_ALL_COMPLETED);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls, 1, "the wait's callback");
  ck_assert_msg(timed_out_seen == 0,
                "timed_out was %d though every task ended before the "
                "timeout",
                timed_out_seen);
  assert_set("done set (in the order the tasks ended)", done_idx, ndone,
             (size_t[]){1, 2, 0}, 3);
  ck_assert_msg(npending == 0, "%zu tasks were pending; expected none",
                npending);
  wb_assert_no_block(50);
  wb_assert_overlap(wb_elapsed_ms(), 30, 3);
  wt_free(w);
}
END_TEST

WB_TEST(timeout_returns_what_is_done_and_cancel_stops_the_rest, 3) {
  static const struct wt_spec specs[] = {{400, 2}, {10, 1}, {600, 3}};
  cancel_in_cb = 1;
  wt_wait_t *w = start(specs, 3, 60, WT_ALL_COMPLETED);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls, 1, "the wait's callback");
  ck_assert_msg(timed_out_seen == 1,
                "timed_out was %d when the timeout came first; expected 1",
                timed_out_seen);
  assert_set("done set", done_idx, ndone, (size_t[]){1}, 1);
  assert_set("pending set", pending_idx, npending, (size_t[]){0, 2}, 2);
  ck_assert_msg(cancelled == 2,
                "wt_cancel_pending returned %zu with 2 tasks pending",
                cancelled);
  ck_assert_msg(active_after_cancel == 0,
                "right after wt_cancel_pending, %d watcher(s) of the wait "
                "were still active: stop every pending task's timer",
                active_after_cancel);
  ck_assert_msg(wt_status(w, 0) == WT_CANCELLED &&
                    wt_status(w, 2) == WT_CANCELLED &&
                    wt_status(w, 1) == WT_DONE,
                "after the cancel the tasks are %s, %s, %s; expected "
                "WT_CANCELLED, WT_DONE, WT_CANCELLED",
                sname(wt_status(w, 0)), sname(wt_status(w, 1)),
                sname(wt_status(w, 2)));
  wt_free(w);
}
END_TEST

WB_TEST(timeout_with_nothing_done, 1) {
  static const struct wt_spec specs[] = {{300, 1}};
  cancel_in_cb = 1;
  wt_wait_t *w = start(specs, 1, 20, WT_FIRST_COMPLETED);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls, 1, "the wait's callback");
  ck_assert_msg(timed_out_seen == 1 && ndone == 0,
                "with a timeout of 20 ms and a task of 300 ms, the wait "
                "returned with timed_out %d and %zu done; expected 1 and 0",
                timed_out_seen, ndone);
  wt_free(w);
}
END_TEST

WB_TEST(pending_tasks_go_on_after_the_wait, 2) {
  static const struct wt_spec specs[] = {{150, -1}, {10, 1}};
  wt_wait_t *w = start(specs, 2, 80, WT_FIRST_COMPLETED);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls, 1, "the wait's callback (its timeout passed "
                            "after it had returned)");
  ck_assert_msg(timed_out_seen == 0, "timed_out was %d; expected 0",
                timed_out_seen);
  ck_assert_msg(wt_status(w, 0) == WT_FAILED,
                "task 0 was still pending when the wait returned; without "
                "a cancel it goes on and ends (WT_FAILED), but it is %s",
                sname(wt_status(w, 0)));
  size_t all[MAXN];
  assert_set("done set, once the loop had run to the end,", all,
             wt_done(w, all), (size_t[]){1, 0}, 2);
  wt_free(w);
}
END_TEST

WB_TEST(no_tasks_return_from_the_loop, 1) {
  static const struct wt_spec none[1] = {{0, 0}};
  wt_wait_t *w = start(none, 0, 100, WT_ALL_COMPLETED);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls, 1, "the wait's callback with no tasks");
  ck_assert_msg(timed_out_seen == 0 && ndone == 0 && npending == 0,
                "with no tasks the wait returned timed_out %d, %zu done, "
                "%zu pending; expected 0, 0, 0",
                timed_out_seen, ndone, npending);
  wt_free(w);
}
END_TEST

WB_TEST(zero_timeout_returns_from_the_loop, 1) {
  static const struct wt_spec specs[] = {{30, 1}};
  cancel_in_cb = 1;
  wt_wait_t *w = start(specs, 1, 0, WT_FIRST_COMPLETED);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls, 1, "the wait's callback with a timeout of 0");
  ck_assert_msg(timed_out_seen == 1 && ndone == 0,
                "with a timeout of 0 the wait returned timed_out %d with "
                "%zu done; expected 1 and 0",
                timed_out_seen, ndone);
  wt_free(w);
}
END_TEST

WB_TEST(cancel_keeps_ended_tasks, 1) {
  static const struct wt_spec specs[] = {{300, 3}, {20, -1}, {10, 1}};
  cancel_in_cb = 1;
  wt_wait_t *w = start(specs, 3, WT_NO_TIMEOUT, WT_FIRST_EXCEPTION);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls, 1, "the wait's callback");
  ck_assert_msg(cancelled == 1, "wt_cancel_pending returned %zu with 1 task "
                                "pending", cancelled);
  ck_assert_msg(wt_status(w, 0) == WT_CANCELLED &&
                    wt_status(w, 1) == WT_FAILED && wt_status(w, 2) == WT_DONE,
                "after the cancel the tasks are %s, %s, %s; expected "
                "WT_CANCELLED, WT_FAILED, WT_DONE: tasks that had ended keep "
                "their status",
                sname(wt_status(w, 0)), sname(wt_status(w, 1)),
                sname(wt_status(w, 2)));
  wt_free(w);
}
END_TEST

WB_TEST(free_inside_the_callback, 2) {
  static const struct wt_spec specs[] = {{60, 1}, {40, 2}, {10, 3}};
  free_in_cb = 1;
  start(specs, 3, 200, WT_FIRST_COMPLETED);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls, 1, "the wait's callback (it freed the wait)");
  assert_set("done set", done_idx, ndone, (size_t[]){2}, 1);
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "the wait was freed, yet %d watcher(s) were still active",
                wb_active_watchers(wb_loop()));
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(out_of_memory_fails_cleanly, 2) {
  static const struct wt_spec specs[] = {{10, 1}, {20, 2}};
  nspecs = 2;
  for (unsigned k = 1;; k++) {
    wt_wait_t *w = (wt_wait_t *)&k, *const sentinel = w;
    calls = 0;
    wb_fail_alloc(k);
    int rc = wt_wait_start(wb_loop(), specs, 2, 100, WT_ALL_COMPLETED,
                           on_wait, NULL, &w);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < k) {
      ck_assert_msg(rc == 0, "wt_wait_start returned %d; expected 0", rc);
      wb_run(wb_loop(), 1500);
      wb_assert_calls(calls, 1, "the wait's callback");
      wt_free(w);
      break;
    }
    ck_assert_msg(rc == -1 && w == sentinel,
                  "allocation number %u of wt_wait_start failed, but it "
                  "returned %d%s; expected -1 and *out left alone",
                  k, rc, w == sentinel ? "" : " and changed *out");
    wb_run(wb_loop(), 1500);
    ck_assert_msg(calls == 0,
                  "allocation number %u failed and wt_wait_start returned "
                  "-1, yet the callback was called: stop what you started",
                  k);
  }
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(leaves_nothing_behind, 1) {
  static const struct wt_spec specs[] = {{10, 1}, {20, -1}, {30, 3}};
  wt_wait_t *w = start(specs, 3, 500, WT_FIRST_COMPLETED);
  wb_run(wb_loop(), 1500);
  wt_free(w);
  wb_assert_no_leaks();
}
END_TEST
