/* test_redis_pool.c - the tests of exercise 04.3 and their points. Each
 * request's holder uses its connection (PING, or BLPOP to hold it a while)
 * and gives it back; once every holder is done the test closes the pool.
 * Events are logged in order, so the tests check order, not clocks.
 */
#include "redis_pool.h"
#include "wbtest.h"

#include <string.h>

#define MAXH 8

struct holder {
  int calls, status, inside;
  struct pool_conn *conn;
  redisAsyncContext *ac; /* pool_conn_ac when it came */
  const char *command;   /* what it sends: "PING" or a BLPOP */
  int keep;              /* does not give it back by itself */
  int replies, nulls;
};

static struct redis_pool *pool;
static struct holder holders[MAXH];
static int in_call, lent_now, max_lent, finished, expected;
static int closed_calls, closed_inside, token;
/* What a test does at a given moment, instead of at a given time: when
 * request i is answered (after its command is sent) or gives back. */
static void (*on_got)(int i);
static void (*on_put)(int i);
static int clients_midway = -1;
static char log_[256]; /* "g0 p0 g1 ..." : got, put, E (error), C (closed) */

static void note(const char *what, int i) {
  char item[8];
  snprintf(item, sizeof item, "%s%d ", what, i);
  strncat(log_, item, sizeof log_ - strlen(log_) - 1);
}

static void closed_cb(void *arg) {
  closed_calls++;
  closed_inside += in_call > 0;
  ck_assert_msg(arg == &token, "closed was given another arg than the one "
                               "passed to redis_pool_close");
  note("C", 0);
}

static void close_pool(void) {
  in_call++;
  redis_pool_close(pool, closed_cb, &token);
  in_call--;
}

static void put(int i) {
  lent_now--;
  note("p", i);
  in_call++;
  redis_pool_put(holders[i].conn);
  in_call--;
  holders[i].conn = NULL;
  if (on_put)
    on_put(i);
}

static void one_finished(void) {
  if (++finished == expected)
    close_pool();
}

static void reply_cb(redisAsyncContext *ac, void *r, void *privdata) {
  struct holder *h = privdata;
  (void)ac;
  if (!r) {
    h->nulls++;
    return; /* a connection that went away: given back later, by the test */
  }
  h->replies++;
  if (clients_midway < 0) /* the first answer: the others still wait */
    clients_midway = wb_redis_clients();
  if (!h->keep) {
    put((int)(h - holders));
    one_finished();
  }
}

static void got_cb(struct pool_conn *conn, int status, void *arg) {
  struct holder *h = arg;
  int i = (int)(h - holders);
  h->calls++;
  h->inside += in_call > 0;
  h->status = status;
  h->conn = conn;
  if (!conn) {
    note("E", i);
    one_finished();
    return;
  }
  note("g", i);
  if (++lent_now > max_lent)
    max_lent = lent_now;
  h->ac = pool_conn_ac(conn);
  ck_assert_msg(h->ac != NULL, "a connection was handed out, but "
                               "pool_conn_ac gives NULL for it");
  redisAsyncCommand(h->ac, reply_cb, h, h->command);
  if (on_got)
    on_got(i);
}

static void get(int i, const char *command) {
  holders[i].command = command;
  in_call++;
  int rc = redis_pool_get(pool, got_cb, &holders[i]);
  in_call--;
  ck_assert_msg(rc == 0, "redis_pool_get returned %d; expected 0", rc);
  ck_assert_msg(holders[i].calls == 0,
                "redis_pool_get called back before it returned: the answer "
                "must come later, from the loop");
}

static void new_pool(const char *path, unsigned size) {
  pool = redis_pool_new(wb_loop(), path, size);
  ck_assert_msg(pool != NULL, "redis_pool_new(loop, path, %u) returned NULL",
                size);
}

static void assert_all_back(int n, const char *what) {
  for (int i = 0; i < n; i++) {
    ck_assert_msg(holders[i].calls == 1,
                  "%s: request %d was answered %d times; expected once "
                  "(order of events: %s)",
                  what, i, holders[i].calls, log_);
    ck_assert_msg(holders[i].inside == 0,
                  "%s: a request was answered from inside redis_pool_get, "
                  "_put or _close: answer from the loop",
                  what);
  }
  ck_assert_msg(closed_calls == 1 && closed_inside == 0,
                "%s: closed was called %d times (%d from inside a call of "
                "the pool); expected once, from the loop (order of events: "
                "%s)",
                what, closed_calls, closed_inside, log_);
  int clients = wb_redis_clients();
  ck_assert_msg(clients == 0, "%s: after closed, the server still had %d "
                              "client(s): a connection was not closed",
                what, clients);
  wb_assert_no_leaks();
}

WB_TEST(hands_out_a_working_connection, 2) {
  new_pool(wb_redis_path(), 2);
  expected = 1;
  get(0, "PING");
  wb_run(wb_loop(), 1000);
  ck_assert_msg(holders[0].status == 0 && holders[0].replies == 1,
                "the connection handed out should answer a PING (status %d, "
                "%d answers)",
                holders[0].status, holders[0].replies);
  assert_all_back(1, "one request");
}
END_TEST

WB_TEST(never_more_than_size_in_order, 3) {
  new_pool(wb_redis_path(), 2);
  expected = 5;
  for (int i = 0; i < 5; i++)
    get(i, "BLPOP wb:empty 0.1");
  wb_run(wb_loop(), 1000);
  ck_assert_msg(max_lent <= 2, "a pool of size 2 had %d connections lent out "
                               "at once",
                max_lent);
  ck_assert_msg(clients_midway == 2,
                "while 5 requests wanted a pool of size 2, the server counted "
                "%d clients at the first answer; expected 2 (no more than "
                "size, and as many as that while requests wait)",
                clients_midway);
  ck_assert_msg(!strncmp(log_, "g0 g1 ", 6) && strstr(log_, "g2 ") &&
                    strstr(log_, "g2 ") < strstr(log_, "g3 ") &&
                    strstr(log_, "g3 ") < strstr(log_, "g4 "),
                "requests must be served in the order they were made; the "
                "order of events was: %s",
                log_);
  for (int i = 0; i < 5; i++)
    ck_assert_msg(holders[i].replies == 1, "request %d's BLPOP got no answer",
                  i);
  assert_all_back(5, "5 requests on a pool of 2");
}
END_TEST

static void get2_after_put1(int i) {
  if (i == 1)
    get(2, "PING"); /* the connection is idle now */
}

WB_TEST(reuses_idle_connections, 2) {
  new_pool(wb_redis_path(), 1);
  expected = 3;
  on_put = get2_after_put1;
  get(0, "PING");
  get(1, "PING");
  wb_run(wb_loop(), 1000);
  ck_assert_msg(holders[0].ac == holders[1].ac && holders[1].ac == holders[2].ac,
                "three requests on a pool of size 1 should get the same "
                "connection, given back and lent again; they got different "
                "ones");
  assert_all_back(3, "3 requests on a pool of 1");
}
END_TEST

static void get1_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  get(1, "PING");
}

static ev_timer later;
static void drop_after_put0(int i) {
  if (i != 0)
    return;
  wb_redis_drop_clients(); /* the idle connection is closed by the server */
  ev_timer_init(&later, get1_cb, 0.1, 0.); /* the pool has seen it by then */
  ev_timer_start(wb_loop(), &later);
}

WB_TEST(killed_idle_connection_never_handed_out, 3) {
  new_pool(wb_redis_path(), 1);
  expected = 2;
  on_put = drop_after_put0;
  get(0, "PING"); /* answered, given back: idle */
  wb_run(wb_loop(), 1000);
  ck_assert_msg(holders[1].calls == 1 && holders[1].status == 0,
                "after the server closed the idle connection, a new request "
                "should get a fresh one (status %d)",
                holders[1].status);
  ck_assert_msg(holders[1].replies == 1 && holders[1].nulls == 0,
                "the connection handed out after the server closed the idle "
                "one did not answer its PING: a closed connection was handed "
                "out. Drop an idle connection in its disconnect callback.");
  assert_all_back(2, "an idle connection the server closed");
}
END_TEST

static void drop_when_got0(int i) {
  if (i == 0)
    wb_redis_drop_clients(); /* while request 0 holds the only place */
}

static void put_gone_after_put1(int i) {
  if (i != 1)
    return;
  ck_assert_msg(holders[0].nulls == 1 && pool_conn_ac(holders[0].conn) == NULL,
                "the server closed a lent-out connection: its command got "
                "%d NULL replies, and pool_conn_ac should now give NULL",
                holders[0].nulls);
  put(0);
  one_finished();
}

WB_TEST(killed_while_lent_frees_its_place, 2) {
  new_pool(wb_redis_path(), 1);
  expected = 2;
  holders[0].keep = 1;
  on_got = drop_when_got0;
  on_put = put_gone_after_put1;
  get(0, "BLPOP wb:empty 1");
  get(1, "PING"); /* waits: the only place is taken */
  wb_run(wb_loop(), 1000);
  ck_assert_msg(holders[1].calls == 1 && holders[1].replies == 1,
                "the waiting request should get a new, working connection");
  ck_assert_msg(strstr(log_, "g1 ") && strstr(log_, "p0 ") &&
                    strstr(log_, "g1 ") < strstr(log_, "p0 "),
                "once the server closed the lent-out connection, it no "
                "longer counts toward size: the waiting request should get a "
                "new one before the gone one is given back (the test gives it "
                "back only then). Order of events: %s",
                log_);
  assert_all_back(2, "a lent-out connection the server closed");
}
END_TEST

WB_TEST(connect_failure_answers_with_error, 2) {
  wb_redis_path();
  new_pool("/tmp/wb-no-such-folder/redis.sock", 2);
  expected = 2;
  get(0, "PING");
  get(1, "PING");
  wb_run(wb_loop(), 1000);
  for (int i = 0; i < 2; i++)
    ck_assert_msg(holders[i].status == POOL_ECONNECT && !holders[i].conn,
                  "with no server on the socket, each request should get "
                  "NULL and POOL_ECONNECT; request %d got status %d",
                  i, holders[i].status);
  assert_all_back(2, "no server");
}
END_TEST

static int get_after_close = 12345;
static void close_when_got0(int i) {
  if (i != 0)
    return;
  note("X", 0);
  close_pool();
  in_call++;
  get_after_close = redis_pool_get(pool, got_cb, &holders[5]);
  in_call--;
}

WB_TEST(close_fails_waiters_and_waits_for_lent, 3) {
  new_pool(wb_redis_path(), 1);
  expected = 100; /* the test closes the pool itself */
  on_got = close_when_got0;
  get(0, "BLPOP wb:empty 0.2");
  get(1, "PING");
  wb_run(wb_loop(), 1000);
  ck_assert_msg(get_after_close == -1 && holders[5].calls == 0,
                "redis_pool_get on a closing pool should return -1 and never "
                "call back");
  ck_assert_msg(holders[1].status == POOL_ECLOSED && !holders[1].conn,
                "a request still waiting when the pool closes should get NULL "
                "and POOL_ECLOSED; it got status %d",
                holders[1].status);
  ck_assert_msg(strstr(log_, "p0 ") && strstr(log_, "C0 ") &&
                    strstr(log_, "p0 ") < strstr(log_, "C0 "),
                "closed must wait until the lent-out connection is given "
                "back and closed. Order of events: %s",
                log_);
  assert_all_back(2, "close with one lent and one waiting");
}
END_TEST

WB_TEST(size_zero_is_refused, 1) {
  ck_assert_msg(redis_pool_new(wb_loop(), wb_redis_path(), 0) == NULL,
                "redis_pool_new with size 0 should return NULL");
  new_pool(wb_redis_path(), 1);
  expected = 1;
  get(0, "PING");
  wb_run(wb_loop(), 1000);
  assert_all_back(1, "size 1");
}
END_TEST

WB_TEST(out_of_memory_changes_nothing, 2) {
  const char *path = wb_redis_path();
  for (unsigned n = 1;; n++) {
    wb_fail_alloc(n);
    pool = redis_pool_new(wb_loop(), path, 2);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < n)
      break;
    ck_assert_msg(pool == NULL, "allocation %u of redis_pool_new failed, but "
                                "it returned a pool", n);
    ck_assert_msg(n < 8, "redis_pool_new keeps allocating");
  }
  ck_assert_msg(pool != NULL, "redis_pool_new returned NULL with memory to "
                              "spare");
  for (unsigned n = 1;; n++) {
    holders[0].command = "PING";
    wb_fail_alloc(n);
    in_call++;
    int rc = redis_pool_get(pool, got_cb, &holders[0]);
    in_call--;
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < n) {
      ck_assert_msg(rc == 0, "redis_pool_get returned %d with memory to "
                             "spare", rc);
      break;
    }
    ck_assert_msg(rc == -1, "allocation %u of redis_pool_get failed, but it "
                            "returned %d; expected -1", n, rc);
    ck_assert_msg(n < 8, "redis_pool_get keeps allocating");
  }
  expected = 1;
  wb_run(wb_loop(), 1000);
  assert_all_back(1, "out of memory, then a request");
}
END_TEST
