/* test_with_resource.c - the tests of exercise 06.2 and their points.
 * The resource's operations are the tests' own: timers that answer or fail
 * on cue, a real descriptor (one end of a socketpair) as the resource, and
 * errors in memory freed right after their callback.
 */
#include "with_resource.h"
#include "wbtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- The operations, on cue ------------------------------------------- */

struct step_plan {
  unsigned delay_ms;
  long value;        /* the work's result */
  enum op_code code; /* OP_OK: succeeds; else fails with this code */
  int sys_errno;
  const char *message;
};
#define OK(ms, value) {(ms), (value), OP_OK, 0, ""}
#define FAIL(ms, code, errno_, message) {(ms), 0, (code), (errno_), (message)}

static struct step_plan acquire_plan, work_plan;
static unsigned release_ms;

enum kind { ACQUIRE, WORK, RELEASE };

struct res_op {
  ev_timer timer;
  enum kind kind;
  int fd;
  res_cb cb;
  void *arg;
};

#define MAX_LIVE 8
static struct res_op *live[MAX_LIVE];
static int calls[3], answered[3], cancelled[3];
static int held_fd = -1;      /* the resource, while acquired */
static int wrong_fd, bad_cancels, answered_after_done;
static int release_calls_at_done = -1, released_at_done = -1;
static int running_at_done = -1;
static int done_calls;

static int nlive(void) {
  int n = 0;
  for (int i = 0; i < MAX_LIVE; i++)
    n += live[i] != NULL;
  return n;
}

static int live_slot(const struct res_op *op) {
  for (int i = 0; i < MAX_LIVE; i++)
    if (live[i] == op)
      return i;
  return -1;
}

/* The operation answers: now (from its timer), or on a test's cue. */
static void op_answer(struct ev_loop *loop, struct res_op *op) {
  int i = live_slot(op);
  if (i < 0)
    return; /* cancelled already */
  live[i] = NULL;
  ev_timer_stop(loop, &op->timer);
  answered[op->kind]++;
  if (done_calls)
    answered_after_done++;
  const struct step_plan *p = op->kind == ACQUIRE ? &acquire_plan
                              : op->kind == WORK  ? &work_plan
                                                  : NULL;
  struct op_error *err = NULL;
  long value = 0;
  if (p && p->code != OP_OK) {
    err = calloc(1, sizeof *err);
    ck_assert(err != NULL);
    err->code = p->code;
    err->sys_errno = p->sys_errno;
    snprintf(err->message, sizeof err->message, "%s", p->message);
  } else if (op->kind == ACQUIRE) {
    int sv[2];
    ck_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    close(sv[1]);
    held_fd = sv[0];
    value = held_fd;
  } else if (op->kind == WORK) {
    value = p->value;
  } else {
    close(op->fd);
    held_fd = -1;
  }
  op->cb(loop, value, err, op->arg);
  free(err);
  free(op);
}

static void op_fire(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  op_answer(loop, (struct res_op *)w);
}

static struct res_op *op_new(struct ev_loop *loop, enum kind kind, int fd,
                             unsigned ms, res_cb cb, void *arg) {
  struct res_op *op = calloc(1, sizeof *op);
  ck_assert(op != NULL);
  *op = (struct res_op){.kind = kind, .fd = fd, .cb = cb, .arg = arg};
  ev_timer_init(&op->timer, op_fire, ms / 1000., 0.);
  ev_timer_start(loop, &op->timer);
  int i = live_slot(NULL);
  ck_assert_msg(i >= 0, "more than %d operations running at once", MAX_LIVE);
  live[i] = op;
  calls[kind]++;
  return op;
}

struct res_op *res_acquire(struct ev_loop *loop, res_cb cb, void *arg) {
  return op_new(loop, ACQUIRE, -1, acquire_plan.delay_ms, cb, arg);
}

struct res_op *res_work(struct ev_loop *loop, int fd, res_cb cb, void *arg) {
  if (fd != held_fd || fd < 0)
    wrong_fd++;
  return op_new(loop, WORK, fd, work_plan.delay_ms, cb, arg);
}

static void cancel_cb(struct ev_loop *loop, ev_timer *w, int revents);
static ev_timer cancel_timer;
static int cancel_on_release; /* a test's cue: cancel once release began */

struct res_op *res_release(struct ev_loop *loop, int fd, res_cb cb,
                           void *arg) {
  if (fd != held_fd || fd < 0)
    wrong_fd++;
  if (cancel_on_release) /* on the loop's next iteration */
    ev_timer_start(loop, &cancel_timer);
  return op_new(loop, RELEASE, fd == held_fd ? fd : -1, release_ms, cb,
                arg);
}

void res_cancel(struct ev_loop *loop, struct res_op *op) {
  int i = live_slot(op);
  if (i < 0 || op->kind == RELEASE) {
    bad_cancels++; /* not touched: answered, cancelled, or a release */
    return;
  }
  live[i] = NULL;
  ev_timer_stop(loop, &op->timer);
  cancelled[op->kind]++;
  free(op);
}

/* ---- What done saw ---------------------------------------------------- */

static long done_result = -99;
static int done_err_null = -1;
static struct op_error done_err;
static struct scope *scope;
static int in_cancel; /* scope_cancel is running */
static int done_inside;

static void on_done(struct ev_loop *loop, long result,
                    const struct op_error *err, void *arg) {
  (void)loop, (void)arg;
  done_calls++;
  if (in_cancel)
    done_inside++;
  done_result = result;
  done_err_null = err == NULL;
  if (err)
    done_err = *err;
  release_calls_at_done = calls[RELEASE];
  released_at_done = answered[RELEASE];
  running_at_done = nlive();
}

static void start(unsigned timeout_ms) {
  scope = with_resource(wb_loop(), timeout_ms, on_done, NULL);
  ck_assert_msg(scope != NULL,
                "with_resource returned NULL; NULL is only for running out "
                "of memory");
  ck_assert_msg(done_calls == 0,
                "done was called from inside with_resource: it must come "
                "from the loop");
  ck_assert_msg(calls[ACQUIRE] == 1,
                "when with_resource returned, res_acquire had been called "
                "%d times; expected once: start acquiring at once",
                calls[ACQUIRE]);
}

static void cancel_now(void) {
  in_cancel = 1;
  scope_cancel(scope);
  in_cancel = 0;
}

/* Runs the loop and checks what every path must leave. */
static void run(void) {
  wb_run(wb_loop(), 1000);
  wb_assert_calls(done_calls, 1, "the done callback");
  ck_assert_msg(done_inside == 0,
                "done was called from inside scope_cancel: it must come "
                "from the loop, later (a 0 ms timer or ev_once)");
  ck_assert_msg(bad_cancels == 0,
                "res_cancel was called %d time(s) on an operation that had "
                "answered, was cancelled already, or was a release (which "
                "cannot be cancelled)",
                bad_cancels);
  ck_assert_msg(wrong_fd == 0,
                "res_work or res_release was given a descriptor that was "
                "not the acquired resource (or after it was released): "
                "pass the value that res_acquire answered with");
  ck_assert_msg(calls[RELEASE] <= 1,
                "res_release was called %d times for one resource; release "
                "runs exactly once",
                calls[RELEASE]);
  ck_assert_msg(answered_after_done == 0,
                "an operation answered after done had been called: by then "
                "nothing of the scope may be running");
  ck_assert_msg(running_at_done == 0,
                "when done was called, %d operation(s) were still running: "
                "cancel the one in progress, wait for the release, then "
                "call done",
                running_at_done);
  wb_assert_no_block(50);
  wb_assert_no_leaks();
  scope = NULL; /* the scope must be freed by now: LeakSanitizer checks */
}

static void assert_released_before_done(const char *path) {
  ck_assert_msg(release_calls_at_done == 1 && released_at_done == 1,
                "%s: when done was called, res_release had been called %d "
                "time(s) and had answered %d time(s); expected 1 and 1: "
                "release the resource, wait for the release to answer, "
                "then call done",
                path, release_calls_at_done, released_at_done);
}

static void assert_error(enum op_code code, const char *path) {
  ck_assert_msg(done_err_null == 0,
                "%s: done was called with err == NULL; expected the error "
                "%d",
                path, (int)code);
  ck_assert_msg(done_err.code == code,
                "%s: done got error code %d (\"%.80s\"); expected %d", path,
                (int)done_err.code, done_err.message, (int)code);
  ck_assert_msg(done_err.message[0] != '\0',
                "%s: done got error %d with an empty message", path,
                (int)code);
}

/* ---- Tests ------------------------------------------------------------ */

WB_TEST(success_acquires_works_releases, 3) {
  acquire_plan = (struct step_plan)OK(10, 0);
  work_plan = (struct step_plan)OK(20, 42);
  release_ms = 10;
  start(0);
  run();
  ck_assert_msg(calls[WORK] == 1,
                "res_work was called %d times; expected once, with the "
                "acquired descriptor",
                calls[WORK]);
  assert_released_before_done("on success");
  ck_assert_msg(done_err_null == 1 && done_result == 42,
                "on success, done got err %s and result %ld; expected NULL "
                "and 42 (the work's result)",
                done_err_null ? "NULL" : "not NULL", done_result);
}
END_TEST

WB_TEST(acquire_error_no_work_no_release, 2) {
  acquire_plan = (struct step_plan)FAIL(10, OP_EACQUIRE, 0, "pool empty");
  work_plan = (struct step_plan)OK(10, 1);
  release_ms = 10;
  start(0);
  run();
  ck_assert_msg(calls[WORK] == 0 && calls[RELEASE] == 0,
                "acquire failed, and then res_work was called %d time(s) "
                "and res_release %d time(s); expected 0 and 0: nothing is "
                "held, so there is nothing to work with or release",
                calls[WORK], calls[RELEASE]);
  assert_error(OP_EACQUIRE, "when acquire fails");
  ck_assert_msg(strcmp(done_err.message, "pool empty") == 0,
                "done got the message \"%.80s\"; the acquire's error said "
                "\"pool empty\": pass on a copy of the error itself",
                done_err.message);
}
END_TEST

WB_TEST(work_error_released_then_reported, 3) {
  acquire_plan = (struct step_plan)OK(10, 0);
  work_plan = (struct step_plan)FAIL(10, OP_ESYS, 32, "send: Broken pipe");
  release_ms = 20;
  start(0);
  run();
  assert_released_before_done("when the work fails");
  assert_error(OP_ESYS, "when the work fails");
  ck_assert_msg(done_err.sys_errno == 32 &&
                    strcmp(done_err.message, "send: Broken pipe") == 0,
                "done got sys_errno %d and message \"%.80s\"; the work's "
                "error had 32 and \"send: Broken pipe\": keep a copy of the "
                "error (the pointer dies with the work's callback) and "
                "report it once the release has answered",
                done_err.sys_errno, done_err.message);
}
END_TEST

WB_TEST(timeout_in_acquire_cancels_it, 2) {
  acquire_plan = (struct step_plan)OK(400, 0);
  work_plan = (struct step_plan)OK(10, 1);
  release_ms = 10;
  start(30);
  run();
  ck_assert_msg(cancelled[ACQUIRE] == 1,
                "the time limit (30 ms) passed during a 400 ms acquire, "
                "which was cancelled %d time(s); expected once "
                "(res_cancel)",
                cancelled[ACQUIRE]);
  ck_assert_msg(calls[WORK] == 0 && calls[RELEASE] == 0,
                "after a time limit during acquire, res_work was called %d "
                "time(s) and res_release %d time(s); expected 0 and 0: a "
                "cancelled acquire holds nothing",
                calls[WORK], calls[RELEASE]);
  assert_error(OP_ETIMEDOUT, "when the time limit passes during acquire");
  ck_assert_msg(wb_elapsed_ms() < 300,
                "the scope took %.0f ms; its time limit was 30 ms",
                wb_elapsed_ms());
}
END_TEST

WB_TEST(timeout_in_work_cancels_and_releases, 3) {
  acquire_plan = (struct step_plan)OK(10, 0);
  work_plan = (struct step_plan)OK(400, 1);
  release_ms = 10;
  start(50);
  run();
  ck_assert_msg(cancelled[WORK] == 1,
                "the time limit (50 ms) passed during a 400 ms work, which "
                "was cancelled %d time(s); expected once",
                cancelled[WORK]);
  assert_released_before_done("when the time limit passes during work");
  assert_error(OP_ETIMEDOUT, "when the time limit passes during work");
  ck_assert_msg(wb_elapsed_ms() < 300,
                "the scope took %.0f ms; its time limit was 50 ms",
                wb_elapsed_ms());
}
END_TEST

WB_TEST(no_time_limit_at_release, 1) {
  acquire_plan = (struct step_plan)OK(0, 0);
  work_plan = (struct step_plan)OK(0, 7);
  release_ms = 400;
  start(150);
  run();
  ck_assert_msg(done_err_null == 1 && done_result == 7,
                "the work was done before the 150 ms limit and the release "
                "ran past it; done got %s (code %d); expected success with "
                "7: once the release has begun, the limit no longer "
                "applies (stop its timer)",
                done_err_null ? "no error" : "an error", (int)done_err.code);
}
END_TEST

WB_TEST(zero_means_no_time_limit, 1) {
  acquire_plan = (struct step_plan)OK(10, 0);
  work_plan = (struct step_plan)OK(60, 8);
  release_ms = 10;
  start(0);
  run();
  ck_assert_msg(done_err_null == 1 && done_result == 8,
                "with timeout_ms 0 (no limit), done got %s (code %d); "
                "expected success with 8",
                done_err_null ? "no error" : "an error", (int)done_err.code);
}
END_TEST

static void cancel_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  if (done_calls == 0)
    cancel_now();
}

static void cancel_at(unsigned ms) {
  ev_timer_init(&cancel_timer, cancel_cb, ms / 1000., 0.);
  ev_timer_start(wb_loop(), &cancel_timer);
}

WB_TEST(cancel_in_acquire_ends_later, 2) {
  acquire_plan = (struct step_plan)OK(300, 0);
  work_plan = (struct step_plan)OK(10, 1);
  release_ms = 10;
  start(0);
  cancel_at(20);
  run();
  ck_assert_msg(cancelled[ACQUIRE] == 1 && calls[RELEASE] == 0,
                "cancelled during acquire: the acquire was cancelled %d "
                "time(s) and res_release called %d time(s); expected 1 "
                "and 0",
                cancelled[ACQUIRE], calls[RELEASE]);
  assert_error(OP_ECANCELED, "when cancelled during acquire");
}
END_TEST

WB_TEST(cancel_in_work_releases, 2) {
  acquire_plan = (struct step_plan)OK(10, 0);
  work_plan = (struct step_plan)OK(300, 1);
  release_ms = 10;
  start(0);
  cancel_at(40);
  run();
  ck_assert_msg(cancelled[WORK] == 1,
                "cancelled during work: the work was cancelled %d time(s); "
                "expected once",
                cancelled[WORK]);
  assert_released_before_done("when cancelled during work");
  assert_error(OP_ECANCELED, "when cancelled during work");
}
END_TEST

static void cancel_twice_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  cancel_now();
  cancel_now();
}

WB_TEST(cancel_twice_or_at_release_changes_nothing, 2) {
  acquire_plan = (struct step_plan)OK(10, 0);
  work_plan = (struct step_plan)OK(300, 1);
  release_ms = 10;
  start(0);
  ev_timer_init(&cancel_timer, cancel_twice_cb, 0.04, 0.);
  ev_timer_start(wb_loop(), &cancel_timer);
  run();
  assert_released_before_done("when cancelled twice");
  assert_error(OP_ECANCELED, "when cancelled twice");
  /* A second scope, cancelled while it releases. */
  memset(calls, 0, sizeof calls), memset(answered, 0, sizeof answered);
  done_calls = 0;
  work_plan = (struct step_plan)OK(10, 5);
  release_ms = 50;
  ev_timer_init(&cancel_timer, cancel_cb, 0., 0.);
  cancel_on_release = 1;
  start(0);
  run();
  ck_assert_msg(done_err_null == 1 && done_result == 5,
                "cancelled while the release was running, the scope "
                "reported %s (code %d); expected success with 5: once the "
                "release has begun, scope_cancel does nothing",
                done_err_null ? "no error" : "an error", (int)done_err.code);
}
END_TEST

/* The races: each of the test's timers below is started in the same
 * callback as the scope's time limit, with the same delay, so libev fires
 * them in the same loop iteration. Which comes first is libev's choice;
 * every order must end the scope once. */
static ev_timer race_err, race_cancel;

static void race_err_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)w, (void)revents;
  for (int i = 0; i < MAX_LIVE; i++)
    if (live[i] && live[i]->kind == WORK) {
      /* The work fails, now. */
      work_plan = (struct step_plan)FAIL(0, OP_ESYS, 104, "connection reset");
      op_answer(loop, live[i]);
      return;
    }
}

static void race(unsigned limit_ms, int with_error, int with_cancel,
                 int scope_first) {
  acquire_plan = (struct step_plan)OK(0, 0);
  work_plan = (struct step_plan)OK(900, 1); /* unless race_err_cb fails it */
  release_ms = 10;
  if (scope_first)
    start(limit_ms);
  ev_timer_init(&race_err, race_err_cb, limit_ms / 1000., 0.);
  ev_timer_init(&race_cancel, cancel_cb, limit_ms / 1000., 0.);
  if (with_error)
    ev_timer_start(wb_loop(), &race_err);
  if (with_cancel)
    ev_timer_start(wb_loop(), &race_cancel);
  if (!scope_first)
    start(limit_ms);
  run();
  assert_released_before_done("in a race");
  ck_assert_msg(done_err_null == 0 &&
                    (done_err.code == OP_ETIMEDOUT ||
                     (with_error && done_err.code == OP_ESYS) ||
                     (with_cancel && done_err.code == OP_ECANCELED)),
                "in a race between the time limit%s%s in one loop "
                "iteration, done got code %d; expected the first ending to "
                "arrive, and only it",
                with_error ? ", an error of the work" : "",
                with_cancel ? ", a cancel" : "", (int)done_err.code);
}

WB_TEST(error_and_time_limit_in_one_iteration, 2) {
  race(40, 1, 0, 1);
}
END_TEST

WB_TEST(error_time_limit_and_cancel_in_one_iteration, 2) {
  race(40, 1, 1, 0);
}
END_TEST

WB_TEST(cancel_and_time_limit_in_one_iteration, 1) {
  race(40, 0, 1, 0);
}
END_TEST

WB_TEST(out_of_memory_returns_null, 2) {
  acquire_plan = (struct step_plan)OK(10, 0);
  work_plan = (struct step_plan)OK(10, 3);
  release_ms = 10;
  for (unsigned k = 1;; k++) {
    done_calls = 0;
    memset(calls, 0, sizeof calls);
    wb_fail_alloc(k);
    struct scope *s = with_resource(wb_loop(), 100, on_done, NULL);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < k) {
      ck_assert_msg(s != NULL, "with_resource returned NULL with no "
                               "allocation failing");
      run();
      break;
    }
    ck_assert_msg(s == NULL,
                  "allocation number %u of with_resource failed, but it "
                  "did not return NULL",
                  k);
    ck_assert_msg(calls[ACQUIRE] == 0,
                  "allocation number %u of with_resource failed and it "
                  "returned NULL, but it had started an acquire: allocate "
                  "first, then start",
                  k);
    wb_run(wb_loop(), 1000);
    ck_assert_msg(done_calls == 0,
                  "with_resource returned NULL, and then done was called: "
                  "after NULL no callback is ever called");
  }
}
END_TEST
