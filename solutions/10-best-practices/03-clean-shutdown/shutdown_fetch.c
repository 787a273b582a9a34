/* shutdown_fetch.c - exercise 10.3, the reference solution: a bounded
 * batch with a clean stop on SIGINT. The ev_signal turns the signal into
 * an ordinary callback of the loop, so the stop runs between two
 * callbacks, never inside a signal handler: it closes the door, cancels
 * what is in flight, and reports what was done, as JSON.
 */
#include "shutdown_fetch.h"
#include "wb_http.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct batch;

/* One URL: what its request callback needs, and what it came to. */
struct slot {
  struct batch *b;
  wb_http_req_t *req; /* while its request is in flight */
  long status;        /* 0: no response */
  char *error;        /* owned; NULL when it succeeded */
  int ended;
};

struct batch {
  struct ev_loop *loop;
  const char *const *urls;
  size_t n, next, ended;
  struct sf_options opt;
  sf_done_cb done;
  void *arg;
  ev_timer kick;    /* the loop's next turn: the first requests go out */
  ev_signal sigint; /* Ctrl-C */
  int interrupted;  /* SIGINT came: nothing new starts */
  struct slot *slots;
};

/* The summary, in the order of the URLs. NULL when memory ran out. */
static char *summary(const struct batch *b) {
  json_t *results = json_array();
  size_t ok = 0;
  for (size_t i = 0; i < b->n; i++) {
    const struct slot *s = &b->slots[i];
    ok += !s->error;
    json_array_append_new(
        results,
        json_pack("{s:s, s:b, s:o, s:o}", "url", b->urls[i], "ok", !s->error,
                  "status", s->status ? json_integer(s->status) : json_null(),
                  "error", s->error ? json_string(s->error) : json_null()));
  }
  json_t *doc = json_pack("{s:I, s:I, s:I, s:b, s:o}", "urls", (json_int_t)b->n,
                          "ok", (json_int_t)ok, "failed",
                          (json_int_t)(b->n - ok), "interrupted",
                          b->interrupted, "results", results);
  char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  return text;
}

/* The batch is over: stop the watchers, report, free it all. */
static void finish(struct batch *b) {
  ev_timer_stop(b->loop, &b->kick);
  ev_signal_stop(b->loop, &b->sigint); /* SIGINT's default action is back */
  char *text = summary(b);
  b->done(b->loop, text ? text : "{}", b->interrupted ? 130 : 0, b->arg);
  free(text);
  for (size_t i = 0; i < b->n; i++)
    free(b->slots[i].error);
  free(b->slots);
  free(b);
}

static void set_error(struct slot *s, const char *text) {
  free(s->error);
  s->error = strdup(text);
  if (!s->error) /* still a failure: the summary must not call it ok */
    s->error = strdup("out of memory");
}

static void request_done(struct ev_loop *loop, long status, const char *body,
                         size_t len, const char *error, void *arg);

static void start_next(struct batch *b) {
  while (!b->interrupted && b->next < b->n) {
    struct slot *s = &b->slots[b->next];
    if (wb_http_get(b->loop, b->urls[b->next++], b->opt.timeout_ms,
                    request_done, s, &s->req) == 0)
      return;
    set_error(s, "the request could not be started");
    s->ended = 1;
    b->ended++;
  }
}

static void request_done(struct ev_loop *loop, long status, const char *body,
                         size_t len, const char *error, void *arg) {
  struct slot *s = arg;
  struct batch *b = s->b;
  char buf[64];
  (void)loop, (void)body, (void)len;
  s->req = NULL;
  s->ended = 1;
  b->ended++;
  if (b->interrupted) { /* cancelled by sigint_cb, which goes on */
    set_error(s, "cancelled: interrupted");
    return;
  }
  s->status = status;
  if (!error && status >= 400) {
    snprintf(buf, sizeof buf, "HTTP %ld", status);
    error = buf;
  }
  if (error)
    set_error(s, error); /* wb_http's text dies with this callback */
  start_next(b);
  if (b->ended == b->n)
    finish(b);
}

static void kick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct batch *b = w->data;
  (void)loop, (void)revents;
  for (unsigned k = 0; k < b->opt.concurrency && b->next < b->n; k++)
    start_next(b);
  if (b->ended == b->n)
    finish(b);
}

/* Ctrl-C: stop new work, cancel what is in flight, report what was done. */
static void sigint_cb(struct ev_loop *loop, ev_signal *w, int revents) {
  struct batch *b = w->data;
  (void)loop, (void)revents;
  b->interrupted = 1;
  for (size_t i = 0; i < b->n; i++)
    if (b->slots[i].req)
      wb_http_cancel(b->slots[i].req); /* its callback runs in here */
  for (size_t i = 0; i < b->n; i++)
    if (!b->slots[i].ended)
      set_error(&b->slots[i], "not started: interrupted");
  finish(b);
}

int shutdown_fetch(struct ev_loop *loop, const char *const *urls, size_t n,
                   const struct sf_options *opt, sf_done_cb done, void *arg) {
  if (!opt || opt->concurrency == 0 || (n > 0 && !urls))
    return -EINVAL;
  struct batch *b = calloc(1, sizeof *b);
  if (!b)
    return -ENOMEM;
  b->slots = n ? calloc(n, sizeof *b->slots) : NULL;
  if (n && !b->slots) {
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
  ev_signal_init(&b->sigint, sigint_cb, SIGINT);
  b->sigint.data = b;
  ev_signal_start(loop, &b->sigint);
  return 0;
}
