/* fetch_suite.c - the guide's pytest-asyncio tests in C: a small test suite
 * for fetch_data and fetch_multiple, written in plain C with a harness of
 * its own (what Check and the grader's wbtest.h do, in 60 lines): a fresh
 * loop and a local server per test, a run bounded by a deadline, callbacks
 * that count, counts asserted after the loop returns, failures on cue.
 * Usage: fetch_suite [TEST]   (one test by its name, or all of them)
 * expect: failed < 1, passed > 7, elapsed_ms < 5000
 */
#include "wb_http.h"
#include "wb_lag.h"
#include "wb_server.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The code under test ------------------------------------------------- */

/* Allocation failure on cue: the code under test allocates through here,
 * and a test can make its n-th allocation fail (wb_fail_alloc in wbtest.h
 * does the same for an exercise, without a hook in the code). */
static unsigned fail_nth, allocs;
static void *xmalloc(size_t n) {
  return ++allocs == fail_nth ? NULL : malloc(n);
}

/* async def fetch_data(url) -> dict: `done` gets the document, or NULL and
 * a reason. Called exactly once, from the loop, never from fetch_data. */
typedef void (*fetch_data_cb)(json_t *data, const char *error, void *arg);

struct fetch {
  fetch_data_cb done;
  void *arg;
};

static void fetch_data_resume(struct ev_loop *loop, long status,
                              const char *body, size_t len, const char *error,
                              void *arg) {
  struct fetch *f = arg;
  json_t *data = NULL;
  json_error_t jerr;
  (void)loop;
  if (!error && status >= 400)
    error = "the server answered with an error status";
  if (!error && !(data = json_loadb(body, len, 0, &jerr)))
    error = "the body is not JSON";
  f->done(data, error, f->arg);
  json_decref(data);
  free(f);
}

/* Returns 0, or -1 when it could not start (then `done` is never called). */
static int fetch_data(struct ev_loop *loop, const char *url, fetch_data_cb done,
                      void *arg) {
  struct fetch *f = xmalloc(sizeof *f);
  if (!f)
    return -1;
  *f = (struct fetch){done, arg};
  if (wb_http_get(loop, url, 2000, fetch_data_resume, f, NULL) < 0) {
    free(f);
    return -1;
  }
  return 0;
}

/* async def fetch_multiple(urls): gather over fetch_data. `done` gets one
 * result per URL, in the order of the URLs (NULL where that fetch failed),
 * once, from the loop; for no URL at all, too. */
typedef void (*fetch_multiple_cb)(json_t **results, int n, void *arg);

struct gather;
struct slot {
  struct gather *g;
  int index;
};
struct gather {
  int n, pending;
  fetch_multiple_cb done;
  void *arg;
  json_t **results;
  struct slot *slots;
};

static void gather_finish(struct gather *g) {
  g->done(g->results, g->n, g->arg);
  for (int i = 0; i < g->n; i++)
    json_decref(g->results[i]);
  free(g->results);
  free(g->slots);
  free(g);
}

static void slot_done(json_t *data, const char *error, void *arg) {
  struct slot *s = arg;
  (void)error;
  s->g->results[s->index] = json_incref(data);
  if (--s->g->pending == 0)
    gather_finish(s->g);
}

/* A slot whose fetch could not start, or a gather of nothing, still ends
 * from the loop, never from inside fetch_multiple. */
static void slot_failed_later(int revents, void *arg) {
  (void)revents;
  slot_done(NULL, "could not start", arg);
}
static void gather_empty_later(int revents, void *arg) {
  (void)revents;
  gather_finish(arg);
}

static int fetch_multiple(struct ev_loop *loop, const char **urls, int n,
                          fetch_multiple_cb done, void *arg) {
  struct gather *g = xmalloc(sizeof *g);
  if (!g)
    return -1;
  *g = (struct gather){n, n, done, arg, calloc((size_t)n + 1, sizeof(json_t *)),
                       calloc((size_t)n + 1, sizeof(struct slot))};
  if (!g->results || !g->slots) {
    free(g->results);
    free(g->slots);
    free(g);
    return -1;
  }
  if (n == 0)
    ev_once(loop, -1, 0, 0., gather_empty_later, g);
  for (int i = 0; i < n; i++) {
    g->slots[i] = (struct slot){g, i};
    if (fetch_data(loop, urls[i], slot_done, &g->slots[i]) < 0)
      ev_once(loop, -1, 0, 0., slot_failed_later, &g->slots[i]);
  }
  return 0;
}

/* ---- The harness: what Check and wbtest.h do for the exercises ----------- */

/* The fixture: the C form of the guide's async_client. Each test gets a
 * fresh loop and a server of its own, started before the test and stopped
 * after it, whatever the test did. */
static struct fixture {
  struct ev_loop *loop;
  wb_server_t *server;
  char url[128];
} fx;

static const char *url(const char *path) {
  snprintf(fx.url, sizeof fx.url, "http://127.0.0.1:%d%s",
           wb_server_port(fx.server), path);
  return fx.url;
}

static int setup(void) {
  fx.loop = ev_loop_new(EVFLAG_AUTO);
  return fx.loop && wb_server_start(&fx.server, "127.0.0.1", 0) == 0 ? 0 : -1;
}

static void teardown(void) {
  wb_server_stop(fx.server);
  ev_loop_destroy(fx.loop);
  fail_nth = allocs = 0;
}

/* A bounded run: ev_run until the loop has nothing left to do, or at most
 * `ms`. The deadline timer is unref'ed so that it never keeps the loop
 * alive by itself. Returns 0, or -1 when the deadline passed. */
static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  *(int *)w->data = 1;
  ev_break(loop, EVBREAK_ALL);
}

static int run_bounded(struct ev_loop *loop, unsigned ms) {
  int timed_out = 0;
  ev_timer deadline;
  ev_timer_init(&deadline, deadline_cb, ms / 1000., 0.);
  deadline.data = &timed_out;
  ev_timer_start(loop, &deadline);
  ev_unref(loop);
  ev_run(loop, 0);
  ev_ref(loop); /* before the stop, as libev asks of an unref'ed watcher */
  ev_timer_stop(loop, &deadline);
  return timed_out ? -1 : 0;
}

/* ck_assert in plain C: report where, and end the test. */
static const char *failure;
static char failbuf[256];
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      snprintf(failbuf, sizeof failbuf, "line %d: %s", __LINE__, #cond);       \
      failure = failbuf;                                                       \
      return;                                                                  \
    }                                                                          \
  } while (0)

/* ---- The tests ------------------------------------------------------------- */

/* What each callback saw, counted: asserted after the loop has returned. */
static struct seen {
  int calls;
  json_t *data;
  char error[128];
  int n;
  json_int_t ids[4];
} seen;

static void count_fetch(json_t *data, const char *error, void *arg) {
  (void)arg;
  seen.calls++;
  seen.data = json_incref(data);
  snprintf(seen.error, sizeof seen.error, "%s", error ? error : "");
}

static void count_gather(json_t **results, int n, void *arg) {
  (void)arg;
  seen.calls++;
  seen.n = n;
  for (int i = 0; i < n && i < 4; i++) /* "id", or else "delay_ms" */
    seen.ids[i] = !results[i] ? -1
                  : json_object_get(results[i], "id")
                      ? json_integer_value(json_object_get(results[i], "id"))
                      : json_integer_value(json_object_get(results[i], "delay_ms"));
}

/* test_fetch_data: `assert "results" in data`. */
static void test_fetch_data(void) {
  CHECK(fetch_data(fx.loop, url("/json"), count_fetch, NULL) == 0);
  CHECK(seen.calls == 0); /* never from inside the call */
  CHECK(run_bounded(fx.loop, 1000) == 0);
  CHECK(seen.calls == 1);
  CHECK(json_object_get(seen.data, "name") != NULL);
}

/* test_concurrent_fetch: `assert len(results) == 2`, and more: in order,
 * and both requests were in flight together (a fact, not a stopwatch). */
static void test_concurrent_fetch(void) {
  const char *urls[2];
  char a[128];
  snprintf(a, sizeof a, "%s", url("/delay/100"));
  urls[0] = a;
  urls[1] = url("/json/2");
  CHECK(fetch_multiple(fx.loop, urls, 2, count_gather, NULL) == 0);
  CHECK(run_bounded(fx.loop, 1000) == 0);
  CHECK(seen.calls == 1);
  CHECK(seen.n == 2);
  CHECK(seen.ids[0] == 100 && seen.ids[1] == 2); /* the slow one first */
  CHECK(wb_server_most_open(fx.server) == 2);
}

/* test_api_endpoint(async_client): the fixture's server, a real response. */
static void test_api_endpoint(void) {
  CHECK(fetch_data(fx.loop, url("/json/7"), count_fetch, NULL) == 0);
  CHECK(run_bounded(fx.loop, 1000) == 0);
  CHECK(seen.calls == 1 && seen.data);
  CHECK(json_integer_value(json_object_get(seen.data, "id")) == 7);
  CHECK(wb_server_answered(fx.server) == 1);
}

/* Failures on cue: the server fails when the test asks it to. */
static void test_server_error(void) {
  CHECK(fetch_data(fx.loop, url("/status/500"), count_fetch, NULL) == 0);
  CHECK(run_bounded(fx.loop, 1000) == 0);
  CHECK(seen.calls == 1 && !seen.data && seen.error[0]);
}

static void test_connection_closed(void) {
  CHECK(fetch_data(fx.loop, url("/close"), count_fetch, NULL) == 0);
  CHECK(run_bounded(fx.loop, 1000) == 0);
  CHECK(seen.calls == 1 && !seen.data && seen.error[0]);
}

/* A race on cue: a 0 ms timer runs on the loop's first iteration, before
 * any response can have arrived, and breaks the loop there. */
static void stop_now(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)w, (void)revents;
  ev_break(loop, EVBREAK_ONE);
}

static void test_not_done_after_one_turn(void) {
  ev_timer zero;
  ev_timer_init(&zero, stop_now, 0., 0.);
  ev_timer_start(fx.loop, &zero);
  CHECK(fetch_data(fx.loop, url("/json"), count_fetch, NULL) == 0);
  ev_run(fx.loop, 0); /* one turn: the 0 ms timer stops it */
  CHECK(seen.calls == 0);
  CHECK(run_bounded(fx.loop, 1000) == 0); /* then let it finish */
  CHECK(seen.calls == 1);
}

/* Out of memory on cue: fetch_data's first allocation fails. */
static void test_out_of_memory(void) {
  fail_nth = 1;
  CHECK(fetch_data(fx.loop, url("/json"), count_fetch, NULL) == -1);
  CHECK(run_bounded(fx.loop, 1000) == 0);
  CHECK(seen.calls == 0); /* it said no: no callback, ever */
  CHECK(wb_server_answered(fx.server) == 0);
}

/* Empty input: fetch_multiple of nothing calls back once, with nothing. */
static void test_fetch_multiple_empty(void) {
  CHECK(fetch_multiple(fx.loop, NULL, 0, count_gather, NULL) == 0);
  CHECK(run_bounded(fx.loop, 1000) == 0);
  CHECK(seen.calls == 1 && seen.n == 0);
}

static const struct test {
  const char *name;
  void (*fn)(void);
} tests[] = {
    {"test_fetch_data", test_fetch_data},
    {"test_concurrent_fetch", test_concurrent_fetch},
    {"test_api_endpoint", test_api_endpoint},
    {"test_server_error", test_server_error},
    {"test_connection_closed", test_connection_closed},
    {"test_not_done_after_one_turn", test_not_done_after_one_turn},
    {"test_out_of_memory", test_out_of_memory},
    {"test_fetch_multiple_empty", test_fetch_multiple_empty},
};

int main(int argc, char **argv) {
  int passed = 0, failed = 0;
  double t0 = wb_now_ms();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    if (argc > 1 && strcmp(argv[1], tests[i].name) != 0)
      continue; /* fetch_suite TEST runs that test alone */
    memset(&seen, 0, sizeof seen);
    failure = NULL;
    if (setup() < 0)
      failure = "the fixture could not start";
    else
      tests[i].fn();
    teardown();
    json_decref(seen.data);
    printf("%s %s%s%s\n", failure ? "FAIL" : "ok  ", tests[i].name,
           failure ? ": " : "", failure ? failure : "");
    failure ? failed++ : passed++;
  }
  curl_global_cleanup();
  printf("measured: passed=%d failed=%d elapsed_ms=%.0f\n", passed, failed,
         wb_now_ms() - t0);
  return 0;
}
