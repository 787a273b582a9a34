/* test_timed_query.c - the tests of exercise 04.1 and their points. Each
 * test talks to a private redis-server (wb_redis_path) over connections it
 * opens itself; query() checks that timed_query returned before done.
 */
#include "timed_query.h"
#include "wbtest.h"

#include <hiredis/adapters/libev.h>
#include <stdio.h>
#include <string.h>

#define MAX_ANSWERS 32

struct answer {
  int calls;
  int type; /* the reply's type, or -1 when reply was NULL */
  long long integer;
  char str[128];
  int error_null;
  char error[160];
  double elapsed_ms;
  void *arg;
};

static struct answer answers[MAX_ANSWERS];
static int order[MAX_ANSWERS], norder;
static int disconnects;

/* The test's connections stay open until every answer the test waits for
 * has come (expect_answers); then they are closed, so the loop can end. */
#define MAX_CONNS 4
static redisAsyncContext *conns[MAX_CONNS];
static int expect_answers, total_answers;

static void on_disconnect(const redisAsyncContext *ac, int status) {
  (void)status;
  for (int i = 0; i < MAX_CONNS; i++)
    if (conns[i] == ac)
      conns[i] = NULL;
  disconnects++;
}

static void close_all(void) {
  for (int i = 0; i < MAX_CONNS; i++) {
    redisAsyncContext *ac = conns[i];
    conns[i] = NULL;
    if (ac)
      redisAsyncDisconnect(ac);
  }
}

/* A connection of the test's own, attached to the test's loop. */
static redisAsyncContext *open_conn(void) {
  redisAsyncContext *ac = redisAsyncConnectUnix(wb_redis_path());
  ck_assert_msg(ac && !ac->err, "the test could not connect to redis-server");
  redisLibevAttach(wb_loop(), ac);
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  for (int i = 0; i < MAX_CONNS; i++)
    if (!conns[i]) {
      conns[i] = ac;
      break;
    }
  return ac;
}

static void record_cb(const redisReply *reply, const char *error,
                      double elapsed_ms, void *arg) {
  struct answer *a = arg;
  a->calls++;
  a->arg = arg;
  a->type = reply ? reply->type : -1;
  a->integer = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
  snprintf(a->str, sizeof a->str, "%s",
           reply && reply->str ? reply->str : "");
  a->error_null = error == NULL;
  snprintf(a->error, sizeof a->error, "%s", error ? error : "");
  a->elapsed_ms = elapsed_ms;
  if (norder < MAX_ANSWERS)
    order[norder++] = (int)(a - answers);
  if (++total_answers == expect_answers)
    close_all();
}

/* timed_query, which must return 0 before done is called. */
static void query(redisAsyncContext *ac, int slot, int argc, const char **argv) {
  int before = answers[slot].calls;
  int rc = timed_query(wb_loop(), ac, argc, argv, record_cb, &answers[slot]);
  ck_assert_msg(answers[slot].calls == before,
                "done was called before timed_query returned (for %s): it "
                "must come later, from the loop, when the answer arrives. "
                "Do not wait for the answer inside timed_query.",
                argv[0]);
  ck_assert_msg(rc == 0, "timed_query returned %d for a command it could send "
                         "(%s); expected 0",
                rc, argv[0]);
}

static void assert_once(int slot, const char *what) {
  ck_assert_msg(answers[slot].calls == 1,
                "done was called %d times for %s; expected exactly once%s",
                answers[slot].calls, what,
                answers[slot].calls ? "" : " (is it called on every path?)");
  ck_assert_msg(answers[slot].arg == &answers[slot],
                "done was given another arg than the one passed to "
                "timed_query: pass it through untouched");
}

WB_TEST(answers_once_from_the_loop, 2) {
  expect_answers = 1;
  redisAsyncContext *ac = open_conn();
  const char *ping[] = {"PING"};
  query(ac, 0, 1, ping);
  wb_run(wb_loop(), 1000);
  assert_once(0, "PING");
  ck_assert_msg(answers[0].type == REDIS_REPLY_STATUS &&
                    !strcmp(answers[0].str, "PONG") && answers[0].error_null,
                "PING should come back as the reply PONG with error NULL; got "
                "reply type %d \"%s\", error \"%s\"",
                answers[0].type, answers[0].str, answers[0].error);
  ck_assert_msg(answers[0].elapsed_ms >= 0 && answers[0].elapsed_ms < 1000,
                "elapsed_ms for a PING was %.3f: it should be the time from "
                "the call to the answer, in milliseconds",
                answers[0].elapsed_ms);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(measures_a_slow_answer_without_blocking, 3) {
  expect_answers = 1;
  redisAsyncContext *ac = open_conn();
  /* The server holds its answer for 200 ms: BLPOP waits for a list that
   * stays empty, then answers nil. */
  const char *blpop[] = {"BLPOP", "wb:empty", "0.2"};
  query(ac, 0, 3, blpop);
  wb_run(wb_loop(), 1000);
  wb_assert_no_block(100);
  assert_once(0, "BLPOP wb:empty 0.2");
  ck_assert_msg(answers[0].type == REDIS_REPLY_NIL && answers[0].error_null,
                "BLPOP on an empty list should come back as a nil reply with "
                "error NULL; got reply type %d, error \"%s\"",
                answers[0].type, answers[0].error);
  ck_assert_msg(answers[0].elapsed_ms >= 150 && answers[0].elapsed_ms <= 1400,
                "the server answered after about 200 ms, but elapsed_ms was "
                "%.3f. It is the time from the call to the answer, in "
                "milliseconds, from a clock finer than a second (ev_now "
                "counts seconds as a double: multiply by 1000).",
                answers[0].elapsed_ms);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(slow_answers_overlap, 2) {
  expect_answers = 2;
  redisAsyncContext *a = open_conn(), *b = open_conn();
  const char *blpop[] = {"BLPOP", "wb:empty", "0.2"};
  double t0 = wb_elapsed_ms();
  query(a, 0, 3, blpop);
  query(b, 1, 3, blpop);
  wb_run(wb_loop(), 1000);
  double took = wb_elapsed_ms() - t0;
  assert_once(0, "the first BLPOP");
  assert_once(1, "the second BLPOP");
  wb_assert_overlap(took, 200, 2);
  for (int i = 0; i < 2; i++)
    ck_assert_msg(answers[i].elapsed_ms >= 150 && answers[i].elapsed_ms <= 1400,
                  "two commands answered after about 200 ms each, side by "
                  "side, but one elapsed_ms was %.3f",
                  answers[i].elapsed_ms);
  wb_assert_no_leaks();
}
END_TEST

/* The test's own callback runs for 300 ms, then sends a PING: the scope
 * begins at the call, not when the loop last woke up. */
static redisAsyncContext *late_ac;
static void late_query_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  double until = wb_elapsed_ms() + 300;
  while (wb_elapsed_ms() < until)
    ;
  const char *ping[] = {"PING"};
  query(late_ac, 0, 1, ping);
}

WB_TEST(clock_starts_at_the_call, 2) {
  expect_answers = 1;
  late_ac = open_conn();
  ev_timer t;
  ev_timer_init(&t, late_query_cb, 0.01, 0.);
  ev_timer_start(wb_loop(), &t);
  wb_run(wb_loop(), 1000);
  assert_once(0, "PING");
  ck_assert_msg(answers[0].elapsed_ms < 250,
                "a PING sent at the end of a 300 ms callback was answered "
                "at once, but elapsed_ms was %.0f: the clock was read as "
                "the loop last saw it, before that callback. ev_now is the "
                "time the loop woke up: call ev_now_update first.",
                answers[0].elapsed_ms);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(server_refusal_is_an_error, 2) {
  expect_answers = 2;
  redisAsyncContext *ac = open_conn();
  const char *bad[] = {"SMEMBERS", "users", "extra"};
  const char *good[] = {"PING"};
  query(ac, 0, 3, bad);
  query(ac, 1, 1, good);
  wb_run(wb_loop(), 1000);
  assert_once(0, "SMEMBERS users extra");
  assert_once(1, "the PING after it");
  ck_assert_msg(answers[0].type == -1 &&
                    strstr(answers[0].error, "wrong number of arguments"),
                "the server refused SMEMBERS users extra (\"ERR wrong number "
                "of arguments ...\"): done should get reply NULL and the "
                "server's message as error; got reply type %d, error \"%s\"",
                answers[0].type, answers[0].error);
  ck_assert_msg(answers[1].type == REDIS_REPLY_STATUS,
                "a PING after a refused command should still be answered");
  wb_assert_no_leaks();
}
END_TEST

static void drop_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  wb_redis_drop_clients();
}

/* Starts the timer once the connection has answered a PING of the test's
 * own: the connection is then surely made, and the command queued after
 * the PING is on its way to the server. */
static void start_when_connected_cb(redisAsyncContext *ac, void *r, void *timer) {
  (void)ac, (void)r;
  ev_timer_start(wb_loop(), timer);
}

WB_TEST(server_gone_is_an_error, 3) {
  redisAsyncContext *ac = open_conn();
  const char *blpop[] = {"BLPOP", "wb:empty", "1"};
  ev_timer drop;
  ev_timer_init(&drop, drop_cb, 0.1, 0.);
  redisAsyncCommand(ac, start_when_connected_cb, &drop, "PING");
  query(ac, 0, 3, blpop);
  wb_run(wb_loop(), 1000);
  assert_once(0, "a BLPOP whose connection the server closed");
  ck_assert_msg(answers[0].type == -1 && !answers[0].error_null &&
                    answers[0].error[0],
                "the server closed the connection before answering: done "
                "should get reply NULL and an error that says so; got reply "
                "type %d, error %s\"%s\"",
                answers[0].type, answers[0].error_null ? "NULL " : "",
                answers[0].error);
  ck_assert_msg(answers[0].elapsed_ms >= 50 && answers[0].elapsed_ms < 900,
                "the connection was closed about 100 ms after the call, but "
                "elapsed_ms was %.0f",
                answers[0].elapsed_ms);
  ck_assert_msg(disconnects == 1, "hiredis should have closed the connection");
  wb_assert_no_leaks();
}
END_TEST

static redisAsyncContext *to_free;
static void free_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  redisAsyncFree(to_free);
}

WB_TEST(owner_closing_is_an_error, 2) {
  to_free = open_conn();
  const char *blpop[] = {"BLPOP", "wb:empty", "1"};
  ev_timer t;
  ev_timer_init(&t, free_cb, 0.1, 0.);
  redisAsyncCommand(to_free, start_when_connected_cb, &t, "PING");
  query(to_free, 0, 3, blpop);
  wb_run(wb_loop(), 1000);
  assert_once(0, "a BLPOP whose connection its owner freed");
  ck_assert_msg(answers[0].type == -1 && !answers[0].error_null &&
                    answers[0].error[0],
                "the connection was freed (redisAsyncFree) before the answer "
                "came: done should get reply NULL and an error that is "
                "neither NULL nor \"\" (hiredis's errstr is empty then: say "
                "it yourself); got error %s\"%s\"",
                answers[0].error_null ? "NULL " : "", answers[0].error);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(answers_in_order_sent, 2) {
  expect_answers = 20;
  redisAsyncContext *ac = open_conn();
  const char *incr[] = {"INCR", "wb:counter"};
  for (int i = 0; i < 20; i++)
    query(ac, i, 2, incr);
  wb_run(wb_loop(), 1000);
  ck_assert_msg(norder == 20, "done was called %d times for 20 commands", norder);
  for (int i = 0; i < 20; i++) {
    assert_once(i, "one of 20 INCR commands");
    ck_assert_msg(order[i] == i && answers[i].integer == i + 1,
                  "20 INCR commands on one connection: answer %d went to the "
                  "done of command %d with the value %lld; each must get its "
                  "own answer, in the order sent",
                  i + 1, order[i], answers[order[i]].integer);
  }
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(refuses_what_it_cannot_send, 2) {
  expect_answers = 1;
  redisAsyncContext *ac = open_conn();
  const char *ping[] = {"PING"};
  query(ac, 0, 1, ping); /* a good one first: it must be sent */
  ck_assert_msg(timed_query(wb_loop(), ac, 0, ping, record_cb, &answers[1]) == -1,
                "timed_query with argc 0 should return -1: there is no command");
  ck_assert_msg(timed_query(wb_loop(), ac, 1, NULL, record_cb, &answers[1]) == -1,
                "timed_query with argv NULL should return -1");
  ck_assert_msg(timed_query(wb_loop(), NULL, 1, ping, record_cb, &answers[1]) == -1,
                "timed_query with ac NULL should return -1");
  /* A connection being closed refuses new commands (the PING above is
   * still due, so it is not closed yet). */
  redisAsyncDisconnect(ac);
  ck_assert_msg(timed_query(wb_loop(), ac, 1, ping, record_cb, &answers[1]) == -1,
                "timed_query on a connection being closed (after "
                "redisAsyncDisconnect) should return -1: hiredis refuses the "
                "command (redisAsyncCommandArgv does not return REDIS_OK)");
  wb_run(wb_loop(), 1000);
  assert_once(0, "the PING sent before");
  ck_assert_msg(answers[1].calls == 0,
                "done was called for a command timed_query refused (-1)");
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(out_of_memory_returns_minus_one, 2) {
  redisAsyncContext *ac = open_conn();
  const char *ping[] = {"PING"};
  int sent = 0;
  for (unsigned n = 1; n < 10; n++) {
    wb_fail_alloc(n);
    int rc = timed_query(wb_loop(), ac, 1, ping, record_cb, &answers[n]);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    ck_assert_msg(answers[n].calls == 0,
                  "done was called from inside timed_query when allocation "
                  "%u ran out of memory: return -1 and never call done",
                  n);
    ck_assert_msg(rc == 0 || rc == -1, "timed_query returned %d", rc);
    if (rc == 0)
      sent++;
    if (used < n) {
      ck_assert_msg(rc == 0, "timed_query returned %d with memory to spare; "
                             "expected 0", rc);
      break;
    }
    ck_assert_msg(rc == -1, "allocation %u of timed_query failed, but it "
                            "returned %d; expected -1", n, rc);
  }
  expect_answers = sent;
  if (sent == 0)
    close_all();
  wb_run(wb_loop(), 1000);
  int called = 0;
  for (int i = 0; i < MAX_ANSWERS; i++)
    called += answers[i].calls;
  ck_assert_msg(called == sent,
                "%d commands were sent and %d answers reported", sent, called);
  wb_assert_no_leaks();
}
END_TEST
