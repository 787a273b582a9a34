/* pitfall_nested_loop.c - sync_at_the_edge.c with the guide's second
 * pitfall: the loop's own code calls the synchronous wrapper fetch_sync, so
 * a loop runs inside a callback of another. The outer loop is frozen until
 * the inner one is done: 300 ms in which the heartbeat cannot tick.
 * Usage: pitfall_nested_loop [BASE_URL]
 * symptom: lag_ms > 200, ticks < 6 (a blocked loop: a loop inside a callback)
 */
#include "wb_http.h"
#include "wb_lag.h"
#include "wb_server.h"
#include "wb_trace.h"

#include <curl/curl.h>
#include <ev.h>
#include <stdio.h>

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

static void async_main(int revents, void *arg) {
  struct app *app = arg;
  (void)revents;
  ev_timer_init(&app->heartbeat, beat, 0.02, 0.02);
  app->heartbeat.data = app;
  ev_timer_start(app->loop, &app->heartbeat);
  /* WRONG: a synchronous call from inside the loop. fetch_sync runs a loop
   * of its own to the end; until it returns, this callback has not
   * returned, and the outer loop serves nothing: no tick, no other task. */
  long status = fetch_sync(app->url, &app->errors);
  printf("in the loop: HTTP %ld\n", status);
  wb_trace_mark("main: fetched");
  app->done = 1;
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
    fprintf(stderr, "pitfall_nested_loop: could not start the local server\n");
    return 1;
  }
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
