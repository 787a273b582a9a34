/* test_redis_scope.c - the tests of exercise 04.2 and their points. The
 * body is the tests' own: it sends commands on the connection it is given
 * and ends the scope on cue. Endings the tests cause themselves: the server
 * dropping its clients, a time limit, a cancel, a socket with no server.
 */
#include "redis_scope.h"
#include "wbtest.h"

#include <string.h>

enum body_mode {
  BODY_INCR,      /* two INCR; ends with 0 after the first answer */
  BODY_REFUSED,   /* a command the server refuses; ends with -7 */
  BODY_EMPTY,     /* ends with 0 at once, inside the body */
  BODY_WAIT,      /* BLPOP for 1 s, never ends by itself */
  BODY_SHORT,     /* BLPOP for 0.2 s, then ends with 0 */
  BODY_END_TWICE  /* two INCR; ends with 5, cancels, ends with 6 */
};

static enum body_mode mode;
static int clients_midway = -1;
/* Timers the body starts once it runs: what the test does to a scope
 * whose body is under way (drop the server's clients, cancel). */
static ev_timer *in_body[2];
static int in_call;     /* inside a call of redis_scope_open, _end or _cancel */
static int body_calls, body_inside, body_null_ac;
static int answers, nulls, refusals;
static int done_calls, done_inside, done_status = 12345;
static int answers_at_done = -1, nulls_at_done = -1;
static double done_at;
static void *done_arg;
static int token;

static void end_scope(struct redis_scope *s, int status) {
  in_call++;
  redis_scope_end(s, status);
  in_call--;
}

static void cancel_scope(struct redis_scope *s) {
  in_call++;
  redis_scope_cancel(s);
  in_call--;
}

static void reply_cb(redisAsyncContext *ac, void *r, void *privdata) {
  struct redis_scope *s = privdata;
  redisReply *reply = r;
  (void)ac;
  if (!reply) {
    nulls++;
    return;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    refusals++;
    end_scope(s, -7);
    return;
  }
  answers++;
  if (mode == BODY_INCR && answers == 1)
    end_scope(s, 0);
  if (mode == BODY_SHORT)
    end_scope(s, 0);
  if (mode == BODY_END_TWICE && answers == 1) {
    end_scope(s, 5);
    cancel_scope(s);
    end_scope(s, 6);
  }
}

static void body(struct redis_scope *s, redisAsyncContext *ac, void *arg) {
  body_calls++;
  body_inside += in_call > 0;
  body_null_ac += ac == NULL;
  ck_assert_msg(arg == &token, "the body was given another arg than the one "
                               "passed to redis_scope_open");
  if (!ac)
    return;
  switch (mode) {
  case BODY_INCR:
  case BODY_END_TWICE:
    redisAsyncCommand(ac, reply_cb, s, "INCR wb:n");
    redisAsyncCommand(ac, reply_cb, s, "INCR wb:n");
    break;
  case BODY_REFUSED:
    redisAsyncCommand(ac, reply_cb, s, "SMEMBERS users extra");
    break;
  case BODY_EMPTY:
    end_scope(s, 0);
    break;
  case BODY_WAIT:
    redisAsyncCommand(ac, reply_cb, s, "BLPOP wb:empty 1");
    for (int i = 0; i < 2; i++)
      if (in_body[i])
        ev_timer_start(wb_loop(), in_body[i]);
    break;
  case BODY_SHORT:
    redisAsyncCommand(ac, reply_cb, s, "BLPOP wb:empty 0.2");
    if (body_calls == 3) /* all three connected: the server counts them */
      clients_midway = wb_redis_clients();
    break;
  }
}

static void done_cb(int status, void *arg) {
  done_calls++;
  done_inside += in_call > 0;
  done_status = status;
  done_arg = arg;
  answers_at_done = answers;
  nulls_at_done = nulls;
  done_at = wb_elapsed_ms();
}

static struct redis_scope *open_scope(const char *path, unsigned timeout_ms) {
  /* Starting the server took a while: time limits count from now. */
  ev_now_update(wb_loop());
  in_call++;
  struct redis_scope *s =
      redis_scope_open(wb_loop(), path, timeout_ms, body, done_cb, &token);
  in_call--;
  ck_assert_msg(s != NULL, "redis_scope_open returned NULL with memory to "
                           "spare");
  return s;
}

/* What every test checks once the loop has finished. */
static void assert_done_once(int want_status, const char *path) {
  ck_assert_msg(body_inside == 0,
                "the body ran inside redis_scope_open (or inside end or "
                "cancel): it must start from the loop, once connected");
  ck_assert_msg(done_inside == 0,
                "done was called from inside redis_scope_open, _end or "
                "_cancel: it must come later, from the loop");
  ck_assert_msg(done_calls == 1, "done was called %d times on the %s path; "
                                 "expected exactly once",
                done_calls, path);
  ck_assert_msg(done_arg == &token, "done was given another arg than the one "
                                    "passed to redis_scope_open");
  ck_assert_msg(done_status == want_status,
                "on the %s path done got status %d; expected %d", path,
                done_status, want_status);
}

static void assert_closed(const char *path) {
  int clients = wb_redis_clients();
  ck_assert_msg(clients == 0,
                "after the %s path the server still had %d client(s) "
                "connected: the scope's connection was not closed",
                path, clients);
  wb_assert_no_leaks();
}

WB_TEST(success_closes_after_answers, 3) {
  mode = BODY_INCR;
  open_scope(wb_redis_path(), 0);
  ck_assert_msg(body_calls == 0 && done_calls == 0,
                "redis_scope_open called the body or done before it "
                "returned: it only starts connecting");
  wb_run(wb_loop(), 1000);
  assert_done_once(0, "success");
  ck_assert_msg(body_calls == 1 && body_null_ac == 0,
                "the body was called %d times (with a NULL connection %d "
                "times); expected once, with the open connection",
                body_calls, body_null_ac);
  ck_assert_msg(answers_at_done == 2 && nulls_at_done == 0,
                "the body ended with a second INCR still due: a graceful "
                "close answers it first (redisAsyncDisconnect), then done. "
                "At done, %d answers and %d NULL replies had come; expected "
                "2 and 0",
                answers_at_done, nulls_at_done);
  assert_closed("success");
}
END_TEST

WB_TEST(body_status_reported, 2) {
  mode = BODY_REFUSED;
  open_scope(wb_redis_path(), 0);
  wb_run(wb_loop(), 1000);
  ck_assert_msg(refusals == 1, "the body's refused command was answered %d "
                               "times", refusals);
  assert_done_once(-7, "body error");
  assert_closed("body error");
}
END_TEST

WB_TEST(empty_body_ends_at_once, 2) {
  mode = BODY_EMPTY;
  open_scope(wb_redis_path(), 0);
  wb_run(wb_loop(), 1000);
  ck_assert_msg(body_calls == 1, "the body was called %d times", body_calls);
  assert_done_once(0, "empty body");
  assert_closed("empty body");
}
END_TEST

static void drop_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  wb_redis_drop_clients();
}

WB_TEST(server_gone_ends_scope, 3) {
  mode = BODY_WAIT;
  open_scope(wb_redis_path(), 0);
  ev_timer drop;
  ev_timer_init(&drop, drop_cb, 0.05, 0.);
  in_body[0] = &drop;
  wb_run(wb_loop(), 1000);
  assert_done_once(SCOPE_EGONE, "server gone");
  ck_assert_msg(nulls_at_done == 1,
                "the server closed the connection while a BLPOP was due: "
                "hiredis answers it with NULL before done; at done %d NULL "
                "replies had come",
                nulls_at_done);
  assert_closed("server gone");
}
END_TEST

WB_TEST(time_limit_closes_at_once, 3) {
  mode = BODY_WAIT;
  const char *path = wb_redis_path();
  double t0 = wb_elapsed_ms();
  open_scope(path, 150);
  wb_run(wb_loop(), 1000);
  assert_done_once(SCOPE_ETIMEDOUT, "time limit");
  ck_assert_msg(done_at - t0 < 800,
                "with a time limit of 150 ms, done came after %.0f ms: when "
                "the limit passes, close the connection at once "
                "(redisAsyncFree), do not wait for the BLPOP of 1 s",
                done_at - t0);
  ck_assert_msg(nulls_at_done == 1, "the BLPOP still due should get a NULL "
                                    "reply before done; %d came",
                nulls_at_done);
  assert_closed("time limit");
}
END_TEST

static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
}

WB_TEST(time_limit_stops_on_other_endings, 2) {
  mode = BODY_INCR;
  open_scope(wb_redis_path(), 250);
  /* The loop stays busy past the limit: a limit left running would fire. */
  ev_timer keep;
  ev_timer_init(&keep, idle_cb, 0.4, 0.);
  ev_timer_start(wb_loop(), &keep);
  wb_run(wb_loop(), 1000);
  assert_done_once(0, "success with a time limit");
  assert_closed("success with a time limit");
}
END_TEST

static struct redis_scope *to_cancel;
static void cancel_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  cancel_scope(to_cancel);
}

WB_TEST(cancel_during_body, 2) {
  mode = BODY_WAIT;
  to_cancel = open_scope(wb_redis_path(), 0);
  ev_timer t;
  ev_timer_init(&t, cancel_cb, 0.05, 0.);
  in_body[0] = &t;
  wb_run(wb_loop(), 1000);
  assert_done_once(SCOPE_ECANCELED, "cancel");
  ck_assert_msg(nulls_at_done == 1, "the BLPOP still due should get a NULL "
                                    "reply before done; %d came",
                nulls_at_done);
  assert_closed("cancel");
}
END_TEST

WB_TEST(cancel_while_connecting, 2) {
  mode = BODY_INCR;
  struct redis_scope *s = open_scope(wb_redis_path(), 0);
  cancel_scope(s);
  wb_run(wb_loop(), 1000);
  ck_assert_msg(body_calls == 0, "the scope was cancelled before it was "
                                 "connected, but the body was called");
  assert_done_once(SCOPE_ECANCELED, "cancel while connecting");
  assert_closed("cancel while connecting");
}
END_TEST

WB_TEST(only_first_ending_counts, 2) {
  mode = BODY_END_TWICE;
  open_scope(wb_redis_path(), 0);
  wb_run(wb_loop(), 1000);
  assert_done_once(5, "end, then cancel, then end again");
  ck_assert_msg(answers_at_done == 2,
                "the body ended first (a graceful close), so the INCR still "
                "due is answered before done; a cancel after that changes "
                "nothing. At done %d answers had come; expected 2",
                answers_at_done);
  assert_closed("end, then cancel, then end again");
}
END_TEST

WB_TEST(cancel_twice_counts_once, 1) {
  mode = BODY_WAIT;
  struct redis_scope *s = open_scope(wb_redis_path(), 0);
  to_cancel = s;
  ev_timer t, t2;
  ev_timer_init(&t, cancel_cb, 0.05, 0.);
  ev_timer_init(&t2, cancel_cb, 0.05, 0.);
  in_body[0] = &t;
  in_body[1] = &t2;
  wb_run(wb_loop(), 1000);
  assert_done_once(SCOPE_ECANCELED, "cancel twice");
  assert_closed("cancel twice");
}
END_TEST

WB_TEST(connect_failure_reported_later, 2) {
  mode = BODY_INCR;
  wb_redis_path(); /* a server runs, but not on this socket */
  open_scope("/tmp/wb-no-such-folder/redis.sock", 0);
  ck_assert_msg(done_calls == 0, "done was called from inside "
                                 "redis_scope_open: report from the loop");
  wb_run(wb_loop(), 1000);
  ck_assert_msg(body_calls == 0, "the connection could not be made, but the "
                                 "body was called");
  assert_done_once(SCOPE_ECONNECT, "connection failure");
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(out_of_memory_returns_null, 2) {
  mode = BODY_EMPTY;
  const char *path = wb_redis_path();
  for (unsigned n = 1;; n++) {
    wb_fail_alloc(n);
    in_call++;
    struct redis_scope *s =
        redis_scope_open(wb_loop(), path, 0, body, done_cb, &token);
    in_call--;
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < n) {
      ck_assert_msg(s != NULL, "redis_scope_open returned NULL with memory to "
                               "spare");
      break;
    }
    ck_assert_msg(s == NULL, "allocation %u of redis_scope_open failed, but "
                             "it did not return NULL", n);
    ck_assert_msg(n < 8, "redis_scope_open keeps allocating");
  }
  wb_run(wb_loop(), 1000);
  assert_done_once(0, "out of memory, then success");
  assert_closed("out of memory");
}
END_TEST

WB_TEST(scopes_overlap, 2) {
  mode = BODY_SHORT;
  const char *path = wb_redis_path();
  double t0 = wb_elapsed_ms();
  for (int i = 0; i < 3; i++)
    open_scope(path, 0);
  wb_run(wb_loop(), 1000);
  ck_assert_msg(done_calls == 3 && done_inside == 0 && done_status == 0,
                "three scopes: done was called %d times (expected 3, each "
                "from the loop, with status 0)",
                done_calls);
  ck_assert_msg(clients_midway == 3,
                "three scopes were open at once, but when the third body "
                "began the server counted %d clients",
                clients_midway);
  wb_assert_overlap(wb_elapsed_ms() - t0, 200, 3);
  assert_closed("three scopes");
}
END_TEST
