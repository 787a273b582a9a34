/* gather_tests.c - tests for gather_get.h (exercise 08.2) against the
 * workbook's local server: the callback copies what it was given, and the
 * test asserts after the loop, on order, per-slot errors and facts the
 * server reports (how many requests it had in flight at once).
 */
#include "gather_get.h"
#include "wbtest.h"

#include <stdio.h>
#include <string.h>

#define MAX 8

/* What the callback saw, copied: the results die when it returns. */
static int calls;
static size_t got_n;
static long status[MAX];
static int failed[MAX];
static char body[MAX][160];
static size_t len[MAX];

static void record(struct ev_loop *loop, const gather_result_t *results,
                   size_t n, void *arg) {
  (void)loop, (void)arg;
  calls++;
  got_n = n;
  for (size_t i = 0; i < n && i < MAX; i++) {
    status[i] = results[i].status;
    failed[i] = results[i].error != NULL;
    len[i] = results[i].len;
    snprintf(body[i], sizeof body[i], "%s", results[i].body);
  }
}

/* The URLs of `paths` on the test's server, copied out of its ring. */
static char urlbuf[MAX][128];
static const char *urls[MAX];
static const char *const *on_server(const char **paths, size_t n) {
  for (size_t i = 0; i < n; i++) {
    snprintf(urlbuf[i], sizeof urlbuf[i], "%s", wb_server_url(paths[i]));
    urls[i] = urlbuf[i];
  }
  return urls;
}

WB_TEST(results_come_in_url_order, 1) {
  const char *paths[] = {"/delay/150", "/json/1", "/json/2"};
  ck_assert_int_eq(gather_get(wb_loop(), on_server(paths, 3), 3, 2000, record, NULL), 0);
  ck_assert_int_eq(calls, 0); /* never from inside gather_get */
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(calls, 1);
  ck_assert_int_eq(got_n, 3);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(status[i], 200);
  ck_assert_ptr_nonnull(strstr(body[0], "\"delay_ms\":150"));
  ck_assert_ptr_nonnull(strstr(body[1], "\"id\":1,"));
  ck_assert_ptr_nonnull(strstr(body[2], "\"id\":2,"));
}
END_TEST

WB_TEST(requests_are_in_flight_together, 1) {
  const char *paths[] = {"/delay/200", "/delay/200", "/delay/200", "/delay/200"};
  ck_assert_int_eq(gather_get(wb_loop(), on_server(paths, 4), 4, 2000, record, NULL), 0);
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(calls, 1);
  ck_assert_uint_eq(wb_server_most_in_flight(), 4); /* a fact, not a clock */
}
END_TEST

WB_TEST(one_failure_stays_in_its_slot, 1) {
  const char *paths[] = {"/json/1", "/close", "/status/500", "/json/4"};
  ck_assert_int_eq(gather_get(wb_loop(), on_server(paths, 4), 4, 2000, record, NULL), 0);
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(calls, 1);
  ck_assert_int_eq(got_n, 4);
  ck_assert(!failed[0] && status[0] == 200);
  ck_assert(failed[1] && status[1] == 0); /* no response at all */
  ck_assert(!failed[2] && status[2] == 500); /* a response, with its status */
  ck_assert(!failed[3] && status[3] == 200);
  ck_assert_ptr_nonnull(strstr(body[3], "\"id\":4,"));
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(a_body_in_pieces_arrives_whole, 1) {
  static const char doc[] = /* what /split/N sends, in N pieces */
      "{\"id\":7,\"name\":\"workbook\",\"tags\":[\"async\",\"c\",\"libev\"],"
      "\"note\":\"this document arrives in several pieces\"}";
  const char *paths[] = {"/split/5", "/json/2"};
  ck_assert_int_eq(gather_get(wb_loop(), on_server(paths, 2), 2, 2000, record, NULL), 0);
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(calls, 1);
  ck_assert(!failed[0] && status[0] == 200);
  ck_assert_uint_eq(len[0], sizeof doc - 1);
  ck_assert_str_eq(body[0], doc);
}
END_TEST

WB_TEST(a_slow_request_times_out_alone, 1) {
  const char *paths[] = {"/delay/5000", "/json/1"};
  ck_assert_int_eq(gather_get(wb_loop(), on_server(paths, 2), 2, 200, record, NULL), 0);
  wb_run(wb_loop(), 700); /* the timeout is 200 ms */
  ck_assert_int_eq(calls, 1);
  ck_assert(failed[0] && status[0] == 0);
  ck_assert(!failed[1] && status[1] == 200);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(no_urls_calls_back_from_the_loop, 1) {
  got_n = 99;
  ck_assert_int_eq(gather_get(wb_loop(), NULL, 0, 2000, record, NULL), 0);
  ck_assert_int_eq(calls, 0);
  wb_run(wb_loop(), 1000);
  ck_assert_int_eq(calls, 1);
  ck_assert_int_eq(got_n, 0);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(out_of_memory_returns_minus_one, 1) {
  const char *paths[] = {"/json/1", "/json/2"};
  for (unsigned n = 1;; n++) {
    calls = 0;
    on_server(paths, 2);
    wb_fail_alloc(n);
    int rc = gather_get(wb_loop(), urls, 2, 2000, record, NULL);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    wb_run(wb_loop(), 1000);
    ck_assert_int_eq(calls, rc == 0 ? 1 : 0);
    ck_assert_int_eq(wb_active_watchers(wb_loop()), 0);
    if (used < n)
      break;
  }
}
END_TEST
