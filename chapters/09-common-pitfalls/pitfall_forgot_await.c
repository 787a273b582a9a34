/* pitfall_forgot_await.c - with_await.c with the guide's first pitfall,
 * twice: the document is printed right after the request is started, before
 * it exists (Python's `result = fetch_data()` without await), and the pause
 * is an ev_timer that is initialised but never started (a coroutine never
 * awaited): its callback never runs, and ev_run returns without waiting.
 * Usage: pitfall_forgot_await [URL | /PATH]
 * symptom: printed < 1, paused < 1 (a result read before it existed, a pause that never ran)
 */
#include "wb_http.h"
#include "wb_lag.h"
#include "wb_server.h"

#include <curl/curl.h>
#include <ev.h>
#include <stdio.h>

struct app {
  struct ev_loop *loop;
  const char *url;
  const char *result; /* what fetched() leaves for the code after the call */
  char body[256];
  ev_timer pause;
  int printed, paused, errors;
};

static void pause_done(struct ev_loop *loop, ev_timer *w, int revents) {
  struct app *app = w->data;
  (void)loop, (void)revents;
  app->paused = 1;
  printf("main: done\n");
}

static void fetched(struct ev_loop *loop, long status, const char *body,
                    size_t len, const char *error, void *arg) {
  struct app *app = arg;
  (void)loop, (void)len;
  if (error || status != 200) {
    app->errors++;
    return;
  }
  snprintf(app->body, sizeof app->body, "%s", body);
  app->result = app->body; /* too late: async_main has already looked */
}

static void async_main(int revents, void *arg) {
  struct app *app = arg;
  (void)revents;
  if (wb_http_get(app->loop, app->url, 5000, fetched, app, NULL) < 0)
    app->errors++;
  /* WRONG: the request has only been started; its callback has not run,
   * so there is no result yet. This is print(fetch_data()) without await. */
  printf("result: %s\n", app->result ? app->result : "(nothing yet)");
  app->printed = app->result != NULL;
  /* WRONG: initialised but never started, so it never fires: the loop
   * does not even know about it. */
  ev_timer_init(&app->pause, pause_done, 0.1, 0.);
  app->pause.data = app;
}

int main(int argc, char **argv) {
  char url[512];
  wb_server_t *srv = NULL;
  struct app app = {.url = url};
  wb_lag_t lag;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (argc > 1 && argv[1][0] != '/') {
    snprintf(url, sizeof url, "%s", argv[1]);
  } else if (wb_server_start(&srv, "127.0.0.1", 0) == 0) {
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", wb_server_port(srv),
             argc > 1 ? argv[1] : "/json");
  } else {
    fprintf(stderr, "pitfall_forgot_await: could not start the local server\n");
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
  printf("measured: printed=%d paused=%d lag_ms=%.0f elapsed_ms=%.0f "
         "errors=%d\n", app.printed, app.paused, wb_lag_longest_ms(&lag),
         elapsed, app.errors);
  return 0;
}
