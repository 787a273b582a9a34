/* test_deadline_call.c - the tests of exercise 06.3, and their points.
 * The operation is the tests' own: a timer that answers on cue, whose
 * abort takes time, and whose answer, once due, still comes after an
 * abort. Each race is arranged with timers of equal delay started in the
 * same callback, which libev runs in one loop iteration.
 */
#include "deadline_call.h"
#include "wbtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The operation, on cue -------------------------------------------- */

static struct {
  unsigned delay_ms;
  long value;
  enum op_code code; /* OP_OK: answers value; else fails with this */
  int sys_errno;
  const char *message;
  unsigned abort_ms; /* how long an abort takes to answer */
} plan;

struct op {
  ev_timer timer;
  op_cb cb;
  void *arg;
  int aborted;       /* op_abort was called */
  int answers_abort; /* it will answer OP_ECANCELED */
};

static struct op *live_op;
static int began, answered, aborts, bad_aborts, racy_aborts;
static int done_calls, answered_at_done = -1;

static void op_fire(struct ev_loop *loop, ev_timer *w, int revents) {
  struct op *op = (struct op *)w;
  struct op_error *err = NULL;
  (void)revents;
  live_op = NULL;
  answered++;
  if (op->answers_abort || plan.code != OP_OK) {
    err = calloc(1, sizeof *err);
    ck_assert(err != NULL);
    err->code = op->answers_abort ? OP_ECANCELED : plan.code;
    err->sys_errno = op->answers_abort ? 0 : plan.sys_errno;
    snprintf(err->message, sizeof err->message, "%s",
             op->answers_abort ? "aborted" : plan.message);
  }
  op->cb(loop, err ? 0 : plan.value, err, op->arg);
  free(err);
  free(op);
}

struct op *op_begin(struct ev_loop *loop, op_cb cb, void *arg) {
  struct op *op = calloc(1, sizeof *op);
  ck_assert(op != NULL);
  ck_assert_msg(live_op == NULL, "op_begin was called twice for one call");
  op->cb = cb, op->arg = arg;
  ev_timer_init(&op->timer, op_fire, plan.delay_ms / 1000., 0.);
  ev_timer_start(loop, &op->timer);
  live_op = op;
  began++;
  return op;
}

void op_abort(struct ev_loop *loop, struct op *op) {
  if (op != live_op || op->aborted) {
    bad_aborts++; /* answered already, or aborted twice: not touched */
    return;
  }
  op->aborted = 1;
  aborts++;
  if (ev_is_pending(&op->timer)) { /* its answer is on its way */
    racy_aborts++;
    return;
  }
  ev_timer_stop(loop, &op->timer);
  op->answers_abort = 1;
  ev_timer_set(&op->timer, plan.abort_ms / 1000., 0.);
  ev_timer_start(loop, &op->timer);
}

/* ---- What done saw ---------------------------------------------------- */

static long done_value = -99;
static int done_err_null = -1;
static struct op_error done_err;
static struct deadline *call;
static int in_call, done_inside, cancel_in_done;

static void on_done(struct ev_loop *loop, long value,
                    const struct op_error *err, void *arg) {
  (void)loop, (void)arg;
  done_calls++;
  if (in_call)
    done_inside++;
  done_value = value;
  done_err_null = err == NULL;
  if (err)
    done_err = *err;
  answered_at_done = answered;
  if (cancel_in_done) {
    deadline_cancel(call);
    deadline_cancel(call);
  }
}

static void start(unsigned timeout_ms) {
  in_call = 1;
  call = deadline_call(wb_loop(), timeout_ms, on_done, NULL);
  in_call = 0;
  ck_assert_msg(call != NULL, "deadline_call returned NULL; NULL is only "
                              "for running out of memory");
  ck_assert_msg(done_inside == 0,
                "done was called from inside deadline_call: it must come "
                "from the loop");
  ck_assert_msg(began == 1,
                "when deadline_call returned, op_begin had been called %d "
                "times; expected once",
                began);
}

static void cancel_now(void) {
  in_call = 1;
  deadline_cancel(call);
  in_call = 0;
}

static void cancel_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  if (done_calls == 0)
    cancel_now();
}

static void run(void) {
  wb_run(wb_loop(), 1000);
  wb_assert_calls(done_calls, 1, "the done callback");
  ck_assert_msg(done_inside == 0,
                "done was called from inside deadline_cancel: after a "
                "cancel it must come from the loop (a 0 ms timer or "
                "ev_once)");
  ck_assert_msg(bad_aborts == 0,
                "op_abort was called on an operation that had already "
                "answered, or twice: abort only while it has not answered, "
                "and only once");
  ck_assert_msg(answered == 1,
                "the operation answered %d times; expected once", answered);
  wb_assert_no_block(50);
  wb_assert_no_leaks();
  call = NULL; /* the call must be freed by now: LeakSanitizer checks */
}

static void assert_error(enum op_code code, const char *when) {
  ck_assert_msg(done_err_null == 0 && done_err.code == code,
                "%s, done got %s (code %d); expected the error %d", when,
                done_err_null ? "no error" : "an error",
                done_err_null ? 0 : (int)done_err.code, (int)code);
  ck_assert_msg(done_err.message[0] != '\0',
                "%s, done got error %d with an empty message", when,
                (int)code);
}

#define PLAN_OK(ms, v) (plan.delay_ms = (ms), plan.value = (v), \
                        plan.code = OP_OK, plan.abort_ms = 30)
#define PLAN_FAIL(ms, c, e, m) (plan.delay_ms = (ms), plan.value = 0, \
                               plan.code = (c), plan.sys_errno = (e), \
                               plan.message = (m), plan.abort_ms = 30)

/* ---- Tests ------------------------------------------------------------ */

WB_TEST(value_first, 2) {
  PLAN_OK(20, 5);
  start(300);
  run();
  ck_assert_msg(done_err_null == 1 && done_value == 5,
                "the operation answered 5 after 20 ms, well within its "
                "300 ms limit; done got %s and %ld",
                done_err_null ? "no error" : "an error", done_value);
  ck_assert_msg(aborts == 0,
                "the operation answered in time, yet op_abort was called");
}
END_TEST

WB_TEST(error_is_copied_whole, 2) {
  PLAN_FAIL(20, OP_ESYS, 104, "recv: Connection reset by peer");
  start(300);
  run();
  assert_error(OP_ESYS, "when the operation fails");
  ck_assert_msg(done_err.sys_errno == 104 &&
                    strcmp(done_err.message,
                           "recv: Connection reset by peer") == 0,
                "done got sys_errno %d and message \"%.80s\"; the "
                "operation's error had 104 and \"recv: Connection reset by "
                "peer\": copy the whole error",
                done_err.sys_errno, done_err.message);
}
END_TEST

WB_TEST(time_limit_reports_at_once_and_aborts, 3) {
  PLAN_OK(400, 1);
  plan.abort_ms = 60;
  start(30);
  run();
  assert_error(OP_ETIMEDOUT, "at the time limit");
  ck_assert_msg(answered_at_done == 0,
                "done was called after the aborted operation had answered: "
                "report the time limit at once; the operation's late answer "
                "changes nothing");
  ck_assert_msg(aborts == 1,
                "at the time limit op_abort was called %d times; expected "
                "once",
                aborts);
}
END_TEST

WB_TEST(cancel_reports_from_the_loop_and_aborts, 3) {
  static ev_timer t;
  PLAN_OK(400, 1);
  plan.abort_ms = 60;
  start(0);
  ev_timer_init(&t, cancel_cb, 0.02, 0.);
  ev_timer_start(wb_loop(), &t);
  run();
  assert_error(OP_ECANCELED, "after a cancel");
  ck_assert_msg(answered_at_done == 0,
                "done was called after the aborted operation had answered: "
                "after a cancel, report on the loop's next iteration, not "
                "when the operation gets round to answering");
  ck_assert_msg(aborts == 1,
                "after a cancel op_abort was called %d times; expected once",
                aborts);
}
END_TEST

WB_TEST(zero_means_no_time_limit, 1) {
  PLAN_OK(60, 9);
  start(0);
  run();
  ck_assert_msg(done_err_null == 1 && done_value == 9,
                "with timeout_ms 0 (no limit), done got %s (code %d); "
                "expected the value 9",
                done_err_null ? "no error" : "an error", (int)done_err.code);
}
END_TEST

WB_TEST(answer_and_time_limit_in_one_iteration, 3) {
  PLAN_OK(40, 7);
  start(40); /* the operation's answer and the limit: the same moment */
  run();
  ck_assert_msg((done_err_null == 1 && done_value == 7) ||
                    (done_err_null == 0 && done_err.code == OP_ETIMEDOUT),
                "the answer and the time limit came in one iteration; done "
                "got code %d, expected the value 7 or OP_ETIMEDOUT",
                done_err_null ? 0 : (int)done_err.code);
}
END_TEST

WB_TEST(cancel_then_answer_in_one_iteration, 3) {
  static ev_timer t;
  PLAN_OK(40, 7);
  ev_timer_init(&t, cancel_cb, 0.04, 0.);
  ev_timer_start(wb_loop(), &t); /* before the call: it runs first */
  start(0);
  run();
  ck_assert_msg(racy_aborts == 1,
                "the cancel came first and the operation's answer was "
                "already due in the same iteration: op_abort should have "
                "been called then (once)");
  assert_error(OP_ECANCELED, "when a cancel comes just before the answer");
}
END_TEST

WB_TEST(cancel_error_and_time_limit_in_one_iteration, 3) {
  static ev_timer t;
  PLAN_FAIL(40, OP_EVALUE, 0, "bad reply");
  ev_timer_init(&t, cancel_cb, 0.04, 0.);
  ev_timer_start(wb_loop(), &t);
  start(40);
  run();
  assert_error(OP_ECANCELED, "when a cancel, an error and the time limit "
                             "come in one iteration, the cancel first");
}
END_TEST

WB_TEST(cancel_twice_or_from_done_does_nothing, 2) {
  PLAN_OK(400, 1);
  start(0);
  cancel_now();
  cancel_now();
  run();
  assert_error(OP_ECANCELED, "after two cancels");
  /* A second call, whose done callback cancels it. */
  began = answered = aborts = done_calls = 0;
  PLAN_OK(20, 3);
  cancel_in_done = 1;
  start(300);
  run();
  ck_assert_msg(done_err_null == 1 && done_value == 3,
                "a call whose done cancels it got %s; expected the value 3",
                done_err_null ? "no error" : "an error");
}
END_TEST

WB_TEST(out_of_memory_returns_null, 2) {
  PLAN_OK(10, 1);
  for (unsigned k = 1;; k++) {
    began = answered = done_calls = 0;
    wb_fail_alloc(k);
    struct deadline *d = deadline_call(wb_loop(), 100, on_done, NULL);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < k) {
      ck_assert_msg(d != NULL, "deadline_call returned NULL with no "
                               "allocation failing");
      call = d;
      run();
      break;
    }
    ck_assert_msg(d == NULL && began == 0,
                  "allocation number %u of deadline_call failed; it must "
                  "return NULL having started nothing (op_begin was called "
                  "%d times)",
                  k, began);
    wb_run(wb_loop(), 1000);
    ck_assert_msg(done_calls == 0,
                  "deadline_call returned NULL, and then done was called");
  }
}
END_TEST
