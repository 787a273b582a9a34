/* test_limited_fetch.c - the tests of exercise 07.3 and their points.
 * The workbook's server counts the connections it had open at once
 * (wb_server_most_in_flight): that fact, not a clock, says how many
 * requests were in flight together.
 */
#include "limited_fetch.h"
#include "wbtest.h"

/* The workbook's HTTP client, compiled into this test: test programs do
 * not link lib/wb_http.c (exercise 02.3 has learners write it), and this
 * exercise is about the semaphore around it. */
#include "wb_http.c"

#include <errno.h>
#include <string.h>

#define MAX_URLS 32

static int done_calls, in_call;
static size_t done_n = 99;
static int done_results_null = -1;
static long status[MAX_URLS];
static size_t len[MAX_URLS];
static char error[MAX_URLS][160];
static int has_error[MAX_URLS];
static unsigned answered_at_done;
static const char *urls[MAX_URLS];

static void on_done(struct ev_loop *loop, const struct lf_result *results,
                    size_t n, void *arg) {
  (void)loop, (void)arg;
  done_calls++;
  done_n = n;
  done_results_null = results == NULL;
  answered_at_done = wb_server_requests();
  for (size_t i = 0; results && i < n && i < MAX_URLS; i++) {
    status[i] = results[i].status;
    len[i] = results[i].len;
    has_error[i] = results[i].error != NULL;
    snprintf(error[i], sizeof error[i], "%s",
             results[i].error ? results[i].error : "");
  }
}

/* libcurl's first handles in a process are slow to make (its global
 * setup, its resolver; more so under the sanitizers): made here, in the
 * test's body, they are not blamed on the first callback. */
static void warm_up(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  curl_easy_cleanup(curl_easy_init());
  curl_multi_cleanup(curl_multi_init());
}

/* Fills urls[] from paths and starts the fetch. */
static void fetch(const char *const *paths, size_t n, unsigned limit,
                  long timeout_ms) {
  warm_up();
  for (size_t i = 0; i < n; i++)
    urls[i] = wb_server_url(paths[i]);
  in_call = 1;
  int rc = limited_fetch(wb_loop(), urls, n, limit, timeout_ms, on_done, NULL);
  in_call = 0;
  ck_assert_msg(rc == 0, "limited_fetch returned %d; expected 0", rc);
  ck_assert_msg(done_calls == 0,
                "done was called from inside limited_fetch: it must come "
                "from the loop, after the requests");
  ck_assert_msg(wb_server_requests() == 0,
                "the server had answered a request before limited_fetch "
                "returned: nothing is sent from inside it");
}

static void assert_in_flight(unsigned want, size_t n) {
  unsigned most = wb_server_most_in_flight();
  ck_assert_msg(most <= want,
                "the server had %u requests open at once, with a limit of "
                "%u: start a request only when one of the %u places is "
                "free",
                most, want, want);
  ck_assert_msg(most == want,
                "with a limit of %u and %zu URLs, at most %u request%s "
                "were in flight at once; expected %u: start the first "
                "`limit` at once, and each time one ends, the next",
                want, n, most, most == 1 ? "" : "s", want);
}

static void assert_done_once(size_t n) {
  wb_assert_calls(done_calls, 1, "the done callback");
  ck_assert_msg(done_n == n, "done got n = %zu; expected %zu", done_n, n);
}

WB_TEST(limit_is_reached_and_never_passed, 4) {
  static const char *const paths[] = {
      "/delay/80", "/delay/80", "/delay/80", "/delay/80", "/delay/80",
      "/delay/80", "/delay/80", "/delay/80", "/delay/80", "/delay/80"};
  fetch(paths, 10, 4, 2000);
  wb_run(wb_loop(), 1500);
  assert_done_once(10);
  assert_in_flight(4, 10);
  for (int i = 0; i < 10; i++)
    ck_assert_msg(status[i] == 200 && !has_error[i],
                  "urls[%d] got status %ld and error \"%s\"; expected 200 "
                  "and none",
                  i, status[i], error[i]);
}
END_TEST

static unsigned answered_at_probe = 99;

static void probe_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  answered_at_probe = wb_server_requests();
}

WB_TEST(the_next_url_starts_as_soon_as_one_ends, 3) {
  static ev_timer probe;
  static const char *const paths[] = {"/delay/900", "/delay/20", "/delay/20",
                                      "/delay/20",   "/delay/20", "/delay/20"};
  fetch(paths, 6, 2, 3000);
  ev_timer_init(&probe, probe_cb, 0.6, 0.);
  ev_timer_start(wb_loop(), &probe);
  wb_run(wb_loop(), 1500);
  assert_done_once(6);
  assert_in_flight(2, 6);
  ck_assert_msg(answered_at_probe == 5,
                "with a limit of 2, one request of 900 ms and five of 20 "
                "ms, the server had answered %u request%s after 600 ms; "
                "expected the five short ones: while the long one waits, "
                "its neighbour's place goes to the next URL each time a "
                "request ends, not once a whole batch has ended",
                answered_at_probe, answered_at_probe == 1 ? "" : "s");
}
END_TEST

WB_TEST(limit_one_fetches_one_after_another, 2) {
  static const char *const paths[] = {"/json/1", "/json/2", "/json/3",
                                      "/json/4"};
  fetch(paths, 4, 1, 2000);
  wb_run(wb_loop(), 1500);
  assert_done_once(4);
  assert_in_flight(1, 4);
  for (int i = 0; i < 4; i++)
    ck_assert_msg(status[i] == 200 && len[i] > 0 && !has_error[i],
                  "urls[%d] (/json/%d) got status %ld, %zu bytes, error "
                  "\"%s\"",
                  i, i + 1, status[i], len[i], error[i]);
}
END_TEST

WB_TEST(limit_above_the_number_of_urls, 2) {
  static const char *const paths[] = {"/delay/60", "/delay/60", "/delay/60"};
  fetch(paths, 3, 10, 2000);
  wb_run(wb_loop(), 1500);
  assert_done_once(3);
  assert_in_flight(3, 3);
}
END_TEST

WB_TEST(results_in_url_order_with_errors, 3) {
  static const char *const paths[] = {"/delay/120", "/status/404", "/close",
                                      "/json/7", "/status/503"};
  fetch(paths, 5, 2, 2000);
  wb_run(wb_loop(), 1500);
  assert_done_once(5);
  assert_in_flight(2, 5);
  ck_assert_msg(status[0] == 200 && !has_error[0] && len[0] > 0,
                "results[0] (/delay/120, which ends last) got status %ld and "
                "error \"%s\": results[i] belongs to urls[i], whatever order "
                "the requests end in",
                status[0], error[0]);
  ck_assert_msg(status[1] == 404 && has_error[1] && strstr(error[1], "404"),
                "results[1] (/status/404) got status %ld and error \"%s\"; "
                "expected 404 and an error that says 404",
                status[1], error[1]);
  ck_assert_msg(status[2] == 0 && has_error[2],
                "results[2] (/close: the server hangs up) got status %ld and "
                "error \"%s\"; expected 0 and wb_http's error",
                status[2], error[2]);
  ck_assert_msg(status[3] == 200 && !has_error[3],
                "results[3] (/json/7) got status %ld and error \"%s\"",
                status[3], error[3]);
  ck_assert_msg(status[4] == 503 && has_error[4] && strstr(error[4], "503"),
                "results[4] (/status/503) got status %ld and error \"%s\"",
                status[4], error[4]);
}
END_TEST

WB_TEST(a_failed_request_frees_its_place, 2) {
  static const char *const paths[] = {"/delay/60", "/delay/60", "/delay/60",
                                      "/delay/60"};
  warm_up();
  /* Three URLs that fail at once (nothing listens on port 1), then four
   * that reach the server: two of those must be in flight together. */
  for (int i = 0; i < 3; i++)
    urls[i] = "http://127.0.0.1:1/";
  for (int i = 0; i < 4; i++)
    urls[3 + i] = wb_server_url(paths[i]);
  int rc = limited_fetch(wb_loop(), urls, 7, 2, 2000, on_done, NULL);
  ck_assert_msg(rc == 0, "limited_fetch returned %d", rc);
  wb_run(wb_loop(), 1500);
  assert_done_once(7);
  for (int i = 0; i < 3; i++)
    ck_assert_msg(status[i] == 0 && has_error[i],
                  "urls[%d] (a refused connection) got status %ld and no "
                  "error",
                  i, status[i]);
  for (int i = 3; i < 7; i++)
    ck_assert_msg(status[i] == 200,
                  "urls[%d] got status %ld (error \"%s\") after three "
                  "requests had failed",
                  i, status[i], error[i]);
  ck_assert_msg(wb_server_most_in_flight() == 2,
                "after three requests had failed, at most %u of the other "
                "four were in flight at once, with a limit of 2: a request "
                "that fails hands its place on like any other",
                wb_server_most_in_flight());
}
END_TEST

WB_TEST(timeout_applies_to_each_request, 1) {
  static const char *const paths[] = {"/delay/3000", "/json/1"};
  fetch(paths, 2, 1, 200);
  wb_run(wb_loop(), 1500);
  assert_done_once(2);
  ck_assert_msg(status[0] == 0 && has_error[0],
                "urls[0] (/delay/3000, timeout 200 ms) got status %ld and "
                "error \"%s\"; expected a timeout: pass timeout_ms to "
                "wb_http_get",
                status[0], error[0]);
  ck_assert_msg(status[1] == 200, "urls[1] got status %ld after the timeout "
                "of urls[0]", status[1]);
}
END_TEST

WB_TEST(no_urls_done_later_with_null, 1) {
  in_call = 1;
  int rc = limited_fetch(wb_loop(), urls, 0, 3, 1000, on_done, NULL);
  in_call = 0;
  ck_assert_msg(rc == 0, "limited_fetch with no URLs returned %d", rc);
  ck_assert_msg(done_calls == 0,
                "with no URLs, done was called from inside limited_fetch; it "
                "must come from the loop");
  wb_run(wb_loop(), 500);
  assert_done_once(0);
  ck_assert_msg(done_results_null == 1,
                "with no URLs, done got results that are not NULL");
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(zero_limit_is_einval, 1) {
  int rc = limited_fetch(wb_loop(), urls, 0, 0, 1000, on_done, NULL);
  ck_assert_msg(rc == -EINVAL, "limited_fetch with limit 0 returned %d; "
                "expected -EINVAL (%d)", rc, -EINVAL);
  wb_run(wb_loop(), 300);
  ck_assert_msg(done_calls == 0, "after -EINVAL, done was called");
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(out_of_memory_starts_nothing, 2) {
  static const char *const paths[] = {"/delay/40", "/delay/40", "/delay/40"};
  warm_up();
  for (int i = 0; i < 3; i++)
    urls[i] = wb_server_url(paths[i]);
  for (unsigned k = 1;; k++) {
    done_calls = 0;
    wb_fail_alloc(k);
    int rc = limited_fetch(wb_loop(), urls, 3, 2, 2000, on_done, NULL);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < k) {
      ck_assert_msg(rc == 0, "limited_fetch returned %d", rc);
      wb_run(wb_loop(), 1500);
      assert_done_once(3);
      assert_in_flight(2, 3);
      break;
    }
    ck_assert_msg(rc == -ENOMEM,
                  "allocation number %u of limited_fetch failed, and it "
                  "returned %d; expected -ENOMEM (%d)",
                  k, rc, -ENOMEM);
    wb_run(wb_loop(), 500);
    ck_assert_msg(done_calls == 0 && wb_server_requests() == 0,
                  "allocation number %u of limited_fetch failed and it "
                  "returned -ENOMEM, but then done was called %d time(s) and "
                  "%u request(s) reached the server: after -ENOMEM nothing "
                  "is started",
                  k, done_calls, wb_server_requests());
  }
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(leaves_nothing_behind, 1) {
  static const char *const paths[] = {"/delay/40", "/delay/40", "/status/500",
                                      "/close"};
  fetch(paths, 4, 2, 2000);
  wb_run(wb_loop(), 1500);
  assert_done_once(4);
  assert_in_flight(2, 4);
  wb_assert_no_leaks();
}
END_TEST
