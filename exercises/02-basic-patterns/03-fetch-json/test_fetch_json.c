/* test_fetch_json.c - the tests of exercise 02.3 and their points. */
#define _GNU_SOURCE /* strcasestr */
#include "fetch_json.h"
#include "wbtest.h"

#include <string.h>

/* What one fetch's callback saw. */
struct got {
  int calls;
  long id;          /* the document's "id", or -1 */
  char name[32];    /* the document's "name" */
  char error[512];  /* the error, or "" */
  int had_json, had_error;
  double at_ms;     /* when the callback ran (wb_elapsed_ms) */
};

static void record_cb(struct ev_loop *loop, json_t *json, const char *error,
                      void *arg) {
  struct got *g = arg;
  (void)loop;
  g->calls++;
  g->at_ms = wb_elapsed_ms();
  g->had_json = json != NULL;
  g->had_error = error != NULL;
  g->id = -1;
  if (json) {
    json_t *id = json_object_get(json, "id");
    json_t *name = json_object_get(json, "name");
    g->id = json_is_integer(id) ? (long)json_integer_value(id) : -1;
    if (json_is_string(name))
      snprintf(g->name, sizeof g->name, "%s", json_string_value(name));
  }
  if (error)
    snprintf(g->error, sizeof g->error, "%s", error);
}

/* Starts a fetch that the test expects to start. */
static void start(const char *path, long timeout_ms, struct got *g) {
  ck_assert_msg(fetch_json(wb_loop(), wb_server_url(path), timeout_ms,
                           record_cb, g) == 0,
                "fetch_json(\"%s\") returned -1: it must return 0 once the "
                "request is set up (curl handles created, easy handle added "
                "to the multi handle)",
                path);
}

/* Fails unless the callback ran once with a document and no error. */
static void expect_document(const struct got *g, const char *path) {
  wb_assert_calls(g->calls, 1, "the callback given to fetch_json");
  ck_assert_msg(!g->had_error,
                "fetching %s gave the error \"%s\"; the server sent a valid "
                "JSON document with status 200",
                path, g->error);
  ck_assert_msg(g->had_json,
                "fetching %s called back with neither a document nor an "
                "error: exactly one of them must be given",
                path);
}

/* Fails unless the callback ran once with an error and no document. */
static void expect_error(const struct got *g, const char *path) {
  wb_assert_calls(g->calls, 1, "the callback given to fetch_json");
  ck_assert_msg(!g->had_json,
                "fetching %s gave a JSON document, but it should have failed",
                path);
  ck_assert_msg(g->had_error && g->error[0],
                "fetching %s failed but the callback got no error message: "
                "say what went wrong",
                path);
}

WB_TEST(fetches_a_json_document, 2) {
  struct got g = {0};
  start("/json", 2000, &g);
  ck_assert_msg(g.calls == 0,
                "the callback ran before fetch_json returned; it must come "
                "later, from the loop");
  wb_run(wb_loop(), 2000);
  expect_document(&g, "/json");
  ck_assert_msg(g.id == 1 && strcmp(g.name, "workbook") == 0,
                "/json gave a document with id %ld and name \"%s\"; expected "
                "id 1 and name \"workbook\". Is the whole body collected "
                "before it is parsed?",
                g.id, g.name);
}
END_TEST

WB_TEST(fetches_the_document_asked_for, 1) {
  struct got g = {0};
  start("/json/42", 2000, &g);
  wb_run(wb_loop(), 2000);
  expect_document(&g, "/json/42");
  ck_assert_msg(g.id == 42,
                "/json/42 gave a document with id %ld; expected 42. Is the "
                "url passed to CURLOPT_URL?",
                g.id);
}
END_TEST

WB_TEST(http_error_status_is_an_error_naming_it, 2) {
  struct got g = {0};
  start("/status/404", 2000, &g);
  wb_run(wb_loop(), 2000);
  expect_error(&g, "/status/404");
  ck_assert_msg(strstr(g.error, "404") != NULL,
                "the server answered 404 but the error \"%s\" does not say "
                "so: put the status in the message "
                "(CURLINFO_RESPONSE_CODE)",
                g.error);
}
END_TEST

WB_TEST(closed_connection_is_an_error, 1) {
  struct got g = {0};
  start("/close", 2000, &g);
  wb_run(wb_loop(), 2000);
  expect_error(&g, "/close (the server closes without answering)");
}
END_TEST

WB_TEST(body_that_is_not_json_is_an_error, 1) {
  struct got g = {0};
  start("/", 2000, &g); /* a short text, status 200 */
  wb_run(wb_loop(), 2000);
  expect_error(&g, "/ (plain text)");
  ck_assert_msg(strstr(g.error, "JSON") != NULL,
                "the body was not JSON but the error \"%s\" does not say so: "
                "start it with \"invalid JSON\"",
                g.error);
}
END_TEST

WB_TEST(timeout_ends_the_fetch_with_an_error, 2) {
  struct got g = {0};
  const char *url = wb_server_url("/delay/2000");
  double t0 = wb_elapsed_ms();
  ck_assert_msg(fetch_json(wb_loop(), url, 200, record_cb, &g) == 0,
                "fetch_json returned -1 for a valid request");
  wb_run(wb_loop(), 1500);
  expect_error(&g, "/delay/2000 with a 200 ms timeout");
  double took = g.at_ms - t0;
  ck_assert_msg(took >= 150 && took < 1000,
                "a fetch with a 200 ms timeout ended after %.0f ms: pass "
                "timeout_ms to CURLOPT_TIMEOUT_MS, and run curl's timer "
                "(CURLMOPT_TIMERFUNCTION) with an ev_timer",
                took);
  ck_assert_msg(strcasestr(g.error, "time") != NULL,
                "the fetch timed out but the error \"%s\" does not say so "
                "(libcurl's message for a timeout does)",
                g.error);
}
END_TEST

WB_TEST(fetches_overlap, 2) {
  struct got g[3] = {{0}};
  const char *url = wb_server_url("/delay/300");
  double t0 = wb_elapsed_ms();
  for (int i = 0; i < 3; i++)
    ck_assert_msg(fetch_json(wb_loop(), url, 3000, record_cb, &g[i]) == 0,
                  "fetch_json returned -1 for a valid request");
  wb_run(wb_loop(), 3000);
  for (int i = 0; i < 3; i++)
    expect_document(&g[i], "/delay/300");
  ck_assert_msg(wb_server_requests() == 3,
                "the server answered %u requests; expected 3",
                wb_server_requests());
  wb_assert_overlap(wb_elapsed_ms() - t0, 300, 3);
}
END_TEST

WB_TEST(never_blocks_the_loop, 2) {
  struct got g[2] = {{0}};
  const char *url = wb_server_url("/delay/200");
  double t0 = wb_elapsed_ms();
  for (int i = 0; i < 2; i++)
    fetch_json(wb_loop(), url, 3000, record_cb, &g[i]);
  ck_assert_msg(wb_elapsed_ms() - t0 < 100,
                "two calls of fetch_json took %.0f ms to return: it must "
                "only start the request (curl_multi_add_handle), never wait "
                "for it (curl_easy_perform blocks)",
                wb_elapsed_ms() - t0);
  wb_run(wb_loop(), 2000);
  for (int i = 0; i < 2; i++)
    expect_document(&g[i], "/delay/200");
  wb_assert_no_block(50);
}
END_TEST

WB_TEST(leaves_nothing_behind, 2) {
  struct got g[4] = {{0}};
  start("/json", 2000, &g[0]);
  start("/status/500", 2000, &g[1]);
  start("/close", 2000, &g[2]);
  start("/delay/2000", 100, &g[3]);
  wb_run(wb_loop(), 2000);
  expect_document(&g[0], "/json");
  expect_error(&g[1], "/status/500");
  expect_error(&g[2], "/close");
  expect_error(&g[3], "/delay/2000 with a 100 ms timeout");
  wb_assert_no_leaks();
}
END_TEST
