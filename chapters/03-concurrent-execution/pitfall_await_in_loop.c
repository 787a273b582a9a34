/* pitfall_await_in_loop.c - fetch_multiple.c with the classic mistake:
 * `for url in urls: results.append(await client.get(url))`. Each request
 * starts from the previous one's callback, so nothing blocks, yet nothing
 * overlaps either: the run takes the sum of the delays (500 ms), not the
 * longest one (300 ms).
 * Usage: pitfall_await_in_loop [URL | /PATH]...   (as fetch_multiple)
 * symptom: elapsed_ms > 480, lag_ms < 50 (serial: the sum of the delays, with a free loop)
 */
#include "wb_http.h"
#include "wb_lag.h"
#include "wb_server.h"
#include "wb_trace.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAXURLS = 32 };

struct app {
  struct ev_loop *loop;
  const char *urls[MAXURLS];
  int n, next, errors;
};

static void fetch_next(struct app *app);

/* The path of a URL, to name it on the timeline ("/delay/300"). */
static const char *path_of(const char *url) {
  const char *host = strstr(url, "://");
  const char *path = host ? strchr(host + 3, '/') : NULL;
  return path ? path : url;
}

/* After `response = await client.get(urls[i])`: handle it, then... */
static void fetched(struct ev_loop *loop, long status, const char *body,
                    size_t len, const char *error, void *arg) {
  struct app *app = arg;
  const char *url = app->urls[app->next];
  json_t *data = NULL;
  (void)loop;
  wb_trace_mark("%s: finished", path_of(url));
  if (!error && status < 400)
    data = json_loadb(body, len, 0, NULL);
  if (!data) {
    printf("Error fetching %s: %s\n", url,
           error ? error : status >= 400 ? "HTTP error" : "not JSON");
    app->errors++;
  } else {
    printf("%d: %s\n", app->next, body);
    json_decref(data);
  }
  app->next++;
  fetch_next(app); /* WRONG: ...only now start the next request */
}

static void fetch_next(struct app *app) {
  if (app->next == app->n)
    return;
  const char *url = app->urls[app->next];
  printf("started: %s\n", url);
  wb_trace_mark("%s: started", path_of(url));
  if (wb_http_get(app->loop, url, 2000, fetched, app, NULL) < 0) {
    app->errors++;
    app->next++;
    fetch_next(app);
  }
}

static void async_main(int revents, void *arg) {
  (void)revents;
  fetch_next(arg);
}

static const char *default_paths[] = {"/delay/300", "/json/1", "/close",
                                      "/delay/200", "/status/503"};

int main(int argc, char **argv) {
  static char urlbuf[MAXURLS][512];
  static struct app app;
  wb_server_t *srv = NULL;
  wb_lag_t lag;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  app.n = argc > 1 ? argc - 1 : 5;
  if (app.n > MAXURLS)
    app.n = MAXURLS;
  for (int i = 0; i < app.n; i++) {
    const char *arg = argc > 1 ? argv[i + 1] : default_paths[i];
    if (arg[0] != '/') {
      snprintf(urlbuf[i], sizeof urlbuf[i], "%s", arg);
    } else {
      if (!srv && wb_server_start(&srv, "127.0.0.1", 0) != 0) {
        fprintf(stderr, "pitfall_await_in_loop: could not start the server\n");
        return 1;
      }
      snprintf(urlbuf[i], sizeof urlbuf[i], "http://127.0.0.1:%d%s",
               wb_server_port(srv), arg);
    }
    app.urls[i] = urlbuf[i];
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
  return 0;
}
