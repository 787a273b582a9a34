/* limited_fetch.c - exercise 07.3, the reference solution: a semaphore of
 * `limit` places on one loop. No lock is needed: the count of places and
 * the index of the next URL are only touched by the loop's thread. Each
 * request that ends hands its place straight to the next URL.
 */
#include "limited_fetch.h"
#include "wb_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fetch;

struct slot {
  struct fetch *f;
  char *error; /* owned: a copy of wb_http's message, or "HTTP 404" */
};

struct fetch {
  struct ev_loop *loop;
  const char *const *urls;
  size_t n, next, ended;
  unsigned limit;
  long timeout_ms;
  lf_done_cb done;
  void *arg;
  ev_timer start; /* the loop's next turn: the first requests go out */
  struct lf_result *results;
  struct slot *slots;
};

/* Everything ended: call done, then free it all. */
static void finish(struct fetch *f) {
  f->done(f->loop, f->results, f->n, f->arg);
  for (size_t i = 0; i < f->n; i++)
    free(f->slots[i].error);
  free(f->slots);
  free(f->results);
  free(f);
}

static void request_done(struct ev_loop *loop, long status, const char *body,
                         size_t len, const char *error, void *arg);

/* acquire: the next URL takes the place just freed. A URL that cannot even
 * start ends at once, and the place goes on to the one after it. */
static void start_next(struct fetch *f) {
  while (f->next < f->n) {
    size_t i = f->next++;
    if (wb_http_get(f->loop, f->urls[i], f->timeout_ms, request_done,
                    &f->slots[i], NULL) == 0)
      return;
    f->results[i].error = "the request could not be started";
    f->ended++;
  }
}

static void request_done(struct ev_loop *loop, long status, const char *body,
                         size_t len, const char *error, void *arg) {
  struct slot *s = arg;
  struct fetch *f = s->f;
  size_t i = (size_t)(s - f->slots);
  char buf[32];
  (void)loop, (void)body;
  f->results[i].status = status;
  f->results[i].len = len;
  if (!error && status >= 400) {
    snprintf(buf, sizeof buf, "HTTP %ld", status);
    error = buf;
  }
  if (error) { /* wb_http's message dies with this callback: copy it */
    s->error = strdup(error);
    f->results[i].error = s->error ? s->error : "out of memory";
  }
  f->ended++;
  start_next(f); /* release: the place goes to the next URL */
  if (f->ended == f->n)
    finish(f);
}

/* The first `limit` acquires, on the loop's turn; with no URL at all, the
 * end comes from here too. */
static void start_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct fetch *f = w->data;
  (void)loop, (void)revents;
  for (unsigned k = 0; k < f->limit && f->next < f->n; k++)
    start_next(f);
  if (f->ended == f->n) /* none could start, or there was none */
    finish(f);
}

int limited_fetch(struct ev_loop *loop, const char *const *urls, size_t n,
                  unsigned limit, long timeout_ms, lf_done_cb done, void *arg) {
  if (limit == 0)
    return -EINVAL;
  struct fetch *f = calloc(1, sizeof *f);
  if (!f)
    return -ENOMEM;
  if (n) {
    f->results = calloc(n, sizeof *f->results);
    f->slots = calloc(n, sizeof *f->slots);
    if (!f->results || !f->slots) {
      free(f->results);
      free(f->slots);
      free(f);
      return -ENOMEM;
    }
  }
  f->loop = loop;
  f->urls = urls;
  f->n = n;
  f->limit = limit;
  f->timeout_ms = timeout_ms;
  f->done = done;
  f->arg = arg;
  for (size_t i = 0; i < n; i++)
    f->slots[i].f = f;
  ev_timer_init(&f->start, start_cb, 0., 0.);
  f->start.data = f;
  ev_timer_start(loop, &f->start);
  return 0;
}
