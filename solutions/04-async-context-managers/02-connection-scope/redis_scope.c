/* redis_scope.c - exercise 04.2 (reference solution): `async with` around a
 * Redis connection. Every ending (the body's, the server's, the time
 * limit, a cancel) goes through scope_end, which lets only the first one
 * count and closes the connection once; done always comes from a timer.
 */
#include "redis_scope.h"

#include <hiredis/adapters/libev.h>
#include <stdlib.h>

struct redis_scope {
  struct ev_loop *loop;
  redisAsyncContext *ac; /* NULL once hiredis has let go of it */
  int connected;         /* the connect callback said yes */
  ev_timer limit;        /* the time limit, when there is one */
  ev_timer step;         /* 0 s: start the body, or report the end */
  scope_body_fn body;
  scope_done_cb done;
  void *arg;
  int ending; /* an ending has been chosen: later ones change nothing */
  int status;
};

/* The end, from the loop: done, then nothing of the scope is left. */
static void finish_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct redis_scope *s = w->data;
  (void)loop, (void)revents;
  s->done(s->status, s->arg);
  free(s);
}

/* The connection is gone (or never was): report on the loop's next turn,
 * so that done never runs inside a call of ours or of hiredis. */
static void scope_finish(struct redis_scope *s) {
  ev_timer_stop(s->loop, &s->limit);
  ev_timer_stop(s->loop, &s->step);
  ev_timer_init(&s->step, finish_cb, 0., 0.);
  s->step.data = s;
  ev_timer_start(s->loop, &s->step);
}

/* Every ending comes here; only the first one counts. `now`: close at once
 * (redisAsyncFree: answers still due get NULL), else gracefully. */
static void scope_end(struct redis_scope *s, int status, int now) {
  if (s->ending)
    return;
  s->ending = 1;
  s->status = status;
  ev_timer_stop(s->loop, &s->limit);
  redisAsyncContext *ac = s->ac;
  if (!ac || !s->connected) {
    /* Nothing open yet: hiredis calls nothing back for a context that
     * never connected, so the scope ends by itself. */
    s->ac = NULL;
    if (ac)
      redisAsyncFree(ac);
    scope_finish(s);
    return;
  }
  /* The disconnect callback (on_disconnect) ends the scope once hiredis
   * has closed the connection: at once, or after the callback running now
   * or the answers still due. */
  if (now)
    redisAsyncFree(ac);
  else
    redisAsyncDisconnect(ac);
}

static void body_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct redis_scope *s = w->data;
  (void)loop, (void)revents;
  s->body(s, s->ac, s->arg);
}

static void on_connect(const redisAsyncContext *ac, int status) {
  struct redis_scope *s = ac->data;
  if (status != REDIS_OK) {
    s->ac = NULL; /* hiredis frees it after this callback */
    scope_end(s, SCOPE_ECONNECT, 1);
    return;
  }
  s->connected = 1;
  /* Not from in here: hiredis still uses the context after this returns,
   * and a body that ends at once would close it under hiredis's feet. */
  ev_timer_init(&s->step, body_cb, 0., 0.);
  s->step.data = s;
  ev_timer_start(s->loop, &s->step);
}

/* hiredis has closed the connection (ours, or the server's doing) and frees
 * the context when this returns. */
static void on_disconnect(const redisAsyncContext *ac, int status) {
  struct redis_scope *s = ac->data;
  (void)status;
  s->ac = NULL;
  if (!s->ending) { /* not asked for: the server went away */
    s->ending = 1;
    s->status = SCOPE_EGONE;
  }
  scope_finish(s);
}

static void limit_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  scope_end(w->data, SCOPE_ETIMEDOUT, 1);
}

struct redis_scope *redis_scope_open(struct ev_loop *loop, const char *path,
                                     unsigned timeout_ms, scope_body_fn body,
                                     scope_done_cb done, void *arg) {
  struct redis_scope *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->loop = loop;
  s->body = body;
  s->done = done;
  s->arg = arg;
  ev_timer_init(&s->limit, limit_cb, timeout_ms / 1000., 0.);
  s->limit.data = s;
  ev_timer_init(&s->step, body_cb, 0., 0.);
  s->ac = redisAsyncConnectUnix(path);
  if (!s->ac) { /* hiredis ran out of memory */
    free(s);
    return NULL;
  }
  if (s->ac->err) { /* refused at once (no such socket): report later */
    scope_end(s, SCOPE_ECONNECT, 1);
    return s;
  }
  s->ac->data = s;
  redisLibevAttach(loop, s->ac);
  redisAsyncSetConnectCallback(s->ac, on_connect);
  redisAsyncSetDisconnectCallback(s->ac, on_disconnect);
  if (timeout_ms > 0)
    ev_timer_start(loop, &s->limit);
  return s;
}

void redis_scope_end(struct redis_scope *scope, int status) {
  scope_end(scope, status, 0);
}

void redis_scope_cancel(struct redis_scope *scope) {
  scope_end(scope, SCOPE_ECANCELED, 1);
}
