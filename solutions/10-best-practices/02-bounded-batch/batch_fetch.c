/* batch_fetch.c - exercise 10.2, the reference solution: a bounded batch
 * of GETs with a deadline. The waiting URLs are those from `next` on; the
 * places are counted by the requests in flight. The deadline is one
 * ev_timer: when it fires, `stopping` closes the door, every request in
 * flight is cancelled, and what is left is marked.
 */
#include "batch_fetch.h"
#include "wb_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct batch;

/* One URL: what its request callback needs, and the error it owns. */
struct slot {
  struct batch *b;
  wb_http_req_t *req; /* while its request is in flight */
  char *error;        /* owned copy */
};

struct batch {
  struct ev_loop *loop;
  const char *const *urls;
  size_t n, next, ended;
  struct bf_options opt;
  bf_done_cb done;
  void *arg;
  ev_timer kick;     /* the loop's next turn: the first requests go out */
  ev_timer deadline; /* the whole batch's limit */
  int stopping;      /* the deadline passed: nothing new starts */
  struct bf_result *results;
  struct slot *slots;
};

/* Every URL has its result: stop the watchers, call done, free it all. */
static void finish(struct batch *b) {
  ev_timer_stop(b->loop, &b->kick);
  ev_timer_stop(b->loop, &b->deadline);
  b->done(b->loop, b->results, b->n, b->stopping, b->arg);
  for (size_t i = 0; i < b->n; i++)
    free(b->slots[i].error);
  free(b->slots);
  free(b->results);
  free(b);
}

/* Keeps a copy of `text` as URL i's error (a fixed text if memory ran out). */
static void set_error(struct batch *b, size_t i, const char *text) {
  free(b->slots[i].error);
  b->slots[i].error = strdup(text);
  b->results[i].error = b->slots[i].error ? b->slots[i].error : "out of memory";
}

static void request_done(struct ev_loop *loop, long status, const char *body,
                         size_t len, const char *error, void *arg);

/* The next URL takes the place just freed; one that cannot start ends at
 * once, and the place goes on to the one after it. */
static void start_next(struct batch *b) {
  while (!b->stopping && b->next < b->n) {
    size_t i = b->next++;
    struct slot *s = &b->slots[i];
    if (wb_http_get(b->loop, b->urls[i], b->opt.timeout_ms, request_done, s,
                    &s->req) == 0) {
      b->results[i].started = 1;
      return;
    }
    set_error(b, i, "the request could not be started");
    b->ended++;
  }
}

static void request_done(struct ev_loop *loop, long status, const char *body,
                         size_t len, const char *error, void *arg) {
  struct slot *s = arg;
  struct batch *b = s->b;
  size_t i = (size_t)(s - b->slots);
  char buf[64];
  (void)loop, (void)body;
  s->req = NULL; /* gone once this callback returns */
  b->ended++;
  if (b->stopping) { /* cancelled by the deadline: stop_all goes on */
    set_error(b, i, "cancelled: deadline exceeded");
    return;
  }
  b->results[i].status = status;
  b->results[i].len = len;
  if (!error && status >= 400) {
    snprintf(buf, sizeof buf, "HTTP %ld", status);
    error = buf;
  }
  if (error)
    set_error(b, i, error); /* wb_http's text dies with this callback */
  start_next(b);
  if (b->ended == b->n)
    finish(b);
}

static void kick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct batch *b = w->data;
  (void)loop, (void)revents;
  for (unsigned k = 0; k < b->opt.concurrency && b->next < b->n; k++)
    start_next(b);
  if (b->ended == b->n) /* no URL, or none could start */
    finish(b);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct batch *b = w->data;
  (void)loop, (void)revents;
  b->stopping = 1;
  for (size_t i = 0; i < b->n; i++)
    if (b->slots[i].req)
      wb_http_cancel(b->slots[i].req); /* its callback runs in here */
  for (size_t i = b->next; i < b->n; i++)
    set_error(b, i, "not started: deadline exceeded");
  finish(b);
}

int batch_fetch(struct ev_loop *loop, const char *const *urls, size_t n,
                const struct bf_options *opt, bf_done_cb done, void *arg) {
  if (!opt || opt->concurrency == 0 || (n > 0 && !urls))
    return -EINVAL;
  struct batch *b = calloc(1, sizeof *b);
  if (!b)
    return -ENOMEM;
  b->results = n ? calloc(n, sizeof *b->results) : NULL;
  b->slots = n ? calloc(n, sizeof *b->slots) : NULL;
  if (n && (!b->results || !b->slots)) {
    free(b->results);
    free(b->slots);
    free(b);
    return -ENOMEM;
  }
  b->loop = loop;
  b->urls = urls;
  b->n = n;
  b->opt = *opt;
  b->done = done;
  b->arg = arg;
  for (size_t i = 0; i < n; i++)
    b->slots[i].b = b;
  ev_timer_init(&b->kick, kick_cb, 0., 0.);
  b->kick.data = b;
  ev_timer_start(loop, &b->kick);
  ev_timer_init(&b->deadline, deadline_cb, opt->deadline_ms / 1000., 0.);
  b->deadline.data = b;
  if (opt->deadline_ms > 0)
    ev_timer_start(loop, &b->deadline);
  return 0;
}
