/* reference.c - the correct implementation of gather_get.h (exercise
 * 08.2): one libcurl multi handle per gather, driven by libev (an ev_io
 * per socket, one ev_timer), one easy handle per URL; the results are
 * handed over in the order of the URLs once the last transfer is done.
 */
#include "gather_get.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

struct slot {
  CURL *easy;
  char *body;
  size_t len, cap;
  char errbuf[CURL_ERROR_SIZE];
};

struct gather {
  struct ev_loop *loop;
  CURLM *multi;
  ev_timer timer; /* curl's timeout, or the 0 s wake-up of an empty gather */
  size_t n, pending;
  struct slot *slots;
  gather_result_t *results;
  gather_get_cb cb;
  void *arg;
};

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp) {
  struct slot *s = userp;
  size_t n = size * nmemb;
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 256;
    while (cap < s->len + n + 1)
      cap *= 2;
    char *body = realloc(s->body, cap);
    if (!body)
      return 0; /* curl ends this transfer with an error */
    s->body = body;
    s->cap = cap;
  }
  memcpy(s->body + s->len, data, n);
  s->len += n;
  s->body[s->len] = '\0';
  return n;
}

/* Everything is released before the callback, so that it finds the loop
 * free of this gather's watchers; the bodies live until it returns. */
static void finish(struct gather *g) {
  for (size_t i = 0; i < g->n; i++) {
    curl_multi_remove_handle(g->multi, g->slots[i].easy);
    curl_easy_cleanup(g->slots[i].easy);
  }
  if (g->multi)
    curl_multi_cleanup(g->multi);
  ev_timer_stop(g->loop, &g->timer);
  g->cb(g->loop, g->results, g->n, g->arg);
  for (size_t i = 0; i < g->n; i++)
    free(g->slots[i].body);
  free(g->results);
  free(g->slots);
  free(g);
}

/* After every curl_multi_socket_action: note the transfers that ended;
 * the last one ends the gather. Returns 1 when `g` is gone. */
static int check_done(struct gather *g) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(g->multi, &left))) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    size_t i = 0;
    while (g->slots[i].easy != msg->easy_handle)
      i++;
    struct slot *s = &g->slots[i];
    gather_result_t *r = &g->results[i];
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &r->status);
    if (msg->data.result != CURLE_OK) {
      r->status = 0;
      r->error = s->errbuf[0] ? s->errbuf : curl_easy_strerror(msg->data.result);
    }
    r->body = s->body ? s->body : "";
    r->len = s->len;
    if (--g->pending == 0) {
      finish(g);
      return 1;
    }
  }
  return 0;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct gather *g = w->data;
  int running;
  int flags = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
              (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
  (void)loop;
  /* curl may free `w` inside this call: it is not touched afterwards. */
  curl_multi_socket_action(g->multi, w->fd, flags, &running);
  check_done(g);
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct gather *g = w->data;
  int running;
  (void)loop, (void)revents;
  if (g->n == 0) {
    finish(g);
    return;
  }
  curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(g);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *sockp) {
  struct gather *g = userp;
  ev_io *io = sockp;
  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    if (io) {
      ev_io_stop(g->loop, io);
      free(io);
    }
    return 0;
  }
  int events = (what & CURL_POLL_IN ? EV_READ : 0) |
               (what & CURL_POLL_OUT ? EV_WRITE : 0);
  if (!io) {
    io = malloc(sizeof *io);
    if (!io)
      return -1;
    curl_multi_assign(g->multi, fd, io);
  } else {
    ev_io_stop(g->loop, io);
  }
  ev_io_init(io, io_cb, fd, events);
  io->data = g;
  ev_io_start(g->loop, io);
  return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
  struct gather *g = userp;
  (void)multi;
  ev_timer_stop(g->loop, &g->timer);
  if (timeout_ms >= 0) {
    ev_timer_set(&g->timer, (double)timeout_ms / 1000., 0.);
    ev_timer_start(g->loop, &g->timer);
  }
  return 0;
}

int gather_get(struct ev_loop *loop, const char *const *urls, size_t n,
               long timeout_ms, gather_get_cb cb, void *arg) {
  struct gather *g = calloc(1, sizeof *g);
  if (!g)
    return -1;
  g->loop = loop;
  g->n = g->pending = n;
  g->cb = cb;
  g->arg = arg;
  ev_timer_init(&g->timer, timeout_cb, 0., 0.);
  g->timer.data = g;
  g->slots = calloc(n ? n : 1, sizeof *g->slots);
  g->results = calloc(n ? n : 1, sizeof *g->results);
  if (!g->slots || !g->results)
    goto fail;
  if (n == 0) { /* nothing to fetch: still call back from the loop */
    ev_timer_start(loop, &g->timer);
    return 0;
  }
  g->multi = curl_multi_init();
  if (!g->multi)
    goto fail;
  curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g);
  curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g);
  for (size_t i = 0; i < n; i++) {
    struct slot *s = &g->slots[i];
    s->easy = curl_easy_init();
    if (!s->easy || curl_easy_setopt(s->easy, CURLOPT_URL, urls[i]) != CURLE_OK)
      goto fail;
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->errbuf);
    /* No I/O yet: the transfers start when the loop runs. */
    if (curl_multi_add_handle(g->multi, s->easy) != CURLM_OK)
      goto fail;
  }
  return 0;

fail:
  for (size_t i = 0; g->slots && i < n; i++)
    if (g->slots[i].easy) {
      curl_multi_remove_handle(g->multi, g->slots[i].easy);
      curl_easy_cleanup(g->slots[i].easy);
    }
  if (g->multi)
    curl_multi_cleanup(g->multi);
  ev_timer_stop(loop, &g->timer);
  free(g->results);
  free(g->slots);
  free(g);
  return -1;
}
