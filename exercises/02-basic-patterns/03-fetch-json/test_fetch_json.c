/* test_fetch_json.c - the tests of exercise 02.3 and their points.
 * The callbacks copy what they see into static state or the test's own
 * struct; nothing of the code under test is read after its callback has
 * returned.
 */
#define _GNU_SOURCE /* strcasestr */
#include "fetch_json.h"
#include "wbtest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A blocking fetch holds a callback for the whole transfer, and nearly
 * every test has a transfer that the server makes last 300 ms or more
 * (SLOW_PATH), or several of 100 ms one after another. A correct fetch's
 * callbacks are over in a few milliseconds, except curl's first one in a
 * process, which sets up its resolver: up to about 75 ms with the
 * sanitizers on a busy machine. */
#define NO_BLOCK_MS 150

/* What one fetch's callback saw. */
struct got {
  int calls;
  long id;         /* the document's "id", or -1 */
  char name[32];   /* the document's "name" */
  char note[64];   /* the document's "note" (the /split document has one) */
  char error[512]; /* the error, or "" */
  int had_json, had_error;
  double at_ms; /* when the callback ran (wb_elapsed_ms) */
  int watchers; /* active watchers of the loop while the callback ran */
  int fds;      /* open descriptors while the callback ran */
};

static void record_cb(struct ev_loop *loop, json_t *json, const char *error,
                      void *arg) {
  struct got *g = arg;
  g->calls++;
  g->at_ms = wb_elapsed_ms();
  g->watchers = wb_active_watchers(loop);
  g->fds = wb_fd_count();
  g->had_json = json != NULL;
  g->had_error = error != NULL;
  g->id = -1;
  if (json) {
    json_t *id = json_object_get(json, "id");
    json_t *name = json_object_get(json, "name");
    json_t *note = json_object_get(json, "note");
    g->id = json_is_integer(id) ? (long)json_integer_value(id) : -1;
    if (json_is_string(name))
      snprintf(g->name, sizeof g->name, "%s", json_string_value(name));
    if (json_is_string(note))
      snprintf(g->note, sizeof g->note, "%s", json_string_value(note));
  }
  if (error)
    snprintf(g->error, sizeof g->error, "%s", error);
}

/* Starts a fetch of `url` that the test expects to start, and checks what
 * is known when fetch_json has returned: the callback has not run, and the
 * server has not answered (nothing was sent yet: the loop does that). */
static void start_url(const char *url, const char *what, long timeout_ms,
                      struct got *g) {
  unsigned answered = wb_server_requests();
  int calls = g->calls;
  ck_assert_msg(fetch_json(wb_loop(), url, timeout_ms, record_cb, g) == 0,
                "fetch_json(\"%s\") returned -1: it must return 0 once the "
                "request is set up (curl handles created, easy handle added "
                "to the multi handle)",
                what);
  ck_assert_msg(g->calls == calls,
                "the callback ran before fetch_json(\"%s\") returned; it must "
                "come later, from the loop. Do not call "
                "curl_multi_socket_action inside fetch_json: start a 0 ms "
                "ev_timer when curl asks for one (timer_cb)",
                what);
  ck_assert_msg(wb_server_requests() == answered,
                "the server had already answered %s when fetch_json returned: "
                "fetch_json waited for the transfer. It must only set the "
                "request up (curl_multi_add_handle) and return; the loop "
                "does the transfer (curl_easy_perform blocks)",
                what);
}

static void start(const char *path, long timeout_ms, struct got *g) {
  start_url(wb_server_url(path), path, timeout_ms, g);
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
                "fetching %s gave a JSON document, but it should have failed "
                "(exactly one of the document and the error is given)",
                path);
  ck_assert_msg(g->had_error && g->error[0],
                "fetching %s failed but the callback got no error message: "
                "say what went wrong",
                path);
}

/* A slow fetch beside the test's own. A fetch that waits for its transfer
 * inside one loop callback holds the loop for the whole delay, which
 * wb_assert_no_block sees even when the test's own fetch is answered at
 * once. */
#define SLOW_PATH "/delay/300"
static struct got slow_neighbour;

static void start_slow_neighbour(void) {
  start(SLOW_PATH, 2000, &slow_neighbour);
}

/* Fails unless the slow neighbour got its document, and no callback held
 * the loop for long. */
static void expect_neighbour_and_no_block(void) {
  expect_document(&slow_neighbour,
                  SLOW_PATH " (a slow fetch running alongside)");
  wb_assert_no_block(NO_BLOCK_MS);
}

/* A port on 127.0.0.1 that nobody listens on: bound, read, closed. */
static int refused_port(void) {
  struct sockaddr_in a = {0};
  socklen_t len = sizeof a;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_msg(s >= 0, "the test could not create a socket");
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_msg(bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
                    getsockname(s, (struct sockaddr *)&a, &len) == 0,
                "the test could not find a free port");
  close(s);
  return ntohs(a.sin_port);
}

WB_TEST(fetches_a_json_document, 2) {
  struct got g = {0};
  start_slow_neighbour();
  start("/json", 2000, &g);
  wb_run(wb_loop(), 2000);
  expect_document(&g, "/json");
  ck_assert_msg(g.id == 1 && strcmp(g.name, "workbook") == 0,
                "/json gave a document with id %ld and name \"%s\"; expected "
                "id 1 and name \"workbook\". Is the whole body collected "
                "before it is parsed?",
                g.id, g.name);
  expect_neighbour_and_no_block();
}
END_TEST

WB_TEST(fetches_the_document_asked_for, 1) {
  struct got g = {0};
  start_slow_neighbour();
  start("/json/42", 2000, &g);
  wb_run(wb_loop(), 2000);
  expect_document(&g, "/json/42");
  ck_assert_msg(g.id == 42,
                "/json/42 gave a document with id %ld; expected 42. Is the "
                "url passed to CURLOPT_URL?",
                g.id);
  expect_neighbour_and_no_block();
}
END_TEST

WB_TEST(body_in_pieces_is_put_together, 2) {
  struct got g = {0};
  start("/split/6", 2000, &g); /* one document in 6 pieces, 20 ms apart */
  start_slow_neighbour();
  wb_run(wb_loop(), 2000);
  ck_assert_msg(!g.had_error || strncmp(g.error, "invalid JSON", 12) != 0,
                "the server sent one JSON document in 6 pieces, and parsing "
                "gave \"%s\": write_cb is called once per piece; append each "
                "piece after the ones before (body + len), and parse only "
                "when the transfer is done",
                g.error);
  expect_document(&g, "/split/6");
  ck_assert_msg(g.id == 7 && strstr(g.note, "several pieces") != NULL,
                "/split/6 gave a document with id %ld and note \"%s\"; "
                "expected id 7 and the note \"this document arrives in "
                "several pieces\"",
                g.id, g.note);
  expect_neighbour_and_no_block();
}
END_TEST

WB_TEST(http_error_status_is_an_error_naming_it, 2) {
  static const int codes[] = {404, 400, 503};
  struct got g[3] = {{0}};
  char path[3][32];
  start_slow_neighbour();
  for (int i = 0; i < 3; i++) {
    snprintf(path[i], sizeof path[i], "/status/%d", codes[i]);
    start(path[i], 2000, &g[i]);
  }
  wb_run(wb_loop(), 2000);
  for (int i = 0; i < 3; i++) {
    char num[8];
    snprintf(num, sizeof num, "%d", codes[i]);
    ck_assert_msg(!g[i].had_json || g[i].had_error,
                  "the server answered %d (with a JSON body) and the "
                  "callback got the document: a status of 400 or more is an "
                  "error (is the comparison >= 400?)",
                  codes[i]);
    expect_error(&g[i], path[i]);
    ck_assert_msg(strstr(g[i].error, num) != NULL,
                  "the server answered %d but the error \"%s\" does not say "
                  "so: put the status in the message "
                  "(CURLINFO_RESPONSE_CODE)",
                  codes[i], g[i].error);
  }
  expect_neighbour_and_no_block();
}
END_TEST

WB_TEST(closed_connection_is_an_error, 1) {
  struct got g = {0};
  start_slow_neighbour();
  start("/close", 2000, &g);
  wb_run(wb_loop(), 2000);
  expect_error(&g, "/close (the server closes without answering)");
  expect_neighbour_and_no_block();
}
END_TEST

WB_TEST(refused_connection_is_an_error_from_the_loop, 1) {
  struct got g = {0};
  char url[64];
  start_slow_neighbour();
  snprintf(url, sizeof url, "http://127.0.0.1:%d/json", refused_port());
  start_url(url, "a port nobody listens on", 2000, &g);
  wb_run(wb_loop(), 2000);
  expect_error(&g, "a port nobody listens on");
  expect_neighbour_and_no_block();
}
END_TEST

WB_TEST(unusable_url_is_an_error_from_the_loop, 1) {
  struct got g = {0};
  const char *url = "nosuch://127.0.0.1/json"; /* a scheme curl lacks */
  start_slow_neighbour(); /* goes on, whatever the other one does */
  int rc = fetch_json(wb_loop(), url, 2000, record_cb, &g);
  ck_assert_msg(g.calls == 0,
                "fetch_json(\"%s\") called the callback before it returned; "
                "curl finds out that it cannot use the URL only once the "
                "transfer starts, and that must happen later, from the loop. "
                "Do not call curl_multi_socket_action inside fetch_json",
                url);
  wb_run(wb_loop(), 2000);
  if (rc == -1)
    wb_assert_calls(g.calls, 0,
                    "the callback of a fetch_json that returned -1");
  else
    expect_error(&g, url);
  expect_neighbour_and_no_block();
}
END_TEST

WB_TEST(body_that_is_not_json_is_an_error, 1) {
  struct got g = {0};
  start_slow_neighbour();
  start("/", 2000, &g); /* a short text, status 200 */
  wb_run(wb_loop(), 2000);
  expect_error(&g, "/ (plain text)");
  ck_assert_msg(strncmp(g.error, "invalid JSON", 12) == 0,
                "the body was not JSON and the error was \"%s\": start it "
                "with \"invalid JSON\", as the header says",
                g.error);
  expect_neighbour_and_no_block();
}
END_TEST

WB_TEST(timeout_ends_the_fetch_with_an_error, 2) {
  struct got slow = {0}, other = {0};
  double t0 = wb_elapsed_ms();
  start("/delay/3000", 120, &slow);
  start("/json/5", 4000, &other);
  start_slow_neighbour();
  wb_run(wb_loop(), 4000);
  expect_neighbour_and_no_block();
  expect_document(&other, "/json/5 (while another fetch timed out)");
  ck_assert_msg(!slow.had_json,
                "a fetch with a 120 ms timeout of a document that takes "
                "3000 ms got the document: pass timeout_ms to "
                "CURLOPT_TIMEOUT_MS (milliseconds; CURLOPT_TIMEOUT counts "
                "seconds)");
  expect_error(&slow, "/delay/3000 with a 120 ms timeout");
  double took = slow.at_ms - t0;
  ck_assert_msg(took >= 60 && took < 1500,
                "a fetch with a 120 ms timeout, of a document that takes "
                "3000 ms, ended after %.0f ms: pass timeout_ms to "
                "CURLOPT_TIMEOUT_MS, and run curl's timer "
                "(CURLMOPT_TIMERFUNCTION) with an ev_timer, in seconds "
                "(timeout_ms / 1000.0)",
                took);
  ck_assert_msg(strcasestr(slow.error, "time") != NULL,
                "the fetch timed out but the error \"%s\" does not say so "
                "(libcurl's message for a timeout does)",
                slow.error);
  wb_assert_no_block(NO_BLOCK_MS);
}
END_TEST

WB_TEST(zero_timeout_means_no_limit, 1) {
  struct got g = {0};
  start(SLOW_PATH, 0, &g);
  wb_run(wb_loop(), 2000);
  ck_assert_msg(!g.had_error || strcasestr(g.error, "time") == NULL,
                "a fetch with timeout_ms 0 timed out (\"%s\"): 0 means no "
                "limit. CURLOPT_TIMEOUT_MS reads 0 the same way, so pass "
                "timeout_ms on as it is",
                g.error);
  expect_document(&g, SLOW_PATH " with timeout_ms 0 (no limit)");
  wb_assert_no_block(NO_BLOCK_MS);
}
END_TEST

WB_TEST(fetches_overlap, 2) {
  struct got g[3] = {{0}};
  for (int i = 0; i < 3; i++)
    start("/delay/100", 3000, &g[i]);
  double t0 = wb_elapsed_ms(); /* nothing was sent yet (start checks it) */
  wb_run(wb_loop(), 3000);
  for (int i = 0; i < 3; i++)
    expect_document(&g[i], "/delay/100");
  ck_assert_msg(wb_server_requests() == 3,
                "the server answered %u requests; expected 3",
                wb_server_requests());
  wb_assert_overlap(wb_elapsed_ms() - t0, 100, 3);
  wb_assert_no_block(NO_BLOCK_MS);
}
END_TEST

WB_TEST(never_blocks_the_loop, 2) {
  struct got g[2] = {{0}};
  for (int i = 0; i < 2; i++)
    start("/delay/100", 3000, &g[i]);
  wb_run(wb_loop(), 3000);
  for (int i = 0; i < 2; i++)
    expect_document(&g[i], "/delay/100");
  wb_assert_no_block(NO_BLOCK_MS);
}
END_TEST

/* Each callback checks that its fetch has released everything, then
 * starts the next fetch of the chain: one path of the code at a time. */
static const struct {
  const char *path;
  long timeout_ms;
} chain[] = {{"/json", 2000},
             {"/status/500", 2000},
             {"/close", 2000},
             {"/", 2000},
             {"/delay/3000", 100}};
#define CHAIN_LEN (int)(sizeof chain / sizeof chain[0])
static struct got chain_got[CHAIN_LEN];
static int chain_fds; /* descriptors open before the first fetch */

static void chain_cb(struct ev_loop *loop, json_t *json, const char *error,
                     void *arg) {
  struct got *g = arg;
  record_cb(loop, json, error, arg);
  int next = (int)(g - chain_got) + 1;
  if (next < CHAIN_LEN && g->calls == 1)
    fetch_json(loop, wb_server_url(chain[next].path), chain[next].timeout_ms,
               chain_cb, &chain_got[next]);
}

WB_TEST(callback_finds_the_fetch_released, 2) {
  const char *url = wb_server_url(chain[0].path); /* starts the server */
  chain_fds = wb_fd_count();
  ck_assert_msg(fetch_json(wb_loop(), url, chain[0].timeout_ms, chain_cb,
                           &chain_got[0]) == 0,
                "fetch_json returned -1 for a valid request");
  wb_run(wb_loop(), 3000);
  for (int i = 0; i < CHAIN_LEN; i++) {
    const struct got *g = &chain_got[i];
    wb_assert_calls(g->calls, 1, "the callback given to fetch_json");
    ck_assert_msg(g->watchers == 0,
                  "while the callback of the fetch of %s ran, %d watcher%s "
                  "of the fetch %s still active: stop the ev_timer (and let "
                  "curl_multi_remove_handle remove the sockets) before "
                  "calling cb",
                  chain[i].path, g->watchers, g->watchers == 1 ? "" : "s",
                  g->watchers == 1 ? "was" : "were");
    ck_assert_msg(g->fds == chain_fds,
                  "while the callback of the fetch of %s ran, %d more "
                  "descriptor%s than before the fetch %s open: release the "
                  "curl handles (curl_multi_remove_handle, "
                  "curl_easy_cleanup, curl_multi_cleanup) before calling cb",
                  chain[i].path, g->fds - chain_fds,
                  g->fds - chain_fds == 1 ? "" : "s",
                  g->fds - chain_fds == 1 ? "was" : "were");
  }
  wb_assert_no_block(NO_BLOCK_MS);
}
END_TEST

WB_TEST(leaves_nothing_behind, 2) {
  struct got g[5] = {{0}};
  char url[64];
  start("/json", 2000, &g[0]);
  start("/status/500", 2000, &g[1]);
  start("/close", 2000, &g[2]);
  start("/delay/3000", 100, &g[3]);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/json", refused_port());
  start_url(url, "a port nobody listens on", 2000, &g[4]);
  start_slow_neighbour();
  wb_run(wb_loop(), 2000);
  expect_document(&g[0], "/json");
  expect_error(&g[1], "/status/500");
  expect_error(&g[2], "/close");
  expect_error(&g[3], "/delay/3000 with a 100 ms timeout");
  expect_error(&g[4], "a port nobody listens on");
  wb_assert_no_leaks();
  expect_neighbour_and_no_block();
}
END_TEST

#define OOM_MAX 16 /* more allocations than fetch_json needs */

WB_TEST(out_of_memory_is_reported_cleanly, 2) {
  static struct got g[OOM_MAX];
  int rc[OOM_MAX];
  int tried = 0;
  const char *url = wb_server_url("/json"); /* starts the server */
  int fds = wb_fd_count();
  /* The n-th fetch has the n-th allocation of fetch_json fail, until one
   * has no allocation left to fail; then all of them run together. */
  for (unsigned n = 1; n <= OOM_MAX; n++) {
    int watchers = wb_active_watchers(wb_loop());
    wb_fail_alloc(n);
    rc[tried] = fetch_json(wb_loop(), url, 2000, record_cb, &g[tried]);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    ck_assert_msg(rc[tried] == 0 || rc[tried] == -1,
                  "fetch_json returned %d; it returns 0 or -1", rc[tried]);
    ck_assert_msg(rc[tried] == 0 || used >= n,
                  "fetch_json returned -1 though no allocation failed");
    ck_assert_msg(g[tried].calls == 0,
                  "with allocation %u of fetch_json failing, the callback "
                  "ran before fetch_json returned",
                  n);
    ck_assert_msg(wb_server_requests() == 0,
                  "the server had already answered /json when fetch_json "
                  "returned: fetch_json waited for the transfer");
    ck_assert_msg(rc[tried] == 0 || wb_active_watchers(wb_loop()) == watchers,
                  "fetch_json returned -1 when allocation %u failed, but "
                  "left a watcher active: undo every step before the "
                  "failure (goto fail_... labels in reverse order)",
                  n);
    tried++;
    if (used < n)
      break; /* nothing failed this time: every allocation was tried */
  }
  wb_run(wb_loop(), 2000);
  for (int i = 0; i < tried; i++) {
    if (rc[i] == -1)
      ck_assert_msg(g[i].calls == 0,
                    "fetch_json returned -1 when allocation %d failed, and "
                    "the callback ran anyway: after -1, cb is never called",
                    i + 1);
    else
      ck_assert_msg(g[i].calls == 1 && g[i].had_json,
                    "when allocation %d of fetch_json failed, it returned 0, "
                    "so the fetch must go on as usual; the callback was "
                    "called %d time(s)%s. Return -1 when an allocation "
                    "fails (after freeing what was made before it)",
                    i + 1, g[i].calls, g[i].had_error ? " with an error" : "");
  }
  ck_assert_msg(wb_fd_count() == fds,
                "after fetches whose allocations failed one by one, %d "
                "descriptor(s) were left open: when fetch_json returns -1, "
                "it must first release what it made before the failure "
                "(curl_multi_cleanup, curl_easy_cleanup)",
                wb_fd_count() - fds);
  wb_assert_no_leaks();
  wb_assert_no_block(NO_BLOCK_MS);
}
END_TEST
