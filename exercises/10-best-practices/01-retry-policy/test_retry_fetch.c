/* test_retry_fetch.c - the tests of exercise 10.1 and their points.
 * The workbook's server counts the requests it answered: that count, not a
 * clock, says how many attempts were made. Pauses are checked from below
 * only (a pause can be late on a busy machine, never early).
 */
#include "retry_fetch.h"
#include "wbtest.h"

/* The workbook's HTTP client, compiled into this test: test programs do
 * not link lib/wb_http.c, and this exercise is about what goes around it. */
#include "wb_http.c"

#include <errno.h>
#include <string.h>

static int done_calls, in_call = 0, called_inside;
static long res_status = -1;
static size_t res_len;
static unsigned res_attempts;
static int res_has_error;
static char res_error[200];
static unsigned requests_at_done;
static double fetch_t0; /* wb_elapsed_ms() when retry_fetch was called */

static double fixed_u;
static int random_calls;

static double fixed_random(void *arg) {
  (void)arg;
  random_calls++;
  return fixed_u;
}

static void on_done(struct ev_loop *loop, const struct rf_result *r,
                    void *arg) {
  (void)loop, (void)arg;
  done_calls++;
  called_inside |= in_call;
  res_status = r->status;
  res_len = r->len;
  res_attempts = r->attempts;
  res_has_error = r->error != NULL;
  snprintf(res_error, sizeof res_error, "%s", r->error ? r->error : "");
  requests_at_done = wb_server_requests();
}

/* libcurl's first handles in a process are slow to make: made here, in the
 * test's body, they are not blamed on the first callback. */
static void warm_up(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  curl_easy_cleanup(curl_easy_init());
  curl_multi_cleanup(curl_multi_init());
}

static struct rf_policy policy(unsigned retries, unsigned base_ms,
                               unsigned cap_ms, double u) {
  fixed_u = u;
  return (struct rf_policy){.retries = retries, .base_ms = base_ms,
                            .cap_ms = cap_ms, .timeout_ms = 1000,
                            .random = fixed_random};
}

/* Starts a fetch of the server's `path` and checks what must hold when
 * retry_fetch returns. */
static void fetch(const char *path, const struct rf_policy *p) {
  warm_up();
  const char *url = wb_server_url(path);
  fetch_t0 = wb_elapsed_ms();
  in_call = 1;
  int rc = retry_fetch(wb_loop(), url, p, on_done, NULL);
  in_call = 0;
  ck_assert_msg(rc == 0, "retry_fetch returned %d; expected 0", rc);
  ck_assert_msg(!called_inside && done_calls == 0,
                "done was called from inside retry_fetch: it must come from "
                "the loop, after the request");
  ck_assert_msg(wb_server_requests() == 0,
                "the server had answered a request before retry_fetch "
                "returned: nothing is sent from inside it");
}

static void assert_attempts(const char *path, unsigned want) {
  wb_assert_calls(done_calls, 1, "the done callback");
  ck_assert_msg(res_attempts == want,
                "%s: the result says %u attempt%s; expected %u", path,
                res_attempts, res_attempts == 1 ? "" : "s", want);
  ck_assert_msg(requests_at_done == want,
                "%s: the server answered %u request%s; expected %u (one per "
                "attempt)",
                path, requests_at_done, requests_at_done == 1 ? "" : "s",
                want);
}

WB_TEST(should_retry_only_without_response_or_5xx, 1) {
  static const long no[] = {200, 204, 301, 304, 400, 401, 404, 429, 499};
  static const long yes[] = {500, 502, 503, 599};
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    ck_assert_msg(rf_should_retry(no[i], NULL) == 0,
                  "rf_should_retry(%ld, NULL) returned %d; expected 0: only "
                  "a 5xx or no response at all is worth another try",
                  no[i], rf_should_retry(no[i], NULL));
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
    ck_assert_msg(rf_should_retry(yes[i], NULL) == 1,
                  "rf_should_retry(%ld, NULL) returned %d; expected 1",
                  yes[i], rf_should_retry(yes[i], NULL));
  ck_assert_msg(rf_should_retry(0, "Empty reply from server") == 1 &&
                    rf_should_retry(0, "Operation timed out") == 1,
                "rf_should_retry(0, \"Empty reply from server\") returned "
                "%d; expected 1: when no response came, a retry may get one",
                rf_should_retry(0, "Empty reply from server"));
}
END_TEST

WB_TEST(backoff_doubles_from_base, 1) {
  struct rf_policy p = {.base_ms = 100, .cap_ms = 100000};
  static const unsigned want[] = {50, 100, 200, 400, 800};
  for (unsigned k = 1; k <= 5; k++)
    ck_assert_msg(rf_backoff_ms(&p, k, 0.) == want[k - 1],
                  "rf_backoff_ms(base 100 ms, failures %u, u 0) returned %u; "
                  "expected %u: d = base * 2^(failures - 1), and u = 0 gives "
                  "d/2",
                  k, rf_backoff_ms(&p, k, 0.), want[k - 1]);
}
END_TEST

WB_TEST(backoff_jitter_spans_the_upper_half, 1) {
  struct rf_policy p = {.base_ms = 200, .cap_ms = 100000};
  unsigned lo = rf_backoff_ms(&p, 2, 0.), mid = rf_backoff_ms(&p, 2, 0.5),
           hi = rf_backoff_ms(&p, 2, 0.999);
  ck_assert_msg(lo == 200 && mid == 300 && hi >= 398 && hi <= 400,
                "rf_backoff_ms(base 200 ms, failures 2) with u = 0, 0.5 and "
                "0.999 returned %u, %u and %u; expected 200, 300 and 399: "
                "d = 400, and the pause is d/2 + d/2 * u",
                lo, mid, hi);
}
END_TEST

WB_TEST(backoff_is_capped_and_never_overflows, 1) {
  struct rf_policy p = {.base_ms = 100, .cap_ms = 350};
  ck_assert_msg(rf_backoff_ms(&p, 3, 0.) == 175,
                "rf_backoff_ms(base 100, cap 350, failures 3, u 0) returned "
                "%u; expected 175: d = 400 is capped at 350, then halved",
                rf_backoff_ms(&p, 3, 0.));
  ck_assert_msg(rf_backoff_ms(&p, 64, 0.) == 175 &&
                    rf_backoff_ms(&p, 4000000000u, 0.) == 175,
                "rf_backoff_ms(base 100, cap 350, u 0) after 64 and 4e9 "
                "failures returned %u and %u; expected 175 both times: stop "
                "doubling at the cap, before the number overflows",
                rf_backoff_ms(&p, 64, 0.), rf_backoff_ms(&p, 4000000000u, 0.));
  ck_assert_msg(rf_backoff_ms(&p, 0, 0.) == 50,
                "rf_backoff_ms(base 100, failures 0, u 0) returned %u; "
                "expected 50 (0 failures count as 1)",
                rf_backoff_ms(&p, 0, 0.));
}
END_TEST

WB_TEST(success_at_the_first_attempt, 1) {
  struct rf_policy p = policy(3, 100, 1000, 0.5);
  fetch("/json/1", &p);
  wb_run(wb_loop(), 1500);
  assert_attempts("/json/1", 1);
  ck_assert_msg(res_status == 200 && !res_has_error && res_len > 0,
                "/json/1 came to status %ld, %zu bytes, error \"%s\"; "
                "expected 200, a body and no error",
                res_status, res_len, res_error);
  ck_assert_msg(random_calls == 0, "with no pause, policy->random was "
                "called %d time(s)", random_calls);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(a_4xx_is_never_retried, 1) {
  struct rf_policy p = policy(3, 100, 1000, 0.5);
  fetch("/status/404", &p);
  wb_run(wb_loop(), 1500);
  assert_attempts("/status/404", 1);
  ck_assert_msg(res_status == 404 && res_has_error && strstr(res_error, "404"),
                "/status/404 came to status %ld and error \"%s\"; expected "
                "404 and an error that says 404",
                res_status, res_error);
}
END_TEST

static unsigned answered_at_probe = 99;

static void probe_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  answered_at_probe = wb_server_requests();
}

WB_TEST(a_5xx_is_retried_after_growing_pauses, 4) {
  static ev_timer probe;
  struct rf_policy p = policy(3, 100, 10000, 0.);
  fetch("/status/503", &p);
  ev_timer_init(&probe, probe_cb, 0.045, 0.);
  ev_timer_start(wb_loop(), &probe);
  wb_run(wb_loop(), 1500);
  double took = wb_elapsed_ms() - fetch_t0;
  assert_attempts("/status/503", 4);
  ck_assert_msg(res_status == 503 && res_has_error && strstr(res_error, "503"),
                "/status/503 came to status %ld and error \"%s\"; expected "
                "503 and an error that says 503",
                res_status, res_error);
  ck_assert_msg(random_calls == 3,
                "policy->random was called %d time(s) for 3 pauses; draw u "
                "from it once before each pause",
                random_calls);
  wb_assert_no_block(50);
  ck_assert_msg(answered_at_probe <= 1,
                "45 ms after retry_fetch, the server had answered %u requests "
                "for /status/503; expected 1: the first pause (base 100 ms, "
                "u = 0) is 50 ms. Wait rf_backoff_ms(...) before each retry, "
                "on an ev_timer",
                answered_at_probe);
  ck_assert_msg(took >= 340,
                "4 attempts with pauses of 50, 100 and 200 ms (base 100 ms, "
                "u = 0) were over after %.0f ms: wait rf_backoff_ms(...) "
                "before each retry, on an ev_timer",
                took);
}
END_TEST

WB_TEST(a_flaky_server_is_retried_until_it_answers, 2) {
  struct rf_policy p = policy(3, 100, 1000, 0.);
  fetch("/flaky/tenone/2", &p);
  wb_run(wb_loop(), 1500);
  assert_attempts("/flaky/tenone/2 (503 twice, then 200)", 3);
  ck_assert_msg(res_status == 200 && !res_has_error,
                "/flaky/tenone/2 came to status %ld and error \"%s\" after "
                "%u attempts; expected 200 and no error at the third",
                res_status, res_error, res_attempts);
  wb_assert_no_block(50);
}
END_TEST

WB_TEST(a_dropped_connection_is_retried, 2) {
  struct rf_policy p = policy(2, 100, 1000, 0.);
  fetch("/close", &p);
  wb_run(wb_loop(), 1500);
  assert_attempts("/close (the server hangs up)", 3);
  ck_assert_msg(res_status == 0 && res_has_error,
                "/close came to status %ld and error \"%s\"; expected 0 and "
                "wb_http's error",
                res_status, res_error);
  wb_assert_no_block(50);
}
END_TEST

WB_TEST(zero_retries_means_one_attempt, 1) {
  struct rf_policy p = policy(0, 100, 1000, 0.);
  fetch("/status/500", &p);
  wb_run(wb_loop(), 1500);
  assert_attempts("/status/500 with 0 retries", 1);
  ck_assert_msg(res_status == 500 && res_has_error,
                "/status/500 came to status %ld and error \"%s\"", res_status,
                res_error);
}
END_TEST

WB_TEST(the_jitter_comes_from_policy_random, 2) {
  struct rf_policy p = policy(2, 60, 60, 0.999);
  fetch("/status/502", &p);
  wb_run(wb_loop(), 1500);
  double took = wb_elapsed_ms() - fetch_t0;
  assert_attempts("/status/502", 3);
  ck_assert_msg(random_calls == 2,
                "policy->random was called %d time(s) for 2 pauses; expected "
                "2: each pause draws its own u",
                random_calls);
  ck_assert_msg(took >= 115,
                "2 pauses with u = 0.999 (base = cap = 60 ms: 59 ms each) "
                "were over after %.0f ms: the pause is d/2 + d/2 * u",
                took);
  wb_assert_no_block(50);
}
END_TEST

WB_TEST(timeout_applies_to_each_attempt, 1) {
  struct rf_policy p = policy(1, 120, 1000, 0.);
  p.timeout_ms = 100;
  warm_up();
  int rc = retry_fetch(wb_loop(), wb_server_url("/delay/3000"), &p, on_done,
                       NULL);
  ck_assert_msg(rc == 0, "retry_fetch returned %d", rc);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(done_calls, 1, "the done callback");
  ck_assert_msg(res_attempts == 2 && res_status == 0 && res_has_error,
                "/delay/3000 with a timeout of 100 ms and 1 retry came to %u "
                "attempts, status %ld, error \"%s\"; expected 2 attempts "
                "that timed out: give policy->timeout_ms to wb_http_get",
                res_attempts, res_status, res_error);
  wb_assert_no_block(50);
}
END_TEST

static int ticks;

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  if (done_calls == 2)
    ev_timer_stop(loop, w);
  else
    ticks++;
}

WB_TEST(pauses_wait_on_the_loop, 8) {
  static ev_timer tick;
  struct rf_policy p = policy(2, 80, 1000, 0.75);
  warm_up();
  ck_assert_int_eq(retry_fetch(wb_loop(), wb_server_url("/status/503"), &p,
                               on_done, NULL), 0);
  ck_assert_int_eq(retry_fetch(wb_loop(), wb_server_url("/status/504"), &p,
                               on_done, NULL), 0);
  ev_timer_init(&tick, tick_cb, 0.01, 0.01);
  ev_timer_start(wb_loop(), &tick);
  wb_run(wb_loop(), 1500);
  ck_assert_msg(done_calls == 2, "two retry_fetch at once: done was called "
                "%d time(s); expected 2", done_calls);
  ck_assert_msg(wb_server_requests() == 6,
                "two retry_fetch at once, 2 retries each: the server answered "
                "%u requests; expected 6",
                wb_server_requests());
  wb_assert_no_block(50);
  ck_assert_msg(ticks >= 5,
                "a 10 ms timer ticked %d time(s) while two fetches paused for "
                "70 and 140 ms each; the loop must run other work during a "
                "pause",
                ticks);
}
END_TEST

WB_TEST(leaves_nothing_behind, 1) {
  struct rf_policy p = policy(2, 100, 1000, 0.);
  fetch("/status/503", &p);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(done_calls, 1, "the done callback");
  wb_assert_no_block(50);
  wb_assert_no_leaks();
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "%d watcher(s) still active after done",
                wb_active_watchers(wb_loop()));
}
END_TEST

WB_TEST(out_of_memory_sends_nothing, 1) {
  struct rf_policy p = policy(1, 100, 1000, 0.);
  warm_up();
  const char *url = wb_server_url("/status/500");
  for (unsigned k = 1;; k++) {
    done_calls = 0;
    wb_fail_alloc(k);
    int rc = retry_fetch(wb_loop(), url, &p, on_done, NULL);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < k) {
      ck_assert_msg(rc == 0, "retry_fetch returned %d", rc);
      wb_run(wb_loop(), 1500);
      wb_assert_calls(done_calls, 1, "the done callback");
      break;
    }
    ck_assert_msg(rc == -ENOMEM,
                  "allocation number %u of retry_fetch failed, and it "
                  "returned %d; expected -ENOMEM (%d)",
                  k, rc, -ENOMEM);
    wb_run(wb_loop(), 1500);
    ck_assert_msg(done_calls == 0 && wb_server_requests() == 0,
                  "allocation number %u of retry_fetch failed and it "
                  "returned -ENOMEM, but then done was called %d time(s) "
                  "and %u request(s) reached the server",
                  k, done_calls, wb_server_requests());
  }
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(null_arguments_are_einval, 1) {
  struct rf_policy p = policy(1, 100, 1000, 0.);
  int a = retry_fetch(wb_loop(), NULL, &p, on_done, NULL);
  int b = retry_fetch(wb_loop(), "http://127.0.0.1:1/", NULL, on_done, NULL);
  ck_assert_msg(a == -EINVAL && b == -EINVAL,
                "retry_fetch with a NULL url returned %d, with a NULL policy "
                "%d; expected -EINVAL (%d)",
                a, b, -EINVAL);
  wb_run(wb_loop(), 1500);
  ck_assert_msg(done_calls == 0, "after -EINVAL, done was called");
  wb_assert_no_leaks();
}
END_TEST
