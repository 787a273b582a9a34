/* pitfall_unbounded_fetch.c - bounded_fetch.c without its semaphore: all
 * the GETs start at once. With the same 24 spare descriptors, only the first
 * few requests get their sockets; the others fail at once ("Couldn't connect
 * to server": socket() said EMFILE). The same happens against a server that
 * takes only so many connections, or a real one that rate-limits.
 * Usage: pitfall_unbounded_fetch [REQUESTS]   (48 when not given)
 * symptom: errors > 20 (most requests fail), elapsed_ms < 2500
 */
#define _DEFAULT_SOURCE
#include "child_server.h"
#include "wb_http.h"
#include "wb_lag.h"
#include "wb_trace.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#define FD_BUDGET 24 /* descriptors the process may open beyond its own */

/* ---- The fetches ------------------------------------------------------------- */

struct app {
  struct ev_loop *loop;
  int port, n, done, errors;
};

struct fetch {
  struct app *app;
  int index;
};

static void fetch_done(struct ev_loop *loop, long status, const char *body,
                       size_t len, const char *error, void *arg) {
  struct fetch *f = arg;
  (void)loop, (void)body, (void)len;
  if (error || status != 200) {
    f->app->errors++;
    printf("request %d: %s\n", f->index, error ? error : "bad status");
  }
  wb_trace_mark("request %d: done", f->index);
  f->app->done++;
}

/* `await client.get(url)`, with nothing around it. */
static void fetch_start(void *arg) {
  struct fetch *f = arg;
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/delay/100", f->app->port);
  wb_trace_mark("request %d: start", f->index);
  if (wb_http_get(f->app->loop, url, 5000, fetch_done, f, NULL) < 0) {
    f->app->errors++;
    f->app->done++;
  }
}

static void async_main(int revents, void *arg) {
  struct app *app = arg;
  static struct fetch fetches[1000];
  (void)revents;
  for (int i = 0; i < app->n; i++) {
    fetches[i] = (struct fetch){app, i};
    fetch_start(&fetches[i]); /* WRONG: every request at once */
  }
}

int main(int argc, char **argv) {
  struct app app = {.n = argc > 1 ? atoi(argv[1]) : 48};
  pid_t server;
  wb_lag_t lag;
  if (app.n < 1 || app.n > 1000) {
    fprintf(stderr, "usage: pitfall_unbounded_fetch [REQUESTS (1-1000)]\n");
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  app.port = child_server_start(&server);
  if (app.port < 0) {
    fprintf(stderr, "pitfall_unbounded_fetch: could not start the server\n");
    return 1;
  }

  double t0 = wb_now_ms();
  app.loop = ev_loop_new(EVFLAG_AUTO);
  /* From here on the process may open only FD_BUDGET more descriptors. */
  struct rlimit rl = {(rlim_t)(wb_open_fds() + FD_BUDGET),
                      (rlim_t)(wb_open_fds() + FD_BUDGET)};
  setrlimit(RLIMIT_NOFILE, &rl);
  wb_lag_start(app.loop, &lag);
  ev_once(app.loop, -1, 0, 0., async_main, &app);
  ev_run(app.loop, 0);
  wb_lag_stop(app.loop, &lag);
  ev_loop_destroy(app.loop);
  double elapsed = wb_now_ms() - t0;

  child_server_stop(server);
  curl_global_cleanup();
  printf("%d requests, all at once: %d failed\n", app.n, app.errors);
  wb_measured_print(stdout, wb_lag_longest_ms(&lag), elapsed, app.errors);
  return 0;
}
