/* pitfall_blocking_fetch.c - fetch_data.c with the classic mistake: the
 * "async" function fetches with curl_easy_perform, a blocking call (Python's
 * requests.get inside an async def). The loop is frozen for as long as the
 * server takes to answer: 300 ms here.
 * Usage: pitfall_blocking_fetch [URL | /PATH]   (a /PATH, or nothing for
 * /delay/300, is fetched from the workbook's own server, in the program)
 * symptom: lag_ms > 200 (a blocked loop)
 */
#include "wb_lag.h"
#include "wb_server.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
  char data[4096];
  size_t len;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *userp) {
  struct buf *b = userp;
  size_t n = size * nmemb;
  if (n > sizeof b->data - 1 - b->len)
    return 0; /* too long for this small example: curl stops with an error */
  memcpy(b->data + b->len, data, n);
  b->len += n;
  return n;
}

typedef void (*fetch_data_cb)(json_t *data, const char *error, void *arg);

/* WRONG: it has the shape of an async function (called from the loop,
 * result through a callback) but curl_easy_perform does the whole transfer
 * before it returns, waiting on the socket while the loop stands still. */
static void fetch_data(const char *url, fetch_data_cb done, void *arg) {
  struct buf b = {.len = 0};
  json_error_t jerr;
  CURL *easy = curl_easy_init();
  if (!easy) {
    done(NULL, "curl_easy_init failed", arg);
    return;
  }
  curl_easy_setopt(easy, CURLOPT_URL, url);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &b);
  CURLcode rc = curl_easy_perform(easy); /* blocks: connect, send, wait */
  curl_easy_cleanup(easy);
  if (rc != CURLE_OK) {
    done(NULL, curl_easy_strerror(rc), arg);
    return;
  }
  json_t *data = json_loadb(b.data, b.len, 0, &jerr);
  done(data, data ? NULL : jerr.text, arg);
  json_decref(data);
}

struct app {
  struct ev_loop *loop;
  const char *url;
  int errors;
};

static void main_resume(json_t *data, const char *error, void *arg) {
  struct app *app = arg;
  if (!data) {
    fprintf(stderr, "fetch_data: %s: %s\n", app->url, error);
    app->errors++;
    return;
  }
  char *text = json_dumps(data, 0);
  printf("%s\n", text ? text : "(out of memory)");
  free(text);
}

static void async_main(int revents, void *arg) {
  struct app *app = arg;
  (void)revents;
  fetch_data(app->url, main_resume, app);
}

int main(int argc, char **argv) {
  char url[512];
  wb_server_t *srv = NULL;
  struct app app = {NULL, url, 0};
  wb_lag_t lag;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (argc > 1 && argv[1][0] != '/') {
    snprintf(url, sizeof url, "%s", argv[1]);
  } else if (wb_server_start(&srv, "127.0.0.1", 0) == 0) {
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", wb_server_port(srv),
             argc > 1 ? argv[1] : "/delay/300");
  } else {
    fprintf(stderr, "pitfall_blocking_fetch: could not start the server\n");
    return 1;
  }

  double t0 = wb_now_ms();
  app.loop = ev_loop_new(EVFLAG_AUTO);
  wb_lag_start(app.loop, &lag);
  ev_once(app.loop, -1, 0, 0., async_main, &app);
  ev_run(app.loop, 0);
  wb_lag_stop(app.loop, &lag);
  ev_loop_destroy(app.loop);
  double elapsed = wb_now_ms() - t0;

  if (srv)
    wb_server_stop(srv);
  curl_global_cleanup();
  wb_measured_print(stdout, wb_lag_longest_ms(&lag), elapsed, app.errors);
  return app.errors ? 1 : 0;
}
