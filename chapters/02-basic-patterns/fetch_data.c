/* fetch_data.c - an "async function" in C: fetch_data starts an HTTP GET
 * and returns; the loop calls it back with the parsed JSON. main() runs it
 * on a fresh loop, the way asyncio.run(main()) does.
 * Usage: fetch_data [URL | /PATH]   (a /PATH, or nothing for /json, is
 * fetched from the workbook's own server, started inside the program)
 * expect: lag_ms < 50, elapsed_ms < 1000, errors < 1
 */
#include "wb_http.h"
#include "wb_lag.h"
#include "wb_server.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- async def fetch_data(url) -> dict ---------------------------------- */

/* What fetch_data hands back: the document (NULL on failure) or an error. */
typedef void (*fetch_data_cb)(struct ev_loop *loop, json_t *data,
                              const char *error, void *arg);

/* The state that a coroutine keeps across its await. It lives on the heap:
 * fetch_data's own stack frame is gone as soon as it returns. */
struct fetch {
  fetch_data_cb done;
  void *arg;
};

/* The part of fetch_data that comes after `await client.get(url)`. */
static void fetch_data_resume(struct ev_loop *loop, long status,
                              const char *body, size_t len, const char *error,
                              void *arg) {
  struct fetch *f = arg;
  char why[64];
  json_error_t jerr;
  json_t *data = NULL;
  if (!error && status >= 400) {
    snprintf(why, sizeof why, "the server answered HTTP %ld", status);
    error = why;
  }
  if (!error) {
    data = json_loadb(body, len, 0, &jerr); /* response.json() */
    if (!data)
      error = jerr.text;
  }
  f->done(loop, data, error, f->arg); /* "return response.json()" */
  json_decref(data);
  free(f);
}

static int fetch_data(struct ev_loop *loop, const char *url, fetch_data_cb done,
                      void *arg) {
  struct fetch *f = malloc(sizeof *f);
  if (!f)
    return -1;
  f->done = done;
  f->arg = arg;
  /* The await: start the request and give control back to the loop. */
  if (wb_http_get(loop, url, 5000, fetch_data_resume, f, NULL) < 0) {
    free(f);
    return -1;
  }
  return 0;
}

/* ---- async def main() ----------------------------------------------------- */

struct app {
  struct ev_loop *loop;
  const char *url;
  int errors;
};

/* The part of main that comes after `data = await fetch_data(...)`. */
static void main_resume(struct ev_loop *loop, json_t *data, const char *error,
                        void *arg) {
  struct app *app = arg;
  (void)loop;
  if (!data) {
    fprintf(stderr, "fetch_data: %s: %s\n", app->url, error);
    app->errors++;
    return;
  }
  char *text = json_dumps(data, 0);
  printf("%s\n", text ? text : "(out of memory)"); /* print(data) */
  free(text);
}

static void async_main(int revents, void *arg) {
  struct app *app = arg;
  (void)revents;
  if (fetch_data(app->loop, app->url, main_resume, app) < 0)
    app->errors++;
}

/* ---- asyncio.run(main()) ---------------------------------------------------- */

int main(int argc, char **argv) {
  char url[512];
  wb_server_t *srv = NULL;
  struct app app = {NULL, url, 0};
  wb_lag_t lag;
  /* libcurl's global setup must run before any other thread exists. */
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (argc > 1 && argv[1][0] != '/') {
    snprintf(url, sizeof url, "%s", argv[1]);
  } else if (wb_server_start(&srv, "127.0.0.1", 0) == 0) {
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", wb_server_port(srv),
             argc > 1 ? argv[1] : "/json");
  } else {
    fprintf(stderr, "fetch_data: could not start the local server\n");
    return 1;
  }

  double t0 = wb_now_ms();
  app.loop = ev_loop_new(EVFLAG_AUTO); /* a fresh loop... */
  wb_lag_start(app.loop, &lag);
  ev_once(app.loop, -1, 0, 0., async_main, &app); /* ...main() first... */
  ev_run(app.loop, 0);                             /* ...until all is done */
  wb_lag_stop(app.loop, &lag);
  ev_loop_destroy(app.loop);
  double elapsed = wb_now_ms() - t0;

  if (srv)
    wb_server_stop(srv);
  curl_global_cleanup();
  wb_measured_print(stdout, wb_lag_longest_ms(&lag), elapsed, app.errors);
  return app.errors ? 1 : 0;
}
