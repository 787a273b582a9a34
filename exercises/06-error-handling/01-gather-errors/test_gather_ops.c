/* test_gather_ops.c - the tests of exercise 06.1 and their points.
 * The operations are the tests' own: timers that answer with a value or
 * fail on cue, following each test's plan. Their errors live in memory
 * freed right after their callback, so a kept pointer shows up.
 */
#include "gather_ops.h"
#include "wbtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPS 8

/* ---- The operations, on cue ------------------------------------------- */

struct plan {
  unsigned delay_ms;
  long value;        /* what it answers when it succeeds */
  enum op_code code; /* OP_OK: succeeds; else fails with this code */
  int sys_errno;
  const char *message;
};

/* An operation that answers `value` after `ms`, or fails after `ms`. */
#define OK(ms, value) {(ms), (value), OP_OK, 0, ""}
#define FAIL(ms, code, errno_, message) {(ms), 0, (code), (errno_), (message)}

static const struct plan *plan;
static size_t plan_len;
static long start_fails_at = -1; /* op_start returns NULL for this index */

struct op {
  ev_timer timer;
  size_t index;
  op_done_cb cb;
  void *arg;
};

static struct op *live[MAX_OPS];  /* running operations, by index */
static int started, running, max_running, answered, cancelled;
static int started_per_op[MAX_OPS], answered_per_op[MAX_OPS];
static int bad_cancels, answered_after_done;

static int done_calls; /* declared here: the operations look at it */

static void op_fire(struct ev_loop *loop, ev_timer *w, int revents) {
  struct op *op = (struct op *)w;
  const struct plan *p = &plan[op->index];
  (void)revents;
  live[op->index] = NULL;
  running--, answered++;
  answered_per_op[op->index]++;
  if (done_calls)
    answered_after_done++;
  struct op_error *err = NULL;
  if (p->code != OP_OK) {
    err = calloc(1, sizeof *err);
    ck_assert(err != NULL);
    err->code = p->code;
    err->sys_errno = p->sys_errno;
    snprintf(err->message, sizeof err->message, "%s", p->message);
  }
  op->cb(loop, err ? 0 : p->value, err, op->arg);
  free(err);
  free(op);
}

struct op *op_start(struct ev_loop *loop, size_t index, op_done_cb cb,
                    void *arg) {
  ck_assert_msg(index < plan_len,
                "op_start was called for operation %zu, but this test has "
                "only %zu (0 to %zu)",
                index, plan_len, plan_len - 1);
  started++;
  if (index < MAX_OPS)
    started_per_op[index]++;
  if ((long)index == start_fails_at)
    return NULL;
  struct op *op = calloc(1, sizeof *op);
  ck_assert(op != NULL);
  op->index = index, op->cb = cb, op->arg = arg;
  ev_timer_init(&op->timer, op_fire, plan[index].delay_ms / 1000., 0.);
  ev_timer_start(loop, &op->timer);
  live[index] = op;
  if (++running > max_running)
    max_running = running;
  return op;
}

void op_cancel(struct ev_loop *loop, struct op *op) {
  size_t i = 0;
  while (i < plan_len && live[i] != op)
    i++;
  if (i == plan_len) { /* answered or cancelled already: do not touch it */
    bad_cancels++;
    return;
  }
  ev_timer_stop(loop, &op->timer);
  live[i] = NULL;
  free(op);
  running--, cancelled++;
}

/* ---- What done saw ---------------------------------------------------- */

static size_t done_n = 99;
static long done_failed = -99;
static int done_slots_null = -1;
static int running_at_done = -1, answered_at_done = -1;
static struct gather_slot done_slots[MAX_OPS];

static void on_done(struct ev_loop *loop, const struct gather_slot *slots,
                    size_t n, long failed, void *arg) {
  (void)loop, (void)arg;
  done_calls++;
  done_n = n;
  done_failed = failed;
  done_slots_null = slots == NULL;
  running_at_done = running;
  answered_at_done = answered;
  for (size_t i = 0; slots && i < n && i < MAX_OPS; i++)
    done_slots[i] = slots[i];
}

static const char *mode_name(enum gather_mode mode) {
  return mode == GATHER_ALL ? "GATHER_ALL" : "GATHER_FAIL_FAST";
}

/* Starts a gather over `ops` and checks what must hold when it returns. */
static void gather(const struct plan *ops, size_t n, enum gather_mode mode) {
  int started_before = started;
  plan = ops, plan_len = n;
  /* Timers count from the loop's clock, which may be older than the test
   * body on a busy machine: bring it up to date so each waits in full. */
  ev_now_update(wb_loop());
  int rc = gather_ops(wb_loop(), n, mode, on_done, NULL);
  ck_assert_msg(rc == 0,
                "gather_ops returned %d for %zu operation%s (%s); it must "
                "return 0 once it has started them (-1 is only for running "
                "out of memory or an op_start that returned NULL)",
                rc, n, n == 1 ? "" : "s", mode_name(mode));
  ck_assert_msg(started - started_before == (int)n,
                "when gather_ops returned, it had started %d of its %zu "
                "operations: start every one of them (op_start) before "
                "returning, so that they all run at once",
                started - started_before, n);
  ck_assert_msg(done_calls == 0,
                "done was called from inside gather_ops; it must come from "
                "the loop, when the operations answer");
}

static void run(void) {
  wb_run(wb_loop(), 1000);
  wb_assert_calls(done_calls, 1, "the done callback");
  ck_assert_msg(bad_cancels == 0,
                "op_cancel was called %d time(s) on an operation that had "
                "already answered or been cancelled: an operation belongs to "
                "you only until its callback begins",
                bad_cancels);
  ck_assert_msg(answered_after_done == 0,
                "an operation answered after done had been called: by then "
                "every operation must have answered or been cancelled");
  wb_assert_no_block(50);
}

static void assert_value(size_t i, long want) {
  ck_assert_msg(done_slots[i].err.code == OP_OK,
                "slots[%zu] has error code %d (\"%s\"), but operation %zu "
                "succeeded: its slot holds its value and OP_OK",
                i, (int)done_slots[i].err.code, done_slots[i].err.message, i);
  ck_assert_msg(done_slots[i].value == want,
                "slots[%zu].value is %ld; operation %zu answered %ld: each "
                "value goes into the slot of the operation that gave it, "
                "whatever order they answer in",
                i, done_slots[i].value, i, want);
}

static void assert_cancelled(size_t i) {
  ck_assert_msg(done_slots[i].err.code == OP_ECANCELED,
                "slots[%zu] has code %d; operation %zu was still running at "
                "the first error, so it must be cancelled and its slot say "
                "OP_ECANCELED (%d)",
                i, (int)done_slots[i].err.code, i, OP_ECANCELED);
  ck_assert_msg(done_slots[i].err.message[0] != '\0',
                "slots[%zu] says OP_ECANCELED with an empty message: write "
                "a few words for people (which operation failed first)",
                i);
}

/* ---- Tests ------------------------------------------------------------ */

WB_TEST(all_succeed_results_in_input_order, 2) {
  static const struct plan ops[] = {OK(30, 100), OK(10, 101), OK(20, 102)};
  gather(ops, 3, GATHER_ALL);
  run();
  ck_assert_msg(done_n == 3, "done was called with n = %zu; expected 3",
                done_n);
  ck_assert_msg(!done_slots_null, "done was called with slots = NULL");
  ck_assert_msg(answered_at_done == 3,
                "done was called when %d of the 3 operations had answered: "
                "call it once the last one has",
                answered_at_done);
  for (size_t i = 0; i < 3; i++)
    assert_value(i, ops[i].value);
  ck_assert_msg(done_failed == -1,
                "no operation failed, but done got failed = %ld; expected -1",
                done_failed);
}
END_TEST

WB_TEST(operations_run_at_once, 2) {
  static const struct plan ops[] = {
      OK(60, 1), OK(60, 2), OK(60, 3), OK(60, 4), OK(60, 5)};
  gather(ops, 5, GATHER_ALL);
  run();
  ck_assert_msg(max_running == 5,
                "at most %d of the 5 operations were running at the same "
                "time: start them all in gather_ops, not one from the "
                "callback of another",
                max_running);
  wb_assert_overlap(wb_elapsed_ms(), 60, 5);
}
END_TEST

WB_TEST(per_slot_error_keeps_the_others, 3) {
  static const struct plan ops[] = {
      OK(10, 1), FAIL(20, OP_EVALUE, 0, "Task 2 failed!"), OK(40, 3)};
  gather(ops, 3, GATHER_ALL);
  run();
  ck_assert_msg(cancelled == 0,
                "in GATHER_ALL mode, %d operation(s) were cancelled: an "
                "error fills its slot and stops nothing",
                cancelled);
  ck_assert_msg(answered_at_done == 3,
                "in GATHER_ALL mode, done was called when %d of the 3 "
                "operations had answered; an error must not end the gather "
                "early: wait for every operation",
                answered_at_done);
  assert_value(0, 1);
  assert_value(2, 3);
  ck_assert_msg(done_slots[1].err.code == OP_EVALUE,
                "slots[1] has code %d; operation 1 failed with OP_EVALUE "
                "(%d)",
                (int)done_slots[1].err.code, OP_EVALUE);
  ck_assert_msg(done_failed == 1,
                "operation 1 failed, but done got failed = %ld; expected 1",
                done_failed);
}
END_TEST

WB_TEST(error_is_copied_whole, 2) {
  static const struct plan ops[] = {
      OK(20, 7), FAIL(10, OP_ESYS, 32, "send: Broken pipe")};
  gather(ops, 2, GATHER_ALL);
  run();
  const struct op_error *e = &done_slots[1].err;
  ck_assert_msg(e->code == OP_ESYS && e->sys_errno == 32,
                "slots[1].err has code %d and sys_errno %d; the operation "
                "failed with OP_ESYS (%d) and errno 32: copy the whole "
                "struct (slot->err = *err)",
                (int)e->code, e->sys_errno, OP_ESYS);
  ck_assert_msg(strcmp(e->message, "send: Broken pipe") == 0,
                "slots[1].err.message is \"%.80s\"; the operation's message "
                "was \"send: Broken pipe\": copy the whole error, message "
                "included",
                e->message);
  assert_value(0, 7);
}
END_TEST

WB_TEST(failed_is_the_first_error_in_time, 2) {
  static const struct plan ops[] = {
      FAIL(50, OP_EVALUE, 0, "late"),
      OK(10, 11),
      FAIL(20, OP_ETIMEDOUT, 0, "early")};
  gather(ops, 3, GATHER_ALL);
  run();
  ck_assert_msg(done_failed == 2,
                "operation 2 failed at 20 ms and operation 0 at 50 ms, but "
                "done got failed = %ld; expected 2, the first error in "
                "time (not the lowest index, not the last error)",
                done_failed);
  ck_assert_msg(done_slots[0].err.code == OP_EVALUE &&
                    done_slots[2].err.code == OP_ETIMEDOUT,
                "slots[0] and slots[2] have codes %d and %d; expected %d "
                "and %d: in GATHER_ALL mode every error keeps its own slot",
                (int)done_slots[0].err.code, (int)done_slots[2].err.code,
                OP_EVALUE, OP_ETIMEDOUT);
  assert_value(1, 11);
}
END_TEST

WB_TEST(fail_fast_cancels_the_rest_at_the_first_error, 3) {
  static const struct plan ops[] = {OK(10, 40),
                                    FAIL(20, OP_EVALUE, 0, "bad input"),
                                    OK(300, 42),
                                    OK(400, 43)};
  gather(ops, 4, GATHER_FAIL_FAST);
  run();
  ck_assert_msg(answered_at_done == 2,
                "in GATHER_FAIL_FAST mode, done was called when %d "
                "operations had answered; expected 2 (operation 0, then "
                "the failing operation 1): report at the first error",
                answered_at_done);
  ck_assert_msg(cancelled == 2,
                "in GATHER_FAIL_FAST mode, %d operation(s) were cancelled "
                "after operation 1 failed; expected 2 (operations 2 and 3, "
                "still running): op_cancel each one still running",
                cancelled);
  ck_assert_msg(running_at_done == 0,
                "when done was called, %d operation(s) were still running: "
                "cancel them first, then call done",
                running_at_done);
  assert_value(0, 40);
  ck_assert_msg(done_slots[1].err.code == OP_EVALUE &&
                    strcmp(done_slots[1].err.message, "bad input") == 0,
                "slots[1] has code %d and message \"%.80s\"; expected the "
                "operation's own error, OP_EVALUE and \"bad input\"",
                (int)done_slots[1].err.code, done_slots[1].err.message);
  assert_cancelled(2);
  assert_cancelled(3);
  ck_assert_msg(done_failed == 1, "done got failed = %ld; expected 1",
                done_failed);
  ck_assert_msg(wb_elapsed_ms() < 250,
                "the gather took %.0f ms; it should end at the first error "
                "(20 ms), not wait for the 300 and 400 ms operations",
                wb_elapsed_ms());
}
END_TEST

WB_TEST(fail_fast_without_errors_waits_for_all, 1) {
  static const struct plan ops[] = {OK(20, 5), OK(10, 6)};
  gather(ops, 2, GATHER_FAIL_FAST);
  run();
  ck_assert_msg(cancelled == 0 && answered_at_done == 2,
                "in GATHER_FAIL_FAST mode with no error, done came when %d "
                "operations had answered and %d had been cancelled; "
                "expected 2 and 0: without an error it is GATHER_ALL",
                answered_at_done, cancelled);
  assert_value(0, 5);
  assert_value(1, 6);
  ck_assert_msg(done_failed == -1, "done got failed = %ld; expected -1",
                done_failed);
}
END_TEST

WB_TEST(fail_fast_error_in_the_last_cancels_nothing, 1) {
  static const struct plan ops[] = {
      OK(10, 5), FAIL(30, OP_ESYS, 5, "read: Input/output error")};
  gather(ops, 2, GATHER_FAIL_FAST);
  run();
  ck_assert_msg(cancelled == 0,
                "the last operation to answer failed, and %d operation(s) "
                "were cancelled: only those still running are cancelled",
                cancelled);
  assert_value(0, 5);
  ck_assert_msg(done_slots[1].err.code == OP_ESYS &&
                    done_slots[1].err.sys_errno == 5,
                "slots[1] has code %d and sys_errno %d; expected the "
                "operation's own error (OP_ESYS, errno 5), not OP_ECANCELED",
                (int)done_slots[1].err.code, done_slots[1].err.sys_errno);
  ck_assert_msg(done_failed == 1, "done got failed = %ld; expected 1",
                done_failed);
}
END_TEST

WB_TEST(fail_fast_errors_in_one_iteration_done_once, 2) {
  static const struct plan ops[] = {FAIL(0, OP_EVALUE, 0, "first"),
                                    FAIL(0, OP_EVALUE, 0, "second"),
                                    FAIL(0, OP_EVALUE, 0, "third"),
                                    OK(50, 9)};
  gather(ops, 4, GATHER_FAIL_FAST);
  run();
  ck_assert_msg(answered_at_done == 1 && cancelled == 3,
                "three operations failed in the same loop iteration; when "
                "done was called %d had answered and %d were cancelled; "
                "expected 1 and 3: the first error cancels the others, even "
                "those whose timers are due in the same iteration",
                answered_at_done, cancelled);
  ck_assert_msg(done_failed >= 0 && done_failed <= 2,
                "done got failed = %ld; expected 0, 1 or 2", done_failed);
  for (size_t i = 0; i < 4; i++)
    if ((long)i != done_failed)
      assert_cancelled(i);
}
END_TEST

WB_TEST(no_operations_done_once_later, 1) {
  for (int mode = GATHER_ALL; mode <= GATHER_FAIL_FAST; mode++) {
    done_calls = 0;
    gather(NULL, 0, (enum gather_mode)mode);
    wb_run(wb_loop(), 1000);
    wb_assert_calls(done_calls, 1, "the done callback (with no operations)");
    ck_assert_msg(done_n == 0 && done_slots_null == 1 && done_failed == -1,
                  "with no operations (%s), done got n = %zu, slots %s and "
                  "failed = %ld; expected 0, NULL and -1",
                  mode_name((enum gather_mode)mode), done_n,
                  done_slots_null ? "NULL" : "not NULL", done_failed);
  }
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(start_failure_cancels_the_started, 2) {
  static const struct plan ops[] = {OK(10, 1), OK(10, 2), OK(10, 3), OK(10, 4)};
  plan = ops, plan_len = 4;
  start_fails_at = 2;
  int rc = gather_ops(wb_loop(), 4, GATHER_ALL, on_done, NULL);
  ck_assert_msg(rc == -1,
                "op_start returned NULL for operation 2, but gather_ops "
                "returned %d; expected -1",
                rc);
  ck_assert_msg(started_per_op[3] == 0,
                "op_start returned NULL for operation 2, and gather_ops "
                "went on to start operation 3: stop at the failure");
  ck_assert_msg(running == 0 && cancelled == 2,
                "op_start returned NULL for operation 2; when gather_ops "
                "returned -1, %d operation(s) were still running and %d had "
                "been cancelled: cancel the two it had started",
                running, cancelled);
  wb_run(wb_loop(), 1000);
  ck_assert_msg(done_calls == 0,
                "gather_ops returned -1, and then done was called: after -1 "
                "no callback is ever called");
  ck_assert_msg(bad_cancels == 0,
                "op_cancel was called on an operation that was not running "
                "(the one whose op_start returned NULL?)");
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(out_of_memory_returns_minus_one, 2) {
  static const struct plan ops[] = {OK(10, 1), OK(5, 2), OK(15, 3)};
  for (unsigned k = 1;; k++) {
    done_calls = 0;
    plan = ops, plan_len = 3;
    wb_fail_alloc(k);
    int rc = gather_ops(wb_loop(), 3, GATHER_FAIL_FAST, on_done, NULL);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < k) {
      ck_assert_msg(rc == 0,
                    "gather_ops returned %d with no allocation failing; "
                    "expected 0",
                    rc);
      wb_run(wb_loop(), 1000);
      wb_assert_calls(done_calls, 1, "the done callback");
      break;
    }
    ck_assert_msg(rc == -1,
                  "allocation number %u of gather_ops failed, but it "
                  "returned %d; expected -1: check every allocation",
                  k, rc);
    ck_assert_msg(running == 0,
                  "allocation number %u of gather_ops failed and it "
                  "returned -1 with %d operation(s) still running: cancel "
                  "what you started (or allocate everything first)",
                  k, running);
    wb_run(wb_loop(), 1000);
    ck_assert_msg(done_calls == 0,
                  "allocation number %u of gather_ops failed and it "
                  "returned -1, and then done was called: after -1 no "
                  "callback is ever called",
                  k);
  }
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(leaves_nothing_behind, 2) {
  static const struct plan ops[] = {
      OK(10, 1), FAIL(15, OP_EVALUE, 0, "no"), OK(200, 3)};
  gather(ops, 3, GATHER_FAIL_FAST);
  run();
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "after the gather ended, %d watcher(s) of yours were still "
                "active",
                wb_active_watchers(wb_loop()));
  wb_assert_no_leaks();
  static const struct plan ops2[] = {OK(10, 1), FAIL(15, OP_EVALUE, 0, "no")};
  done_calls = 0;
  gather(ops2, 2, GATHER_ALL);
  run();
  wb_assert_no_leaks();
}
END_TEST
