/* test_shutdown_fetch.c - the tests of exercise 10.3 and their points.
 * SIGINT is sent the way Ctrl-C sends it, to this process (raise), from a
 * timer on the test's loop, while slow requests (1200 ms) are surely in
 * flight, hundreds of milliseconds from their end. The server's own counts
 * say what was sent; the summary is parsed as JSON.
 */
#define _GNU_SOURCE /* sigaction */
#include "shutdown_fetch.h"
#include "wbtest.h"

/* The workbook's HTTP client, compiled into this test: test programs do
 * not link lib/wb_http.c, and this exercise is about what goes around it. */
#include "wb_http.c"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>

#define MAX_URLS 16

static int done_calls, in_call, called_inside, exit_code = -1;
static int watchers_at_done = -1, sigint_default_at_done = -1;
static unsigned answered_at_done;
static json_t *doc; /* the parsed summary */
static char doc_error[200];
static const char *urls[MAX_URLS];

static void on_done(struct ev_loop *loop, const char *summary, int code,
                    void *arg) {
  struct sigaction sa;
  json_error_t jerr;
  (void)arg;
  done_calls++;
  called_inside |= in_call;
  exit_code = code;
  watchers_at_done = wb_active_watchers(loop);
  if (watchers_at_done > 0) /* report it now, not after a hang */
    ev_break(loop, EVBREAK_ALL);
  answered_at_done = wb_server_requests();
  sigaction(SIGINT, NULL, &sa);
  sigint_default_at_done = sa.sa_handler == SIG_DFL;
  json_decref(doc);
  doc = summary ? json_loads(summary, 0, &jerr) : NULL;
  snprintf(doc_error, sizeof doc_error, "%s",
           summary ? (doc ? "" : jerr.text) : "the summary was NULL");
}

static void warm_up(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  curl_easy_cleanup(curl_easy_init());
  curl_multi_cleanup(curl_multi_init());
}

static void fetch(const char *const *paths, size_t n, unsigned concurrency,
                  long timeout_ms) {
  static struct sf_options opt;
  opt = (struct sf_options){concurrency, timeout_ms};
  warm_up();
  for (size_t i = 0; i < n; i++)
    urls[i] = wb_server_url(paths[i]);
  in_call = 1;
  int rc = shutdown_fetch(wb_loop(), urls, n, &opt, on_done, NULL);
  in_call = 0;
  ck_assert_msg(rc == 0, "shutdown_fetch returned %d; expected 0", rc);
  ck_assert_msg(done_calls == 0,
                "done was called from inside shutdown_fetch: it must come "
                "from the loop");
  ck_assert_msg(wb_server_requests() == 0,
                "the server had answered a request before shutdown_fetch "
                "returned: nothing is sent from inside it");
}

static void sigint_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  raise(SIGINT); /* what Ctrl-C does */
}

/* Sends SIGINT `after` seconds from now. */
static void sigint_after(double after) {
  static ev_timer t;
  ev_timer_init(&t, sigint_cb, after, 0.);
  ev_timer_start(wb_loop(), &t);
}

static json_int_t num(const char *key) {
  json_t *v = json_object_get(doc, key);
  return json_is_integer(v) ? json_integer_value(v) : -1;
}

static void assert_summary(size_t n, int want_code, int ok, int interrupted) {
  wb_assert_calls(done_calls, 1, "the done callback");
  ck_assert_msg(!called_inside, "done was called from inside shutdown_fetch");
  ck_assert_msg(doc != NULL, "the summary is not JSON: %s", doc_error);
  ck_assert_msg(watchers_at_done == 0,
                "when done was called, %d watcher(s) of the batch were still "
                "active (the SIGINT watcher?): stop them all before done",
                watchers_at_done);
  ck_assert_msg(sigint_default_at_done == 1,
                "when done was called, SIGINT was still caught: stop the "
                "ev_signal (ev_signal_stop gives SIGINT its default action "
                "back)");
  ck_assert_msg(exit_code == want_code, "done got exit code %d; expected %d",
                exit_code, want_code);
  json_t *results = json_object_get(doc, "results");
  ck_assert_msg(num("urls") == (json_int_t)n && json_is_array(results) &&
                    json_array_size(results) == n,
                "the summary says \"urls\": %lld and has %zu results; "
                "expected %zu and one result per URL",
                (long long)num("urls"), json_array_size(results), n);
  ck_assert_msg(num("ok") == ok && num("failed") == (json_int_t)n - ok,
                "the summary says \"ok\": %lld, \"failed\": %lld; expected "
                "%d and %d",
                (long long)num("ok"), (long long)num("failed"), ok,
                (int)n - ok);
  ck_assert_msg(json_is_boolean(json_object_get(doc, "interrupted")) &&
                    json_is_true(json_object_get(doc, "interrupted")) ==
                        interrupted,
                "the summary's \"interrupted\" is not %s",
                interrupted ? "true" : "false");
  for (size_t i = 0; i < n; i++) {
    json_t *r = json_array_get(results, i);
    const char *u = json_string_value(json_object_get(r, "url"));
    ck_assert_msg(u && !strcmp(u, urls[i]),
                  "results[%zu] is for \"%s\"; expected \"%s\": one result "
                  "per URL, in the order of the URLs",
                  i, u ? u : "(no url)", urls[i]);
  }
}

/* results[i]: its "ok", its "status" (0 for null), and whether its error
 * contains `words` (NULL: the error must be null). */
static void assert_result(size_t i, int ok, long status, const char *words) {
  json_t *r = json_array_get(json_object_get(doc, "results"), i);
  json_t *st = json_object_get(r, "status");
  const char *err = json_string_value(json_object_get(r, "error"));
  long got = json_is_integer(st) ? (long)json_integer_value(st) : 0;
  int got_ok = json_is_true(json_object_get(r, "ok"));
  ck_assert_msg(got_ok == ok && got == status &&
                    (words ? err && strstr(err, words) != NULL
                           : json_is_null(json_object_get(r, "error"))),
                "results[%zu] (%s) is ok %s, status %ld, error \"%s\"; "
                "expected ok %s, status %ld (0: null) and %s%s%s",
                i, urls[i], got_ok ? "true" : "false", got,
                err ? err : "null", ok ? "true" : "false", status,
                words ? "an error that says \"" : "a null error",
                words ? words : "", words ? "\"" : "");
}

WB_TEST(every_url_is_fetched_and_reported_in_json, 3) {
  static const char *const paths[] = {"/json/1", "/status/404", "/close",
                                      "/delay/80", "/json/2"};
  fetch(paths, 5, 2, 2000);
  wb_run(wb_loop(), 1500);
  assert_summary(5, 0, 3, 0);
  assert_result(0, 1, 200, NULL);
  assert_result(1, 0, 404, "404");
  assert_result(2, 0, 0, "");
  assert_result(3, 1, 200, NULL);
  assert_result(4, 1, 200, NULL);
  ck_assert_msg(wb_server_most_in_flight() == 2,
                "the server had %u requests open at once; expected 2 (the "
                "concurrency)",
                wb_server_most_in_flight());
}
END_TEST

WB_TEST(sigint_cancels_what_is_in_flight_and_reports, 5) {
  static const char *const paths[] = {"/json/1", "/delay/1200", "/delay/1200",
                                      "/json/2", "/json/3"};
  fetch(paths, 5, 2, 5000);
  sigint_after(0.4);
  wb_run(wb_loop(), 1500);
  assert_summary(5, 130, 1, 1);
  assert_result(0, 1, 200, NULL);
  assert_result(1, 0, 0, "interrupted");
  assert_result(2, 0, 0, "interrupted");
  assert_result(3, 0, 0, "not started");
  assert_result(4, 0, 0, "interrupted");
  ck_assert_msg(answered_at_done == 1,
                "the server had answered %u requests when done was called; "
                "expected 1 (/json/1)",
                answered_at_done);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(nothing_starts_after_sigint, 3) {
  static const char *const paths[] = {"/delay/50",   "/delay/50", "/delay/1200",
                                      "/delay/1200", "/json/1",   "/json/2"};
  fetch(paths, 6, 2, 5000);
  sigint_after(0.6);
  wb_run(wb_loop(), 1500);
  assert_summary(6, 130, 2, 1);
  assert_result(2, 0, 0, "interrupted");
  assert_result(4, 0, 0, "not started");
  assert_result(5, 0, 0, "not started");
  wb_run(wb_loop(), 1500); /* anything started late would show now */
  ck_assert_msg(wb_server_requests() == 2,
                "the server answered %u requests; expected 2 (the two "
                "/delay/50): nothing starts after SIGINT, and a request "
                "cancelled by it does not hand its place on",
                wb_server_requests());
}
END_TEST

WB_TEST(sigint_before_the_first_request, 1) {
  static const char *const paths[] = {"/delay/200", "/json/1", "/json/2"};
  fetch(paths, 3, 2, 2000);
  raise(SIGINT); /* caught by the watcher; handled once the loop runs */
  wb_run(wb_loop(), 1500);
  assert_summary(3, 130, 0, 1);
  for (size_t i = 0; i < 3; i++)
    assert_result(i, 0, 0, "interrupted");
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(without_sigint_nothing_is_left_watching, 2) {
  static const char *const paths[] = {"/json/1", "/status/500"};
  fetch(paths, 2, 3, 2000);
  wb_run(wb_loop(), 1500); /* a SIGINT watcher left behind would hang it */
  assert_summary(2, 0, 1, 0);
  assert_result(1, 0, 500, "500");
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(timeout_applies_to_each_request, 1) {
  static const char *const paths[] = {"/delay/3000", "/json/1"};
  fetch(paths, 1, 1, 150);
  wb_run(wb_loop(), 1500);
  assert_summary(1, 0, 0, 0);
  json_t *r = json_array_get(json_object_get(doc, "results"), 0);
  const char *err = json_string_value(json_object_get(r, "error"));
  ck_assert_msg(err && !strstr(err, "interrupted"),
                "/delay/3000 with a timeout of 150 ms came to error \"%s\"; "
                "expected wb_http's timeout: give opt->timeout_ms to "
                "wb_http_get",
                err ? err : "null");
}
END_TEST

WB_TEST(no_urls_reports_an_empty_batch_later, 1) {
  static struct sf_options opt = {2, 1000};
  in_call = 1;
  int rc = shutdown_fetch(wb_loop(), NULL, 0, &opt, on_done, NULL);
  in_call = 0;
  ck_assert_msg(rc == 0, "shutdown_fetch with no URLs returned %d", rc);
  ck_assert_msg(done_calls == 0, "with no URLs, done was called from inside "
                "shutdown_fetch; it must come from the loop");
  wb_run(wb_loop(), 1500);
  assert_summary(0, 0, 0, 0);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(bad_arguments_are_einval, 1) {
  static struct sf_options zero = {0, 1000}, one = {1, 1000};
  int a = shutdown_fetch(wb_loop(), urls, 0, &zero, on_done, NULL);
  int b = shutdown_fetch(wb_loop(), urls, 0, NULL, on_done, NULL);
  int c = shutdown_fetch(wb_loop(), NULL, 2, &one, on_done, NULL);
  ck_assert_msg(a == -EINVAL && b == -EINVAL && c == -EINVAL,
                "shutdown_fetch returned %d with concurrency 0, %d with no "
                "options, %d with NULL urls and n = 2; expected -EINVAL (%d)",
                a, b, c, -EINVAL);
  wb_run(wb_loop(), 1500);
  ck_assert_msg(done_calls == 0, "after -EINVAL, done was called");
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(out_of_memory_starts_nothing, 2) {
  static struct sf_options opt = {2, 2000};
  warm_up();
  for (int i = 0; i < 3; i++)
    urls[i] = wb_server_url("/delay/100");
  for (unsigned k = 1;; k++) {
    done_calls = 0;
    wb_fail_alloc(k);
    int rc = shutdown_fetch(wb_loop(), urls, 3, &opt, on_done, NULL);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < k) {
      ck_assert_msg(rc == 0, "shutdown_fetch returned %d", rc);
      wb_run(wb_loop(), 1500);
      assert_summary(3, 0, 3, 0);
      break;
    }
    ck_assert_msg(rc == -ENOMEM,
                  "allocation number %u of shutdown_fetch failed, and it "
                  "returned %d; expected -ENOMEM (%d)",
                  k, rc, -ENOMEM);
    wb_run(wb_loop(), 1500);
    ck_assert_msg(done_calls == 0 && wb_server_requests() == 0,
                  "allocation number %u of shutdown_fetch failed and it "
                  "returned -ENOMEM, but then done was called %d time(s) "
                  "and %u request(s) reached the server",
                  k, done_calls, wb_server_requests());
  }
  wb_assert_no_leaks();
}
END_TEST
