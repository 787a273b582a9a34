/* sync_at_the_edge.c - the guide's good_sync: synchronous code gets an
 * async result by running a loop of its own to the end (asyncio.run), and
 * only where no loop is running: in main(). Inside the loop, the same
 * fetch is awaited: started, continued in its callback, while a heartbeat
 * timer keeps ticking every 20 ms.
 * Usage: sync_at_the_edge [BASE_URL]   (default: the workbook's server)
 * expect: lag_ms < 50, ticks > 8, errors < 1
 */
#include "wb_http.h"
#include "wb_lag.h"
#include "wb_server.h"
#include "wb_trace.h"

#include <curl/curl.h>
#include <ev.h>
#include <stdio.h>

/* ---- asyncio.run(fetch(url)) for synchronous code ------------------------ */

struct sync_result {
  long status;
  int errors;
};

static void sync_done(struct ev_loop *loop, long status, const char *body,
                      size_t len, const char *error, void *arg) {
  struct sync_result *r = arg;
  (void)loop, (void)body, (void)len;
  r->status = status;
  r->errors += error != NULL;
}

/* A fresh loop, run until the request is over, then destroyed: right in
 * code that no loop is running, wrong inside a callback (see the pitfall). */
static long fetch_sync(const char *url, int *errors) {
  struct sync_result r = {0, 0};
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  if (wb_http_get(loop, url, 5000, sync_done, &r, NULL) < 0)
    r.errors++;
  ev_run(loop, 0);
  ev_loop_destroy(loop);
  *errors += r.errors;
  return r.status;
}

/* ---- async def main(): a heartbeat and an awaited fetch ------------------ */

struct app {
  struct ev_loop *loop;
  char url[512];
  ev_timer heartbeat;
  int ticks, done, errors;
};

static void beat(struct ev_loop *loop, ev_timer *w, int revents) {
  struct app *app = w->data;
  (void)revents;
  app->ticks++;
  if (app->done)
    ev_timer_stop(loop, w);
}

/* After `await fetch(url)`. */
static void fetched(struct ev_loop *loop, long status, const char *body,
                    size_t len, const char *error, void *arg) {
  struct app *app = arg;
  (void)loop, (void)len;
  if (error || status != 200)
    app->errors++;
  else
    printf("in the loop: %s\n", body);
  wb_trace_mark("main: fetched");
  app->done = 1;
}

static void async_main(int revents, void *arg) {
  struct app *app = arg;
  (void)revents;
  ev_timer_init(&app->heartbeat, beat, 0.02, 0.02);
  app->heartbeat.data = app;
  ev_timer_start(app->loop, &app->heartbeat);
  /* The await: start the request and return to the loop. */
  if (wb_http_get(app->loop, app->url, 5000, fetched, app, NULL) < 0) {
    app->errors++;
    app->done = 1;
  }
}

int main(int argc, char **argv) {
  wb_server_t *srv = NULL;
  struct app app = {0};
  wb_lag_t lag;
  char base[256];
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (argc > 1) {
    snprintf(base, sizeof base, "%s", argv[1]);
  } else if (wb_server_start(&srv, "127.0.0.1", 0) == 0) {
    snprintf(base, sizeof base, "http://127.0.0.1:%d", wb_server_port(srv));
  } else {
    fprintf(stderr, "sync_at_the_edge: could not start the local server\n");
    return 1;
  }
  /* good_sync(): no loop is running here, so a loop of our own is fine. */
  char url[512];
  snprintf(url, sizeof url, "%s/json", base);
  printf("from main: HTTP %ld\n", fetch_sync(url, &app.errors));

  snprintf(app.url, sizeof app.url, "%s/delay/300", base);
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
  printf("measured: lag_ms=%.0f elapsed_ms=%.0f ticks=%d errors=%d\n",
         wb_lag_longest_ms(&lag), elapsed, app.ticks, app.errors);
  return 0;
}
