/* retry_fetch.c - exercise 10.1, the reference solution: one GET, tried
 * again after a failure that may pass (no response, or a 5xx), after a
 * pause that doubles each time and is drawn at random from its upper half.
 * The pause is an ev_timer: the loop serves everything else meanwhile.
 */
#include "retry_fetch.h"
#include "wb_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rf_should_retry(long status, const char *error) {
  if (error)
    return 1; /* refused, dropped, timed out: the next try may get through */
  return status >= 500 && status <= 599;
}

unsigned rf_backoff_ms(const struct rf_policy *policy, unsigned failures,
                       double u) {
  double d = policy->base_ms;
  /* Doubling stops at the cap, so a huge `failures` costs nothing. */
  for (unsigned i = 1; i < failures && d > 0 && d < policy->cap_ms; i++)
    d *= 2;
  if (d > policy->cap_ms)
    d = policy->cap_ms;
  if (u < 0)
    u = 0;
  if (u > 1)
    u = 1;
  return (unsigned)(d / 2 + d / 2 * u);
}

/* The state a GET keeps across its attempts and pauses. */
struct rf_fetch {
  struct ev_loop *loop;
  const char *url;
  const struct rf_policy *policy;
  rf_done_cb done;
  void *arg;
  ev_timer pause;        /* the wait before the next attempt */
  struct rf_result result;
  char *error;           /* owned: the last attempt's error */
};

/* The GET is over: report it, then free everything. The timer is not
 * active here (it fired, or was never started). */
static void finish(struct rf_fetch *f, const char *fallback) {
  f->result.error = f->error ? f->error : fallback;
  f->done(f->loop, &f->result, f->arg);
  free(f->error);
  free(f);
}

static void attempt_done(struct ev_loop *loop, long status, const char *body,
                         size_t len, const char *error, void *arg);

static void pause_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct rf_fetch *f = w->data;
  (void)revents;
  if (wb_http_get(loop, f->url, f->policy->timeout_ms, attempt_done, f,
                  NULL) < 0)
    finish(f, "the request could not be started");
}

static double draw(const struct rf_policy *p) {
  return p->random ? p->random(p->random_arg)
                   : rand() / ((double)RAND_MAX + 1.0);
}

/* One attempt ended: success, a final failure, or a pause and a retry. */
static void attempt_done(struct ev_loop *loop, long status, const char *body,
                         size_t len, const char *error, void *arg) {
  struct rf_fetch *f = arg;
  char buf[64];
  (void)body;
  f->result.attempts++;
  f->result.status = status;
  f->result.len = len;
  free(f->error);
  f->error = NULL;
  if (!error && status < 400) {
    finish(f, NULL);
    return;
  }
  int again = rf_should_retry(status, error) &&
              f->result.attempts <= f->policy->retries;
  if (!error) {
    snprintf(buf, sizeof buf, "HTTP %ld", status);
    error = buf;
  }
  f->error = strdup(error); /* wb_http's text dies with this callback */
  if (!again) {
    finish(f, "out of memory");
    return;
  }
  unsigned ms = rf_backoff_ms(f->policy, f->result.attempts, draw(f->policy));
  ev_timer_init(&f->pause, pause_cb, ms / 1000., 0.);
  f->pause.data = f;
  ev_timer_start(loop, &f->pause);
}

int retry_fetch(struct ev_loop *loop, const char *url,
                const struct rf_policy *policy, rf_done_cb done, void *arg) {
  if (!url || !policy)
    return -EINVAL;
  struct rf_fetch *f = calloc(1, sizeof *f);
  if (!f)
    return -ENOMEM;
  *f = (struct rf_fetch){.loop = loop, .url = url, .policy = policy,
                         .done = done, .arg = arg};
  /* wb_http_get sends nothing before the loop runs, and never calls back
   * from inside: done cannot come from in here. */
  int rc = wb_http_get(loop, url, policy->timeout_ms, attempt_done, f, NULL);
  if (rc < 0) {
    free(f);
    return rc;
  }
  return 0;
}
