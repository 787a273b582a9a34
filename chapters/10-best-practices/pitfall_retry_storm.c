/* pitfall_retry_storm.c - the retry loop everyone writes first: when a
 * request fails, send it again at once, whatever the failure, until it
 * works or MAX_TRIES is reached. Against a server that answers 503 (it is
 * overloaded) and 404 (the page is not there), it sends MAX_TRIES requests
 * for each in a few hundred milliseconds, and still gets nothing.
 * Usage: pitfall_retry_storm [/PATH | URL]...   (/status/503 /status/404)
 * symptom: requests > 100 (retried at once, 4xx included), errors > 1
 */
#include "wb_http.h"
#include "wb_lag.h"
#include "wb_server.h"
#include "wb_trace.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#define MAX_TRIES 100

struct fetch {
  struct ev_loop *loop;
  char url[512];
  int tries;
  int failed;
};

static const char *path_of(const char *url) {
  const char *host = strstr(url, "://");
  const char *path = host ? strchr(host + 3, '/') : NULL;
  return path ? path : url;
}

static void fetch_start(struct fetch *f);

/* WRONG: every failure is retried, and at once. A 404 will be a 404 the
 * hundredth time too; a server that answers 503 is overloaded, and every
 * client that fails comes straight back, all together, making it worse. */
static void fetch_done(struct ev_loop *loop, long status, const char *body,
                       size_t len, const char *error, void *arg) {
  struct fetch *f = arg;
  (void)loop, (void)body, (void)len;
  if (!error && status >= 200 && status <= 299) {
    wb_trace_mark("%s: ok", path_of(f->url));
    return;
  }
  if (f->tries < MAX_TRIES) {
    fetch_start(f); /* no backoff, no jitter, no question asked */
    return;
  }
  wb_trace_mark("%s: gave up", path_of(f->url));
  f->failed = 1;
}

static void fetch_start(struct fetch *f) {
  f->tries++;
  if (f->tries == 1 || f->tries % 20 == 0)
    wb_trace_mark("%s: try %d", path_of(f->url), f->tries);
  if (wb_http_get(f->loop, f->url, 2000, fetch_done, f, NULL) < 0)
    f->failed = 1;
}

int main(int argc, char **argv) {
  static const char *paths[] = {"/status/503", "/status/404"};
  struct fetch fetches[16];
  int n = argc > 1 ? argc - 1 : 2, failed = 0;
  wb_server_t *srv = NULL;
  wb_lag_t lag;
  if (n > 16)
    n = 16;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (wb_server_start(&srv, "127.0.0.1", 0) != 0) {
    fprintf(stderr, "pitfall_retry_storm: could not start the local server\n");
    return 1;
  }
  double t0 = wb_now_ms();
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  wb_lag_start(loop, &lag);
  for (int i = 0; i < n; i++) {
    const char *arg = argc > 1 ? argv[i + 1] : paths[i];
    fetches[i] = (struct fetch){.loop = loop};
    if (arg[0] == '/')
      snprintf(fetches[i].url, sizeof fetches[i].url, "http://127.0.0.1:%d%s",
               wb_server_port(srv), arg);
    else
      snprintf(fetches[i].url, sizeof fetches[i].url, "%s", arg);
    fetch_start(&fetches[i]);
  }
  ev_run(loop, 0);
  wb_lag_stop(loop, &lag);
  ev_loop_destroy(loop);
  double elapsed = wb_now_ms() - t0;
  unsigned requests = wb_server_answered(srv);
  wb_server_stop(srv);
  curl_global_cleanup();
  for (int i = 0; i < n; i++) {
    printf("%s: %d tries, %s\n", fetches[i].url, fetches[i].tries,
           fetches[i].failed ? "failed" : "ok");
    failed += fetches[i].failed;
  }
  printf("measured: lag_ms=%.0f elapsed_ms=%.0f open_fds=%d errors=%d "
         "requests=%u\n",
         wb_lag_longest_ms(&lag), elapsed, wb_open_fds(), failed, requests);
  return 0;
}
