/* test_batch_fetch.c - the tests of exercise 10.2 and their points.
 * The workbook's server counts the requests it answered and the most
 * connections it had open at once: facts, not clocks. Deadlines are far
 * from the fast requests (hundreds of ms) and far before the slow ones
 * (seconds), so a busy machine does not change what must happen.
 */
#include "batch_fetch.h"
#include "wbtest.h"

/* The workbook's HTTP client, compiled into this test: test programs do
 * not link lib/wb_http.c, and this exercise is about what goes around it. */
#include "wb_http.c"

#include <errno.h>
#include <string.h>

#define MAX_URLS 16

static int done_calls, in_call, called_inside, deadline_flag = -1;
static int watchers_at_done = -1;
static size_t done_n = 99;
static int done_results_null = -1;
static int started[MAX_URLS];
static long status[MAX_URLS];
static size_t len[MAX_URLS];
static int has_error[MAX_URLS];
static char error[MAX_URLS][160];
static unsigned answered_at_done;
static const char *urls[MAX_URLS];

static void on_done(struct ev_loop *loop, const struct bf_result *results,
                    size_t n, int deadline_passed, void *arg) {
  (void)arg;
  done_calls++;
  called_inside |= in_call;
  done_n = n;
  deadline_flag = deadline_passed;
  done_results_null = results == NULL;
  watchers_at_done = wb_active_watchers(loop);
  if (watchers_at_done > 0) /* report it now, not after a hang */
    ev_break(loop, EVBREAK_ALL);
  answered_at_done = wb_server_requests();
  for (size_t i = 0; results && i < n && i < MAX_URLS; i++) {
    started[i] = results[i].started;
    status[i] = results[i].status;
    len[i] = results[i].len;
    has_error[i] = results[i].error != NULL;
    snprintf(error[i], sizeof error[i], "%s",
             results[i].error ? results[i].error : "");
  }
}

static void warm_up(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  curl_easy_cleanup(curl_easy_init());
  curl_multi_cleanup(curl_multi_init());
}

static void fetch(const char *const *paths, size_t n, unsigned concurrency,
                  long timeout_ms, long deadline_ms) {
  static struct bf_options opt;
  opt = (struct bf_options){concurrency, timeout_ms, deadline_ms};
  warm_up();
  for (size_t i = 0; i < n; i++)
    urls[i] = wb_server_url(paths[i]);
  in_call = 1;
  int rc = batch_fetch(wb_loop(), urls, n, &opt, on_done, NULL);
  in_call = 0;
  ck_assert_msg(rc == 0, "batch_fetch returned %d; expected 0", rc);
  ck_assert_msg(done_calls == 0,
                "done was called from inside batch_fetch: it must come from "
                "the loop, after the requests");
  ck_assert_msg(wb_server_requests() == 0,
                "the server had answered a request before batch_fetch "
                "returned: nothing is sent from inside it");
}

static void assert_done_once(size_t n, int deadline_passed) {
  wb_assert_calls(done_calls, 1, "the done callback");
  ck_assert_msg(!called_inside, "done was called from inside batch_fetch");
  ck_assert_msg(done_n == n, "done got n = %zu; expected %zu", done_n, n);
  ck_assert_msg(deadline_flag == deadline_passed,
                "done got deadline_passed = %d; expected %d", deadline_flag,
                deadline_passed);
  ck_assert_msg(watchers_at_done == 0,
                "when done was called, %d watcher(s) of the batch were still "
                "active (the deadline's timer?): stop them all before "
                "calling done",
                watchers_at_done);
}

static void assert_in_flight(unsigned want) {
  unsigned most = wb_server_most_in_flight();
  ck_assert_msg(most <= want,
                "the server had %u requests open at once, with a "
                "concurrency of %u: start a request only when a place is "
                "free",
                most, want);
  ck_assert_msg(most == want,
                "with a concurrency of %u, at most %u request%s were in "
                "flight at once; expected %u: start the first ones "
                "together, and each time one ends, the next",
                want, most, most == 1 ? "" : "s", want);
}

static void assert_ok(size_t i, const char *path) {
  ck_assert_msg(started[i] && status[i] == 200 && !has_error[i],
                "results[%zu] (%s) got started %d, status %ld, error \"%s\"; "
                "expected started, 200 and no error",
                i, path, started[i], status[i], error[i]);
}

static void assert_deadline(size_t i, const char *path, int was_started) {
  ck_assert_msg(started[i] == was_started && status[i] == 0 && has_error[i] &&
                    strstr(error[i], "deadline"),
                "results[%zu] (%s) got started %d, status %ld, error \"%s\"; "
                "expected started %d, status 0 and an error that says "
                "\"deadline\"",
                i, path, started[i], status[i], error[i], was_started);
}

WB_TEST(concurrency_is_reached_and_never_passed, 4) {
  static const char *const paths[] = {"/delay/60", "/delay/60", "/delay/60",
                                      "/delay/60", "/delay/60", "/delay/60",
                                      "/delay/60", "/delay/60"};
  fetch(paths, 8, 3, 2000, 0);
  wb_run(wb_loop(), 1500);
  assert_done_once(8, 0);
  assert_in_flight(3);
  for (size_t i = 0; i < 8; i++)
    assert_ok(i, paths[i]);
}
END_TEST

WB_TEST(results_in_url_order_with_errors, 2) {
  static const char *const paths[] = {"/delay/120", "/status/404", "/close",
                                      "/json/2", "/status/503"};
  fetch(paths, 5, 2, 2000, 0);
  wb_run(wb_loop(), 1500);
  assert_done_once(5, 0);
  assert_in_flight(2);
  assert_ok(0, paths[0]);
  ck_assert_msg(status[1] == 404 && has_error[1] && strstr(error[1], "404"),
                "results[1] (/status/404) got status %ld and error \"%s\"; "
                "expected 404 and an error that says 404",
                status[1], error[1]);
  ck_assert_msg(started[2] && status[2] == 0 && has_error[2],
                "results[2] (/close: the server hangs up) got status %ld and "
                "error \"%s\"; expected 0 and wb_http's error",
                status[2], error[2]);
  assert_ok(3, paths[3]);
  ck_assert_msg(status[4] == 503 && has_error[4] && strstr(error[4], "503"),
                "results[4] (/status/503) got status %ld and error \"%s\"",
                status[4], error[4]);
}
END_TEST

WB_TEST(the_deadline_cancels_what_is_in_flight, 3) {
  static const char *const paths[] = {"/json/1", "/delay/3000", "/delay/3000",
                                      "/json/2", "/json/3"};
  fetch(paths, 5, 2, 5000, 400);
  wb_run(wb_loop(), 1500);
  assert_done_once(5, 1);
  assert_in_flight(2);
  assert_ok(0, paths[0]);
  assert_deadline(1, paths[1], 1);
  assert_deadline(2, paths[2], 1);
  assert_deadline(3, paths[3], 0);
  assert_deadline(4, paths[4], 0);
  ck_assert_msg(answered_at_done == 1,
                "the server had answered %u requests when done was called; "
                "expected 1 (/json/1): after the deadline nothing starts",
                answered_at_done);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(nothing_starts_after_the_deadline, 2) {
  static const char *const paths[] = {"/delay/50",   "/delay/50", "/delay/3000",
                                      "/delay/3000", "/json/1",   "/json/2"};
  fetch(paths, 6, 2, 5000, 600);
  wb_run(wb_loop(), 1500);
  assert_done_once(6, 1);
  assert_ok(0, paths[0]);
  assert_ok(1, paths[1]);
  assert_deadline(2, paths[2], 1);
  assert_deadline(3, paths[3], 1);
  assert_deadline(4, paths[4], 0);
  assert_deadline(5, paths[5], 0);
  wb_run(wb_loop(), 1500); /* anything started late would show now */
  ck_assert_msg(wb_server_requests() == 2,
                "the server answered %u requests; expected 2 (the two "
                "/delay/50): nothing starts after the deadline, and a "
                "request cancelled by it does not hand its place on",
                wb_server_requests());
  assert_in_flight(2);
}
END_TEST

WB_TEST(a_batch_done_before_its_deadline_leaves_nothing, 2) {
  static const char *const paths[] = {"/json/1", "/json/2", "/status/500"};
  fetch(paths, 3, 2, 2000, 5000);
  wb_run(wb_loop(), 1500); /* a deadline timer left behind would hang it */
  assert_done_once(3, 0);
  assert_ok(0, paths[0]);
  assert_ok(1, paths[1]);
  assert_in_flight(2);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(a_failed_request_frees_its_place, 1) {
  static struct bf_options opt = {2, 2000, 0};
  warm_up();
  for (int i = 0; i < 3; i++)
    urls[i] = "http://127.0.0.1:1/";
  for (int i = 0; i < 4; i++)
    urls[3 + i] = wb_server_url("/delay/60");
  int rc = batch_fetch(wb_loop(), urls, 7, &opt, on_done, NULL);
  ck_assert_msg(rc == 0, "batch_fetch returned %d", rc);
  wb_run(wb_loop(), 1500);
  assert_done_once(7, 0);
  for (int i = 0; i < 3; i++)
    ck_assert_msg(started[i] && status[i] == 0 && has_error[i],
                  "urls[%d] (a refused connection) got started %d, status "
                  "%ld, error \"%s\"",
                  i, started[i], status[i], error[i]);
  for (size_t i = 3; i < 7; i++)
    assert_ok(i, "/delay/60");
  assert_in_flight(2);
}
END_TEST

WB_TEST(timeout_applies_to_each_request, 1) {
  static const char *const paths[] = {"/delay/3000", "/json/1"};
  fetch(paths, 2, 1, 150, 0);
  wb_run(wb_loop(), 1500);
  assert_done_once(2, 0);
  ck_assert_msg(started[0] && status[0] == 0 && has_error[0] &&
                    !strstr(error[0], "deadline"),
                "urls[0] (/delay/3000, timeout 150 ms, no deadline) got "
                "status %ld and error \"%s\"; expected wb_http's timeout: "
                "give opt->timeout_ms to wb_http_get",
                status[0], error[0]);
  assert_ok(1, paths[1]);
}
END_TEST

WB_TEST(no_urls_done_later_with_null, 1) {
  static struct bf_options opt = {3, 1000, 1000};
  in_call = 1;
  int rc = batch_fetch(wb_loop(), NULL, 0, &opt, on_done, NULL);
  in_call = 0;
  ck_assert_msg(rc == 0, "batch_fetch with no URLs returned %d", rc);
  ck_assert_msg(done_calls == 0, "with no URLs, done was called from inside "
                "batch_fetch; it must come from the loop");
  wb_run(wb_loop(), 1500);
  assert_done_once(0, 0);
  ck_assert_msg(done_results_null == 1,
                "with no URLs, done got results that are not NULL");
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(bad_arguments_are_einval, 1) {
  static struct bf_options zero = {0, 1000, 0}, one = {1, 1000, 0};
  int a = batch_fetch(wb_loop(), urls, 0, &zero, on_done, NULL);
  int b = batch_fetch(wb_loop(), urls, 0, NULL, on_done, NULL);
  int c = batch_fetch(wb_loop(), NULL, 2, &one, on_done, NULL);
  ck_assert_msg(a == -EINVAL && b == -EINVAL && c == -EINVAL,
                "batch_fetch returned %d with concurrency 0, %d with no "
                "options, %d with NULL urls and n = 2; expected -EINVAL (%d)",
                a, b, c, -EINVAL);
  wb_run(wb_loop(), 1500);
  ck_assert_msg(done_calls == 0, "after -EINVAL, done was called");
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(out_of_memory_starts_nothing, 2) {
  static struct bf_options opt = {2, 2000, 3000};
  warm_up();
  for (int i = 0; i < 3; i++)
    urls[i] = wb_server_url("/delay/150");
  for (unsigned k = 1;; k++) {
    done_calls = 0;
    wb_fail_alloc(k);
    int rc = batch_fetch(wb_loop(), urls, 3, &opt, on_done, NULL);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < k) {
      ck_assert_msg(rc == 0, "batch_fetch returned %d", rc);
      wb_run(wb_loop(), 1500);
      assert_done_once(3, 0);
      assert_in_flight(2);
      break;
    }
    ck_assert_msg(rc == -ENOMEM,
                  "allocation number %u of batch_fetch failed, and it "
                  "returned %d; expected -ENOMEM (%d)",
                  k, rc, -ENOMEM);
    wb_run(wb_loop(), 1500);
    ck_assert_msg(done_calls == 0 && wb_server_requests() == 0,
                  "allocation number %u of batch_fetch failed and it "
                  "returned -ENOMEM, but then done was called %d time(s) "
                  "and %u request(s) reached the server",
                  k, done_calls, wb_server_requests());
  }
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(leaves_nothing_behind_after_a_deadline, 1) {
  static const char *const paths[] = {"/delay/3000", "/delay/3000", "/json/1"};
  fetch(paths, 3, 2, 5000, 300);
  wb_run(wb_loop(), 1500);
  assert_done_once(3, 1);
  wb_assert_no_leaks();
}
END_TEST
