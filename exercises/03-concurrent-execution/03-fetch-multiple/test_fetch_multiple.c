/* test_fetch_multiple.c - the tests of exercise 03.3 and their points.
 * Each gather gets a record of its own as `arg`; the callbacks copy what
 * they see into it. curl_multi_init and curl_multi_cleanup are counted on
 * their way to libcurl, to see how many multi handles the client makes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fetch_multiple.h"
#include "wbtest.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* ---- Counting multi handles ------------------------------------------- */

static int multi_inits, multi_cleanups;

CURLM *curl_multi_init(void) {
  static CURLM *(*real)(void);
  if (!real)
    *(void **)&real = dlsym(RTLD_NEXT, "curl_multi_init");
  multi_inits++;
  return real();
}

CURLMcode curl_multi_cleanup(CURLM *multi) {
  static CURLMcode (*real)(CURLM *);
  if (!real)
    *(void **)&real = dlsym(RTLD_NEXT, "curl_multi_cleanup");
  multi_cleanups++;
  return real(multi);
}

/* ---- What the callbacks saw -------------------------------------------- */

#define MAXN 8

/* A transfer that waits inside one loop callback holds it for the whole
 * delay (300 ms here); a correct callback is over in a few milliseconds,
 * though the first one, which starts curl's resolver threads, may take
 * tens of them under the sanitizers. */
#define NO_BLOCK_MS 150

struct rec {
  int inside;        /* 1 while the test is inside fm_fetch_multiple */
  int called_inside; /* callbacks run from inside it */
  size_t each_order[MAXN];
  size_t neach;
  int done_calls, each_when_done, results_null;
  size_t n;
  long status[MAXN];
  char body[MAXN][160];
  size_t len[MAXN];
  char error[MAXN][96];
  int error_null[MAXN];
};

static void on_each(struct ev_loop *loop, size_t index,
                    const struct fm_result *result, void *arg) {
  struct rec *r = arg;
  (void)loop, (void)result;
  r->called_inside += r->inside;
  if (r->neach < MAXN)
    r->each_order[r->neach] = index;
  r->neach++;
}

static void on_done(struct ev_loop *loop, const struct fm_result *results,
                    size_t n, void *arg) {
  struct rec *r = arg;
  (void)loop;
  r->called_inside += r->inside;
  r->done_calls++;
  r->each_when_done = (int)r->neach;
  r->n = n;
  r->results_null = results == NULL;
  for (size_t i = 0; results && i < n && i < MAXN; i++) {
    r->status[i] = results[i].status;
    snprintf(r->body[i], sizeof r->body[i], "%s",
             results[i].body ? results[i].body : "(NULL)");
    r->len[i] = results[i].len;
    r->error_null[i] = results[i].error == NULL;
    snprintf(r->error[i], sizeof r->error[i], "%s",
             results[i].error ? results[i].error : "");
  }
}

static fm_client_t *client(long timeout_ms) {
  fm_client_t *c = NULL;
  int rc = fm_client_new(wb_loop(), timeout_ms, &c);
  ck_assert_msg(rc == 0 && c, "fm_client_new returned %d; expected 0", rc);
  return c;
}

/* Starts a gather of server paths; the record keeps the URLs alive. */
struct gather {
  const char *urls[MAXN];
  struct rec rec;
  double started_ms; /* when fm_fetch_multiple was called */
};

static void fetch(fm_client_t *c, struct gather *g, const char *const *paths,
                  size_t n) {
  for (size_t i = 0; i < n; i++)
    g->urls[i] = wb_server_url(paths[i]);
  unsigned before = wb_server_requests(); /* the server is up by now */
  g->started_ms = wb_elapsed_ms();
  g->rec.inside = 1;
  int rc = fm_fetch_multiple(c, g->urls, n, on_each, on_done, &g->rec);
  g->rec.inside = 0;
  ck_assert_msg(rc == 0, "fm_fetch_multiple returned %d for %zu URLs; "
                         "expected 0", rc, n);
  ck_assert_msg(g->rec.called_inside == 0 && g->rec.done_calls == 0,
                "a callback ran inside fm_fetch_multiple: on_each and done "
                "come from the loop, later");
  ck_assert_msg(wb_server_requests() == before,
                "when fm_fetch_multiple returned, the server had already "
                "answered %u request(s): it must only add the transfers to "
                "the multi handle and return; the loop does the I/O (no "
                "curl_easy_perform, no curl_multi_perform loop)",
                wb_server_requests() - before);
}

static void assert_each_order(const struct rec *r, const size_t *want,
                              size_t n, const char *why) {
  int same = r->neach == n;
  for (size_t i = 0; same && i < n; i++)
    same = r->each_order[i] == want[i];
  char g[64] = "", e[64] = "";
  for (size_t i = 0, o = 0; i < r->neach && i < MAXN; i++)
    o += (size_t)snprintf(g + o, sizeof g - o, "%s%zu", i ? ", " : "",
                          r->each_order[i]);
  for (size_t i = 0, o = 0; i < n; i++)
    o += (size_t)snprintf(e + o, sizeof e - o, "%s%zu", i ? ", " : "",
                          want[i]);
  ck_assert_msg(same, "on_each reported the URLs in the order {%s}; "
                      "expected {%s}: %s", g, e, why);
}

static void assert_ok(const struct rec *r, size_t i, const char *body) {
  ck_assert_msg(r->error_null[i] && r->status[i] == 200,
                "results[%zu] has status %ld and error \"%s\"; expected 200 "
                "and no error",
                i, r->status[i], r->error[i]);
  ck_assert_msg(strcmp(r->body[i], body) == 0 && r->len[i] == strlen(body),
                "results[%zu] has the body \"%s\" (len %zu); expected "
                "\"%s\": results[i] belongs to urls[i]",
                i, r->body[i], r->len[i], body);
}

#define DOC(id) "{\"id\":" #id ",\"name\":\"workbook\",\"tags\":[\"async\",\"c\",\"libev\"]}"

WB_TEST(results_in_url_order, 3) {
  static const char *paths[] = {"/delay/300", "/json/1", "/delay/150"};
  static struct gather g;
  fm_client_t *c = client(5000);
  fetch(c, &g, paths, 3);
  wb_run(wb_loop(), 1500);
  assert_each_order(&g.rec, (size_t[]){1, 2, 0}, 3,
                    "the transfers run side by side, so the fastest ends "
                    "first");
  wb_assert_calls(g.rec.done_calls, 1, "the done callback");
  ck_assert_msg(g.rec.each_when_done == 3,
                "done was called after %d on_each calls; expected after all "
                "3", g.rec.each_when_done);
  assert_ok(&g.rec, 0, "{\"delay_ms\":300}");
  assert_ok(&g.rec, 1, DOC(1));
  assert_ok(&g.rec, 2, "{\"delay_ms\":150}");
  wb_assert_no_block(NO_BLOCK_MS);
  fm_client_free(c);
}
END_TEST

WB_TEST(requests_overlap, 3) {
  static const char *paths[] = {"/delay/300", "/delay/301", "/delay/302",
                                "/delay/303"};
  static struct gather g;
  fm_client_t *c = client(5000);
  fetch(c, &g, paths, 4);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(g.rec.done_calls, 1, "the done callback");
  wb_assert_no_block(NO_BLOCK_MS);
  ck_assert_msg(wb_server_most_in_flight() == 4,
                "the server had at most %u of the 4 requests open at once: "
                "all of them must be in flight together (each added to the "
                "shared multi handle before the loop runs), not one after "
                "another",
                wb_server_most_in_flight());
  wb_assert_overlap(wb_elapsed_ms() - g.started_ms, 300, 4);
  fm_client_free(c);
}
END_TEST

WB_TEST(one_multi_handle_for_the_client, 3) {
  static const char *p1[] = {"/delay/200", "/json/2"}, *p2[] = {"/json/3"};
  static struct gather g1, g2;
  fm_client_t *c = client(5000);
  ck_assert_msg(multi_inits == 1,
                "fm_client_new called curl_multi_init %d times; expected "
                "once: the client is its multi handle",
                multi_inits);
  fetch(c, &g1, p1, 2);
  fetch(c, &g2, p2, 1);
  wb_run(wb_loop(), 1500);
  ck_assert_msg(multi_inits == 1,
                "two gathers of three URLs called curl_multi_init %d times "
                "in all; expected once, in fm_client_new: every transfer "
                "shares the client's multi handle",
                multi_inits);
  wb_assert_calls(g1.rec.done_calls, 1, "the first gather's done callback");
  wb_assert_calls(g2.rec.done_calls, 1, "the second gather's done callback");
  assert_each_order(&g1.rec, (size_t[]){1, 0}, 2,
                    "the quick URL ends before the slow one");
  ck_assert_msg(multi_cleanups == 0,
                "curl_multi_cleanup was called before fm_client_free: the "
                "multi handle lives as long as the client");
  fm_client_free(c);
  ck_assert_msg(multi_cleanups == 1,
                "fm_client_free called curl_multi_cleanup %d times; "
                "expected once",
                multi_cleanups);
}
END_TEST

WB_TEST(errors_stay_in_their_slot, 3) {
  static const char *paths[] = {"/delay/1200", "/status/404", "/close",
                                "/json/2"};
  static struct gather g;
  fm_client_t *c = client(300);
  fetch(c, &g, paths, 4);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(g.rec.done_calls, 1, "the done callback");
  ck_assert_msg(g.rec.neach == 4 && g.rec.each_order[3] == 0,
                "the URL that times out (after the client's 300 ms) must "
                "end last, the others side by side before it; on_each "
                "reported %zu URLs, the last being %zu",
                g.rec.neach, g.rec.each_order[g.rec.neach ? g.rec.neach - 1 : 0]);
  ck_assert_msg(!g.rec.error_null[0] && g.rec.status[0] == 0,
                "results[0] (a response slower than the client's timeout) "
                "has status %ld and %s; expected 0 and curl's timeout "
                "message",
                g.rec.status[0], g.rec.error_null[0] ? "no error" : "an error");
  ck_assert_msg(g.rec.status[1] == 404 && strcmp(g.rec.error[1], "HTTP 404") == 0,
                "results[1] (/status/404) has status %ld and error \"%s\"; "
                "expected 404 and \"HTTP 404\"",
                g.rec.status[1], g.rec.error[1]);
  ck_assert_msg(!g.rec.error_null[2] && g.rec.status[2] == 0,
                "results[2] (the server hangs up without a response) has "
                "status %ld and %s; expected 0 and curl's message",
                g.rec.status[2], g.rec.error_null[2] ? "no error" : "an error");
  assert_ok(&g.rec, 3, DOC(2));
  fm_client_free(c);
}
END_TEST

WB_TEST(body_in_pieces, 2) {
  static const char *paths[] = {"/delay/500", "/split/5"};
  static struct gather g;
  fm_client_t *c = client(5000);
  fetch(c, &g, paths, 2);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(g.rec.done_calls, 1, "the done callback");
  assert_each_order(&g.rec, (size_t[]){1, 0}, 2,
                    "the split document (5 pieces, 20 ms apart) ends before "
                    "the 500 ms delay");
  assert_ok(&g.rec, 1,
            "{\"id\":7,\"name\":\"workbook\",\"tags\":[\"async\",\"c\","
            "\"libev\"],\"note\":\"this document arrives in several "
            "pieces\"}");
  fm_client_free(c);
}
END_TEST

WB_TEST(empty_gather_from_the_loop, 1) {
  static struct gather g;
  fm_client_t *c = client(5000);
  fetch(c, &g, NULL, 0);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(g.rec.done_calls, 1, "the done callback with no URLs");
  ck_assert_msg(g.rec.n == 0 && g.rec.results_null == 1 && g.rec.neach == 0,
                "with no URLs, done got n = %zu and results %s, after %zu "
                "on_each calls; expected 0, NULL and none",
                g.rec.n, g.rec.results_null ? "NULL" : "not NULL", g.rec.neach);
  fm_client_free(c);
}
END_TEST

WB_TEST(two_gathers_at_once_keep_apart, 2) {
  static const char *pa[] = {"/delay/250", "/json/1"};
  static const char *pb[] = {"/json/2", "/delay/100"};
  static struct gather a, b;
  fm_client_t *c = client(5000);
  fetch(c, &a, pa, 2);
  fetch(c, &b, pb, 2);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(a.rec.done_calls, 1, "the first gather's done callback");
  wb_assert_calls(b.rec.done_calls, 1, "the second gather's done callback");
  assert_each_order(&a.rec, (size_t[]){1, 0}, 2,
                    "each gather hears of its own URLs only, as they end");
  assert_each_order(&b.rec, (size_t[]){0, 1}, 2,
                    "each gather hears of its own URLs only, as they end");
  assert_ok(&a.rec, 0, "{\"delay_ms\":250}");
  assert_ok(&a.rec, 1, DOC(1));
  assert_ok(&b.rec, 0, DOC(2));
  assert_ok(&b.rec, 1, "{\"delay_ms\":100}");
  fm_client_free(c);
}
END_TEST

WB_TEST(out_of_memory_fails_cleanly, 2) {
  static const char *paths[] = {"/json/1", "/json/2"};
  static struct gather g;
  fm_client_t *c = (fm_client_t *)&g, *const sentinel = c;
  wb_fail_alloc(1);
  int rc = fm_client_new(wb_loop(), 5000, &c);
  wb_fail_alloc(0);
  ck_assert_msg(rc == -1 && c == sentinel,
                "when its first allocation failed, fm_client_new returned "
                "%d%s; expected -1 and *out left alone",
                rc, c == sentinel ? "" : " and changed *out");
  c = client(5000);
  g.urls[0] = wb_server_url(paths[0]);
  g.urls[1] = wb_server_url(paths[1]);
  for (unsigned k = 1;; k++) {
    memset(&g.rec, 0, sizeof g.rec);
    wb_fail_alloc(k);
    rc = fm_fetch_multiple(c, g.urls, 2, on_each, on_done, &g.rec);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    wb_run(wb_loop(), 1500);
    if (used < k) {
      ck_assert_msg(rc == 0, "fm_fetch_multiple returned %d; expected 0", rc);
      wb_assert_calls(g.rec.done_calls, 1, "the done callback");
      break;
    }
    ck_assert_msg(rc == -1,
                  "allocation number %u of fm_fetch_multiple failed, but it "
                  "returned %d; expected -1",
                  k, rc);
    ck_assert_msg(g.rec.done_calls == 0 && g.rec.neach == 0,
                  "allocation number %u of fm_fetch_multiple failed and it "
                  "returned -1, yet a callback ran: after -1, none may",
                  k);
  }
  fm_client_free(c);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(leaves_nothing_behind, 2) {
  static const char *paths[] = {"/delay/100", "/close", "/json/1",
                                "/status/500"};
  static struct gather g;
  fm_client_t *c = client(5000);
  fetch(c, &g, paths, 4);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(g.rec.done_calls, 1, "the done callback");
  fm_client_free(c);
  wb_assert_no_leaks();
}
END_TEST
