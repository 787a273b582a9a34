/* with_await.c - the guide's good_example: `result = await fetch_data()`,
 * then a pause of 100 ms. In C each await is a watcher that is started and
 * a callback that continues: the document is printed in the request's
 * callback, and the pause is a started ev_timer.
 * Usage: with_await [URL | /PATH]   (default: /json of the workbook's
 * server, started inside the program)
 * expect: printed > 0, paused > 0, lag_ms < 50, elapsed_ms > 90, errors < 1
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
  ev_timer pause;   /* await asyncio.sleep(0.1) */
  int printed;      /* the document was printed */
  int paused;       /* the pause ended */
  int errors;
};

/* After `await asyncio.sleep(0.1)`. */
static void pause_done(struct ev_loop *loop, ev_timer *w, int revents) {
  struct app *app = w->data;
  (void)loop, (void)revents;
  app->paused = 1;
  printf("main: done\n");
}

/* After `result = await fetch_data()`: the result exists only here. */
static void fetched(struct ev_loop *loop, long status, const char *body,
                    size_t len, const char *error, void *arg) {
  struct app *app = arg;
  (void)len;
  if (error || status != 200) {
    fprintf(stderr, "with_await: %s\n", error ? error : "HTTP error");
    app->errors++;
    return;
  }
  printf("result: %s\n", body); /* print(result) */
  app->printed = 1;
  ev_timer_init(&app->pause, pause_done, 0.1, 0.);
  app->pause.data = app;
  ev_timer_start(loop, &app->pause); /* the await: start it, then return */
}

static void async_main(int revents, void *arg) {
  struct app *app = arg;
  (void)revents;
  if (wb_http_get(app->loop, app->url, 5000, fetched, app, NULL) < 0)
    app->errors++;
  /* Nothing more here: what follows the await is in fetched(). */
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
    fprintf(stderr, "with_await: could not start the local server\n");
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
