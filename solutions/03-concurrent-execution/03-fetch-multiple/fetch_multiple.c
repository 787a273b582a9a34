/* fetch_multiple.c - exercise 03.3, the reference solution: one libcurl
 * multi handle per client, shared by every transfer of every gather; each
 * easy handle finds its slot again through CURLOPT_PRIVATE.
 */
#include "fetch_multiple.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A socket curl asked us to watch. The client keeps them in a list so that
 * fm_client_free can stop any that curl did not remove itself. */
struct fm_sock {
  ev_io io;
  struct fm_client *c;
  struct fm_sock *prev, *next;
};

struct fm_client {
  struct ev_loop *loop;
  CURLM *multi;
  ev_timer timer; /* the one timeout curl asks for, for all transfers */
  long timeout_ms;
  struct fm_sock *socks;
};

struct fm_gather;

/* One transfer: its easy handle and what it has received so far. */
struct fm_xfer {
  CURL *easy;
  struct fm_gather *g;
  size_t index;
  char *body;
  size_t len;
  char errbuf[CURL_ERROR_SIZE];
  char why[32]; /* "HTTP 404" */
};

struct fm_gather {
  fm_client_t *c;
  size_t n, pending;
  fm_each_cb on_each;
  fm_done_cb done;
  void *arg;
  ev_timer empty; /* n == 0: done from the loop's next iteration */
  struct fm_result *results;
  struct fm_xfer *xfers;
};

/* ---- Receiving ------------------------------------------------------------ */

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp) {
  struct fm_xfer *x = userp;
  size_t n = size * nmemb;
  char *body = realloc(x->body, x->len + n + 1);
  if (!body)
    return 0; /* curl ends this transfer with an error */
  memcpy(body + x->len, data, n); /* a piece: append, never overwrite */
  x->body = body;
  x->len += n;
  body[x->len] = '\0';
  return n;
}

/* ---- Ending --------------------------------------------------------------- */

static void gather_free(struct fm_gather *g) {
  for (size_t i = 0; i < g->n; i++)
    free(g->xfers[i].body);
  free(g->xfers);
  free(g->results);
  free(g);
}

static void gather_finish(struct fm_gather *g) {
  g->done(g->c->loop, g->n ? g->results : NULL, g->n, g->arg);
  gather_free(g);
}

static void empty_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  gather_finish(w->data);
}

/* A transfer ended: CURLINFO_PRIVATE leads from the easy handle, among all
 * those on the shared multi, back to its gather and slot. */
static void xfer_finish(fm_client_t *c, CURL *easy, CURLcode rc) {
  struct fm_xfer *x;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
  struct fm_gather *g = x->g;
  struct fm_result *r = &g->results[x->index];
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
  curl_multi_remove_handle(c->multi, easy);
  curl_easy_cleanup(easy);
  x->easy = NULL;
  r->body = x->body ? x->body : "";
  r->len = x->len;
  if (rc != CURLE_OK) {
    r->error = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
  } else if (r->status >= 400) {
    snprintf(x->why, sizeof x->why, "HTTP %ld", r->status);
    r->error = x->why;
  }
  if (g->on_each)
    g->on_each(c->loop, x->index, r, g->arg);
  if (--g->pending == 0)
    gather_finish(g);
}

/* Any number of transfers may end in one curl_multi_socket_action. */
static void check_done(fm_client_t *c) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(c->multi, &left)))
    if (msg->msg == CURLMSG_DONE)
      xfer_finish(c, msg->easy_handle, msg->data.result);
}

/* ---- Events from libev, handed to curl --------------------------------- */

static void io_cb(struct ev_loop *loop, ev_io *w, int revents) {
  fm_client_t *c = ((struct fm_sock *)w)->c;
  int running;
  (void)loop;
  curl_multi_socket_action(c->multi, w->fd,
                           (revents & EV_READ ? CURL_CSELECT_IN : 0) |
                               (revents & EV_WRITE ? CURL_CSELECT_OUT : 0),
                           &running);
  check_done(c); /* `w` may have been freed: not touched again */
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  fm_client_t *c = w->data;
  int running;
  (void)loop, (void)revents;
  curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(c);
}

static void sock_free(fm_client_t *c, struct fm_sock *s) {
  ev_io_stop(c->loop, &s->io);
  if (s->prev)
    s->prev->next = s->next;
  else
    c->socks = s->next;
  if (s->next)
    s->next->prev = s->prev;
  free(s);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *sockp) {
  fm_client_t *c = userp;
  struct fm_sock *s = sockp;
  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    if (s)
      sock_free(c, s);
    return 0;
  }
  if (!s) {
    if (!(s = calloc(1, sizeof *s)))
      return -1;
    s->c = c;
    s->next = c->socks;
    if (c->socks)
      c->socks->prev = s;
    c->socks = s;
    curl_multi_assign(c->multi, fd, s);
  } else {
    ev_io_stop(c->loop, &s->io);
  }
  ev_io_init(&s->io, io_cb, fd,
             (what & CURL_POLL_IN ? EV_READ : 0) |
                 (what & CURL_POLL_OUT ? EV_WRITE : 0));
  ev_io_start(c->loop, &s->io);
  return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
  fm_client_t *c = userp;
  (void)multi;
  ev_timer_stop(c->loop, &c->timer);
  if (timeout_ms >= 0) {
    ev_timer_set(&c->timer, (double)timeout_ms / 1000., 0.);
    ev_timer_start(c->loop, &c->timer);
  }
  return 0;
}

/* ---- The API ------------------------------------------------------------- */

int fm_client_new(struct ev_loop *loop, long timeout_ms, fm_client_t **out) {
  fm_client_t *c = calloc(1, sizeof *c);
  if (!c)
    return -1;
  if (!(c->multi = curl_multi_init())) {
    free(c);
    return -1;
  }
  c->loop = loop;
  c->timeout_ms = timeout_ms;
  ev_timer_init(&c->timer, timeout_cb, 0., 0.);
  c->timer.data = c;
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
  *out = c;
  return 0;
}

int fm_fetch_multiple(fm_client_t *c, const char *const *urls, size_t n,
                      fm_each_cb on_each, fm_done_cb done, void *arg) {
  struct fm_gather *g = calloc(1, sizeof *g);
  if (!g)
    return -1;
  g->c = c;
  g->n = g->pending = n;
  g->on_each = on_each;
  g->done = done;
  g->arg = arg;
  if (n == 0) {
    ev_timer_init(&g->empty, empty_cb, 0., 0.);
    g->empty.data = g;
    ev_timer_start(c->loop, &g->empty);
    return 0;
  }
  g->results = calloc(n, sizeof *g->results);
  g->xfers = calloc(n, sizeof *g->xfers);
  if (!g->results || !g->xfers)
    goto fail;
  /* Make every easy handle first, so a failure needs no transfer undone. */
  for (size_t i = 0; i < n; i++) {
    struct fm_xfer *x = &g->xfers[i];
    x->g = g;
    x->index = i;
    if (!(x->easy = curl_easy_init()))
      goto fail;
    curl_easy_setopt(x->easy, CURLOPT_URL, urls[i]);
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x); /* easy -> slot */
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
  }
  /* Adding does no I/O: the transfers start when the loop runs. */
  for (size_t i = 0; i < n; i++)
    curl_multi_add_handle(c->multi, g->xfers[i].easy);
  return 0;

fail:
  for (size_t i = 0; g->xfers && i < n; i++)
    if (g->xfers[i].easy)
      curl_easy_cleanup(g->xfers[i].easy);
  free(g->xfers);
  free(g->results);
  free(g);
  return -1;
}

void fm_client_free(fm_client_t *c) {
  curl_multi_cleanup(c->multi); /* may still call socket_cb and timer_cb */
  while (c->socks)
    sock_free(c, c->socks);
  ev_timer_stop(c->loop, &c->timer);
  free(c);
}
