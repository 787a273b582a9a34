/* fetch_multiple.c - asyncio.gather(..., return_exceptions=True) over real
 * HTTP: every GET starts at once on ONE shared libcurl multi handle, and the
 * results come back in the order of the URLs, each a document or an error.
 * Usage: fetch_multiple [URL | /PATH]...   (/PATHs, or nothing for the five
 * below, are fetched from the workbook's own server, started in the program)
 * expect: lag_ms < 50, elapsed_ms < 450, errors > 1, errors < 3
 */
#include "wb_lag.h"
#include "wb_server.h"
#include "wb_trace.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The client: one multi handle that every transfer shares ------------ */

/* What httpx.AsyncClient is: one multi handle, one timer for the timeout
 * curl asks for, and the loop. Its connection cache is shared too, so a
 * second request to a server that keeps connections open reuses one. */
struct client {
  struct ev_loop *loop;
  CURLM *multi;
  ev_timer timer;
};

/* One slot of the gather: the result of urls[index], document or error. */
struct slot {
  CURL *easy;
  const char *url;
  char *body;
  size_t len;
  long status;
  char error[CURL_ERROR_SIZE]; /* "" while there is none */
  json_t *data;                /* NULL on error */
  struct gather *g;
};

/* The gather: n slots, and how many transfers are still running. */
struct gather {
  struct client *c;
  struct slot *slots;
  int n, pending, finished;
};

static void gather_resume(struct gather *g);

/* The path of a URL, to name it on the timeline ("/delay/300"). */
static const char *path_of(const char *url) {
  const char *host = strstr(url, "://");
  const char *path = host ? strchr(host + 3, '/') : NULL;
  return path ? path : url;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp) {
  struct slot *s = userp;
  size_t n = size * nmemb;
  char *body = realloc(s->body, s->len + n + 1);
  if (!body)
    return 0; /* curl ends this transfer with an error */
  memcpy(body + s->len, data, n);
  s->body = body;
  s->len += n;
  s->body[s->len] = '\0';
  return n;
}

/* One transfer is over: fill its slot. CURLOPT_PRIVATE is how a finished
 * easy handle leads back to its slot among all those sharing the multi. */
static void slot_finish(struct client *c, CURL *easy, CURLcode rc) {
  struct slot *s;
  json_error_t jerr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&s);
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &s->status);
  curl_multi_remove_handle(c->multi, easy); /* the others keep running */
  curl_easy_cleanup(easy);
  s->easy = NULL;
  if (rc != CURLE_OK) {
    if (!s->error[0])
      snprintf(s->error, sizeof s->error, "%s", curl_easy_strerror(rc));
  } else if (s->status >= 400) {
    snprintf(s->error, sizeof s->error, "HTTP %ld", s->status);
  } else if (!(s->data = json_loadb(s->body ? s->body : "", s->len, 0, &jerr))) {
    snprintf(s->error, sizeof s->error, "not JSON: %s", jerr.text);
  }
  printf("finished #%d: %s\n", ++s->g->finished, s->url);
  wb_trace_mark("%s: finished", path_of(s->url));
  if (--s->g->pending == 0)
    gather_resume(s->g);
}

/* After every curl_multi_socket_action: which transfers ended? Any number
 * may have, in any order: the message names the easy handle. */
static void check_done(struct client *c) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(c->multi, &left)))
    if (msg->msg == CURLMSG_DONE)
      slot_finish(c, msg->easy_handle, msg->data.result);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct client *c = w->data;
  int running;
  (void)loop;
  curl_multi_socket_action(c->multi, w->fd,
                           (revents & EV_READ ? CURL_CSELECT_IN : 0) |
                               (revents & EV_WRITE ? CURL_CSELECT_OUT : 0),
                           &running);
  check_done(c); /* `w` may be freed by now: not touched again */
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct client *c = w->data;
  int running;
  (void)loop, (void)revents;
  curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(c);
}

/* The same two wishes as in chapter 02, now for every socket of every
 * transfer: the client, not a request, is the callbacks' data. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *sockp) {
  struct client *c = userp;
  ev_io *io = sockp;
  if (what == CURL_POLL_REMOVE) {
    if (io) {
      ev_io_stop(c->loop, io);
      free(io);
    }
    return 0;
  }
  if (!io) {
    struct slot *s;
    if (!(io = malloc(sizeof *io)))
      return -1;
    curl_multi_assign(c->multi, fd, io);
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&s);
    wb_trace_mark("%s: socket", path_of(s->url)); /* the timeline's row */
  } else {
    ev_io_stop(c->loop, io);
  }
  ev_io_init(io, io_cb, fd,
             (what & CURL_POLL_IN ? EV_READ : 0) |
                 (what & CURL_POLL_OUT ? EV_WRITE : 0));
  io->data = c;
  ev_io_start(c->loop, io);
  return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
  struct client *c = userp;
  (void)multi;
  ev_timer_stop(c->loop, &c->timer);
  if (timeout_ms >= 0) {
    if (timeout_ms > 0) /* the timeline draws it on the client's own row */
      wb_trace_mark("client: timeout in %ld ms", timeout_ms);
    ev_timer_set(&c->timer, (double)timeout_ms / 1000., 0.);
    ev_timer_start(c->loop, &c->timer);
  }
  return 0;
}

/* ---- fetch_multiple: start every GET, then let the loop run them -------- */

static int fetch_multiple(struct gather *g, const char **urls, int n) {
  g->slots = calloc((size_t)n, sizeof *g->slots);
  if (!g->slots)
    return -1;
  g->n = n;
  for (int i = 0; i < n; i++) {
    struct slot *s = &g->slots[i];
    s->url = urls[i];
    s->g = g;
    if (!(s->easy = curl_easy_init())) {
      snprintf(s->error, sizeof s->error, "curl_easy_init failed");
      continue; /* an error in its slot, like any other */
    }
    curl_easy_setopt(s->easy, CURLOPT_URL, urls[i]);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s); /* easy -> slot */
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->error);
    curl_multi_add_handle(g->c->multi, s->easy); /* no I/O yet */
    g->pending++;
    printf("started: %s\n", urls[i]);
    wb_trace_mark("%s: started", path_of(urls[i]));
  }
  if (g->pending == 0)
    gather_resume(g); /* nothing started: this small program ends here */
  return 0;
}

/* ---- async def main() ------------------------------------------------------ */

static int errors;

/* After `responses = await asyncio.gather(*tasks, return_exceptions=True)`:
 * the slots in the order of the URLs, each a document or an error. */
static void gather_resume(struct gather *g) {
  for (int i = 0; i < g->n; i++) {
    struct slot *s = &g->slots[i];
    if (!s->data) {
      printf("Error fetching %s: %s\n", s->url, s->error);
      errors++;
    } else {
      char *text = json_dumps(s->data, 0);
      printf("%d: %s\n", i, text ? text : "(out of memory)");
      free(text);
    }
  }
}

static const char *default_paths[] = {"/delay/300", "/json/1", "/close",
                                      "/delay/200", "/status/503"};

int main(int argc, char **argv) {
  enum { MAXURLS = 32 };
  static char urlbuf[MAXURLS][512];
  const char *urls[MAXURLS];
  int n = argc > 1 ? argc - 1 : 5;
  wb_server_t *srv = NULL;
  wb_lag_t lag;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (n > MAXURLS)
    n = MAXURLS;
  for (int i = 0; i < n; i++) {
    const char *arg = argc > 1 ? argv[i + 1] : default_paths[i];
    if (arg[0] != '/') {
      snprintf(urlbuf[i], sizeof urlbuf[i], "%s", arg);
    } else {
      if (!srv && wb_server_start(&srv, "127.0.0.1", 0) != 0) {
        fprintf(stderr, "fetch_multiple: could not start the local server\n");
        return 1;
      }
      snprintf(urlbuf[i], sizeof urlbuf[i], "http://127.0.0.1:%d%s",
               wb_server_port(srv), arg);
    }
    urls[i] = urlbuf[i];
  }

  double t0 = wb_now_ms();
  struct client c = {.loop = ev_loop_new(EVFLAG_AUTO)};
  struct gather g = {.c = &c};
  wb_lag_start(c.loop, &lag);
  /* async with httpx.AsyncClient() as client: one multi handle for all. */
  c.multi = curl_multi_init();
  ev_timer_init(&c.timer, timeout_cb, 0., 0.);
  c.timer.data = &c;
  curl_multi_setopt(c.multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt(c.multi, CURLMOPT_SOCKETDATA, &c);
  curl_multi_setopt(c.multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  curl_multi_setopt(c.multi, CURLMOPT_TIMERDATA, &c);
  if (fetch_multiple(&g, urls, n) < 0)
    errors = n;
  ev_run(c.loop, 0); /* returns once every transfer has ended */
  curl_multi_cleanup(c.multi); /* leaving the `async with` */
  ev_timer_stop(c.loop, &c.timer);
  wb_lag_stop(c.loop, &lag);
  ev_loop_destroy(c.loop);
  double elapsed = wb_now_ms() - t0;

  for (int i = 0; i < g.n; i++) {
    json_decref(g.slots[i].data);
    free(g.slots[i].body);
  }
  free(g.slots);
  if (srv)
    wb_server_stop(srv);
  curl_global_cleanup();
  wb_measured_print(stdout, wb_lag_longest_ms(&lag), elapsed, errors);
  return 0;
}
