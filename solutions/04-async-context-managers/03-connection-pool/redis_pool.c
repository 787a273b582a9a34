/* redis_pool.c - exercise 04.3 (reference solution): a bounded pool of
 * Redis connections. Requests wait in a FIFO queue; each answer goes out
 * from a 0 s timer, so no callback runs inside a call of the pool. Every
 * connection's end passes through its disconnect callback (or, before it
 * is connected, through the code that freed it), which drops it.
 */
#include "redis_pool.h"

#include <hiredis/adapters/libev.h>
#include <stdio.h>
#include <stdlib.h>

struct pool_conn {
  struct redis_pool *pool;
  redisAsyncContext *ac; /* NULL once the connection is gone */
  int connected;         /* the connect callback said yes */
  int lent;              /* lent out: only redis_pool_put gives it back */
  struct pool_conn *next;
};

/* A request, waiting in the queue, then being answered from the loop. */
struct request {
  ev_timer answer; /* first: libev hands it back as the request */
  struct redis_pool *pool;
  pool_get_cb cb;
  void *arg;
  struct pool_conn *conn;
  int status;
  struct request *next;
};

struct redis_pool {
  struct ev_loop *loop;
  char path[108];
  unsigned size;
  unsigned open;            /* connections open or opening, not gone */
  struct pool_conn *conns;  /* every handle: idle, lent, opening, gone */
  struct request *head, *tail; /* waiting requests, oldest first */
  unsigned answering;       /* answers whose timer has not fired yet */
  int closing;
  pool_closed_cb closed;
  void *closed_arg;
  ev_timer closed_timer;
};

static int dispatch(struct redis_pool *p);

static void unlink_conn(struct pool_conn *c) {
  for (struct pool_conn **pp = &c->pool->conns; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  free(c);
}

static void closed_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct redis_pool *p = w->data;
  (void)loop, (void)revents;
  p->closed(p->closed_arg);
  free(p);
}

/* A closing pool is over once nothing is left: no handle and no answer on
 * its way. */
static void maybe_closed(struct redis_pool *p) {
  if (p->closing && !p->conns && !p->answering &&
      !ev_is_active(&p->closed_timer)) {
    ev_timer_init(&p->closed_timer, closed_cb, 0., 0.);
    p->closed_timer.data = p;
    ev_timer_start(p->loop, &p->closed_timer);
  }
}

static void answer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct request *r = (struct request *)w;
  struct redis_pool *p = r->pool;
  (void)loop, (void)revents;
  p->answering--;
  r->cb(r->conn, r->status, r->arg);
  free(r);
  maybe_closed(p);
}

/* Takes the oldest waiting request out of the queue and answers it on the
 * loop's next turn. */
static void answer_head(struct redis_pool *p, struct pool_conn *c, int status) {
  struct request *r = p->head;
  p->head = r->next;
  if (!p->head)
    p->tail = NULL;
  r->conn = c;
  r->status = status;
  if (c)
    c->lent = 1;
  p->answering++;
  ev_timer_init(&r->answer, answer_cb, 0., 0.);
  ev_timer_start(p->loop, &r->answer);
}

static void on_connect(const redisAsyncContext *ac, int status) {
  struct pool_conn *c = ac->data;
  struct redis_pool *p = c->pool;
  if (status != REDIS_OK) {
    /* hiredis frees the context after this, and calls nothing else. */
    p->open--;
    unlink_conn(c);
    if (p->head)
      answer_head(p, NULL, POOL_ECONNECT);
    dispatch(p);
    return;
  }
  c->connected = 1;
  dispatch(p);
}

/* The connection is closed: by the pool, or by the server. hiredis frees
 * the context when this returns. */
static void on_disconnect(const redisAsyncContext *ac, int status) {
  struct pool_conn *c = ac->data;
  struct redis_pool *p = c->pool;
  (void)status;
  c->ac = NULL;
  p->open--;
  if (!c->lent)
    unlink_conn(c); /* a lent one waits for its redis_pool_put */
  if (!p->closing)
    dispatch(p); /* a place is free: a waiter may get a new connection */
  maybe_closed(p);
}

/* Opens one more connection. -1 when memory runs out. */
static int open_conn(struct redis_pool *p) {
  struct pool_conn *c = calloc(1, sizeof *c);
  if (!c)
    return -1;
  c->ac = redisAsyncConnectUnix(p->path);
  if (!c->ac) {
    free(c);
    return -1;
  }
  c->pool = p;
  c->next = p->conns;
  p->conns = c;
  if (c->ac->err) { /* no server there: fail the oldest waiter */
    redisAsyncFree(c->ac);
    unlink_conn(c);
    if (p->head)
      answer_head(p, NULL, POOL_ECONNECT);
    return 0;
  }
  p->open++;
  c->ac->data = c;
  redisLibevAttach(p->loop, c->ac);
  redisAsyncSetConnectCallback(c->ac, on_connect);
  redisAsyncSetDisconnectCallback(c->ac, on_disconnect);
  return 0;
}

/* Serves waiting requests with idle connections, then opens as many new
 * ones as the queue needs and the size allows. -1 when a needed
 * connection could not be allocated. */
static int dispatch(struct redis_pool *p) {
  for (struct pool_conn *c = p->conns; c && p->head; c = c->next)
    if (c->ac && c->connected && !c->lent)
      answer_head(p, c, 0);
  unsigned waiting = 0, opening = 0;
  for (struct request *r = p->head; r; r = r->next)
    waiting++;
  for (struct pool_conn *c = p->conns; c; c = c->next)
    opening += c->ac && !c->connected;
  while (p->head && opening < waiting && p->open < p->size) {
    if (open_conn(p) < 0)
      return -1;
    opening++;
  }
  return 0;
}

struct redis_pool *redis_pool_new(struct ev_loop *loop, const char *path,
                                  unsigned size) {
  if (size == 0)
    return NULL;
  struct redis_pool *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->loop = loop;
  p->size = size;
  snprintf(p->path, sizeof p->path, "%s", path);
  ev_timer_init(&p->closed_timer, closed_cb, 0., 0.);
  return p;
}

int redis_pool_get(struct redis_pool *p, pool_get_cb cb, void *arg) {
  if (p->closing)
    return -1;
  struct request *r = calloc(1, sizeof *r);
  if (!r)
    return -1;
  r->pool = p;
  r->cb = cb;
  r->arg = arg;
  struct request *before = p->tail;
  if (p->tail)
    p->tail->next = r;
  else
    p->head = r;
  p->tail = r;
  if (dispatch(p) < 0 && p->tail == r) {
    /* No memory for its connection: take the request back. */
    p->tail = before;
    if (before)
      before->next = NULL;
    else
      p->head = NULL;
    free(r);
    return -1;
  }
  return 0;
}

redisAsyncContext *pool_conn_ac(const struct pool_conn *conn) {
  return conn->ac;
}

void redis_pool_put(struct pool_conn *c) {
  struct redis_pool *p = c->pool;
  c->lent = 0;
  if (!c->ac) {
    unlink_conn(c); /* gone while it was out */
    maybe_closed(p);
  } else if (p->closing) {
    redisAsyncDisconnect(c->ac); /* on_disconnect drops it */
  } else {
    dispatch(p);
  }
}

void redis_pool_close(struct redis_pool *p, pool_closed_cb closed, void *arg) {
  p->closing = 1;
  p->closed = closed;
  p->closed_arg = arg;
  while (p->head)
    answer_head(p, NULL, POOL_ECLOSED);
  struct pool_conn *next;
  for (struct pool_conn *c = p->conns; c; c = next) {
    next = c->next; /* c may be freed below */
    if (c->lent || !c->ac)
      continue;
    if (c->connected) {
      redisAsyncDisconnect(c->ac); /* idle: on_disconnect drops it */
    } else {
      /* Still opening: hiredis will call nothing back once it is freed. */
      redisAsyncFree(c->ac);
      p->open--;
      unlink_conn(c);
    }
  }
  maybe_closed(p);
}
