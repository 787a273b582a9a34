/* An honest alternative: ev_idle to start the body, ev_once for done, the
 * connected state read from hiredis's own flags, no shared end function. */
#include "redis_scope.h"

#include <hiredis/adapters/libev.h>
#include <stdlib.h>

struct redis_scope {
  struct ev_loop *loop;
  redisAsyncContext *ac;
  ev_idle start_body;
  ev_timer limit;
  scope_body_fn body;
  scope_done_cb done;
  void *arg;
  int status;
  _Bool over;
  _Bool reported;
};

static void report(int revents, void *arg) {
  struct redis_scope *s = arg;
  (void)revents;
  s->done(s->status, s->arg);
  free(s);
}

static void report_later(struct redis_scope *s) {
  if (s->reported)
    return;
  s->reported = 1;
  ev_idle_stop(s->loop, &s->start_body);
  ev_timer_stop(s->loop, &s->limit);
  ev_once(s->loop, -1, 0, 0., report, s);
}

static _Bool is_connected(const redisAsyncContext *ac) {
  return (ac->c.flags & REDIS_CONNECTED) != 0;
}

static void go_body(struct ev_loop *loop, ev_idle *w, int revents) {
  struct redis_scope *s = w->data;
  (void)revents;
  ev_idle_stop(loop, w);
  if (!s->over)
    s->body(s, s->ac, s->arg);
}

static void connected(const redisAsyncContext *ac, int status) {
  struct redis_scope *s = ac->data;
  if (status != REDIS_OK) {
    s->ac = NULL;
    if (!s->over) {
      s->over = 1;
      s->status = SCOPE_ECONNECT;
    }
    report_later(s);
    return;
  }
  ev_idle_start(s->loop, &s->start_body);
}

static void disconnected(const redisAsyncContext *ac, int status) {
  struct redis_scope *s = ac->data;
  (void)status;
  s->ac = NULL;
  if (!s->over) {
    s->over = 1;
    s->status = SCOPE_EGONE;
  }
  report_later(s);
}

static void hard_stop(struct redis_scope *s, int status) {
  if (s->over)
    return;
  s->over = 1;
  s->status = status;
  ev_timer_stop(s->loop, &s->limit);
  ev_idle_stop(s->loop, &s->start_body);
  redisAsyncContext *ac = s->ac;
  if (ac && is_connected(ac)) {
    redisAsyncFree(ac); /* disconnected() reports */
    return;
  }
  s->ac = NULL;
  if (ac)
    redisAsyncFree(ac);
  report_later(s);
}

static void too_late(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  hard_stop(w->data, SCOPE_ETIMEDOUT);
}

struct redis_scope *redis_scope_open(struct ev_loop *loop, const char *path,
                                     unsigned timeout_ms, scope_body_fn body,
                                     scope_done_cb done, void *arg) {
  struct redis_scope *s = malloc(sizeof *s);
  if (!s)
    return NULL;
  *s = (struct redis_scope){.loop = loop, .body = body, .done = done, .arg = arg};
  ev_idle_init(&s->start_body, go_body);
  s->start_body.data = s;
  ev_timer_init(&s->limit, too_late, timeout_ms / 1e3, 0.);
  s->limit.data = s;
  redisAsyncContext *ac = redisAsyncConnectUnix(path);
  if (!ac) {
    free(s);
    return NULL;
  }
  s->ac = ac;
  if (ac->err) {
    hard_stop(s, SCOPE_ECONNECT);
    return s;
  }
  ac->data = s;
  redisLibevAttach(loop, ac);
  redisAsyncSetConnectCallback(ac, connected);
  redisAsyncSetDisconnectCallback(ac, disconnected);
  if (timeout_ms)
    ev_timer_start(loop, &s->limit);
  return s;
}

void redis_scope_end(struct redis_scope *s, int status) {
  if (s->over)
    return;
  s->over = 1;
  s->status = status;
  ev_timer_stop(s->loop, &s->limit);
  if (s->ac)
    redisAsyncDisconnect(s->ac);
  else
    report_later(s);
}

void redis_scope_cancel(struct redis_scope *s) { hard_stop(s, SCOPE_ECANCELED); }
