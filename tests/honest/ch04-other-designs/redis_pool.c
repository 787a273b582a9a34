/* An honest alternative: a fixed array of `size` slots holding handles,
 * requests in a singly linked FIFO, and every answer delivered by one
 * ev_idle that drains a list of ready requests. */
#include "redis_pool.h"

#include <hiredis/adapters/libev.h>
#include <stdlib.h>
#include <string.h>

struct pool_conn {
  struct redis_pool *pool;
  redisAsyncContext *ac;
  enum { OPENING, IDLE, LENT, LENT_GONE } state;
  unsigned slot;
};

struct req {
  pool_get_cb cb;
  void *arg;
  struct pool_conn *conn;
  int status;
  struct req *next;
};

struct redis_pool {
  struct ev_loop *loop;
  char *path;
  unsigned size;
  struct pool_conn **slots; /* size of them, NULL when free */
  struct req *wait_head, **wait_tail;
  struct req *ready_head, **ready_tail;
  ev_idle deliver;
  int closing;
  pool_closed_cb closed;
  void *closed_arg;
  int closed_sent;
  int gone_out; /* lent handles whose connection died, not yet back */
};

static int serve(struct redis_pool *p);

static void push_ready(struct redis_pool *p, struct req *r) {
  r->next = NULL;
  *p->ready_tail = r;
  p->ready_tail = &r->next;
  ev_idle_start(p->loop, &p->deliver);
}

static int all_quiet(struct redis_pool *p) {
  for (unsigned i = 0; i < p->size; i++)
    if (p->slots[i])
      return 0;
  return !p->gone_out && !p->ready_head;
}

static void deliver_cb(struct ev_loop *loop, ev_idle *w, int revents) {
  struct redis_pool *p = w->data;
  (void)revents;
  while (p->ready_head) {
    struct req *r = p->ready_head;
    p->ready_head = r->next;
    if (!p->ready_head)
      p->ready_tail = &p->ready_head;
    r->cb(r->conn, r->status, r->arg);
    free(r);
  }
  if (p->closing && all_quiet(p)) {
    ev_idle_stop(loop, w);
    if (!p->closed_sent) {
      p->closed_sent = 1;
      p->closed(p->closed_arg);
      free(p->slots);
      free(p->path);
      free(p);
    }
    return;
  }
  ev_idle_stop(loop, w);
}

static struct req *pop_wait(struct redis_pool *p) {
  struct req *r = p->wait_head;
  if (r) {
    p->wait_head = r->next;
    if (!p->wait_head)
      p->wait_tail = &p->wait_head;
  }
  return r;
}

static void lend(struct redis_pool *p, struct pool_conn *c) {
  struct req *r = pop_wait(p);
  c->state = LENT;
  r->conn = c;
  r->status = 0;
  push_ready(p, r);
}

static void fail_one(struct redis_pool *p, int status) {
  struct req *r = pop_wait(p);
  if (r) {
    r->conn = NULL;
    r->status = status;
    push_ready(p, r);
  }
}

static void on_up(const redisAsyncContext *ac, int status) {
  struct pool_conn *c = ac->data;
  struct redis_pool *p = c->pool;
  if (status != REDIS_OK) {
    p->slots[c->slot] = NULL;
    free(c);
    fail_one(p, POOL_ECONNECT);
    return;
  }
  c->state = IDLE;
  serve(p);
}

static void on_down(const redisAsyncContext *ac, int status) {
  struct pool_conn *c = ac->data;
  struct redis_pool *p = c->pool;
  (void)status;
  p->slots[c->slot] = NULL; /* its place is free */
  if (c->state == LENT) {
    c->state = LENT_GONE; /* the holder gives the handle back later */
    c->ac = NULL;
    p->gone_out++;
  } else {
    free(c);
  }
  if (!p->closing)
    serve(p);
  else
    ev_idle_start(p->loop, &p->deliver);
}

static unsigned count(struct redis_pool *p, int state) {
  unsigned n = 0;
  for (unsigned i = 0; i < p->size; i++)
    n += p->slots[i] && p->slots[i]->state == (unsigned)state;
  return n;
}

static int serve(struct redis_pool *p) {
  for (unsigned i = 0; i < p->size && p->wait_head; i++)
    if (p->slots[i] && p->slots[i]->state == IDLE)
      lend(p, p->slots[i]);
  unsigned waiting = 0;
  for (struct req *r = p->wait_head; r; r = r->next)
    waiting++;
  unsigned opening = count(p, OPENING);
  for (unsigned i = 0; i < p->size && opening < waiting; i++) {
    if (p->slots[i])
      continue;
    struct pool_conn *c = calloc(1, sizeof *c);
    if (!c)
      return -1;
    redisAsyncContext *ac = redisAsyncConnectUnix(p->path);
    if (!ac) {
      free(c);
      return -1;
    }
    if (ac->err) {
      redisAsyncFree(ac);
      free(c);
      fail_one(p, POOL_ECONNECT);
      waiting--;
      continue;
    }
    c->pool = p;
    c->slot = i;
    p->slots[i] = c;
    c->ac = ac;
    c->state = OPENING;
    ac->data = c;
    redisLibevAttach(p->loop, ac);
    redisAsyncSetConnectCallback(ac, on_up);
    redisAsyncSetDisconnectCallback(ac, on_down);
    opening++;
  }
  return 0;
}

struct redis_pool *redis_pool_new(struct ev_loop *loop, const char *path,
                                  unsigned size) {
  if (!size)
    return NULL;
  struct redis_pool *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->slots = calloc(size, sizeof *p->slots);
  p->path = strdup(path);
  if (!p->slots || !p->path) {
    free(p->slots);
    free(p->path);
    free(p);
    return NULL;
  }
  p->loop = loop;
  p->size = size;
  p->wait_tail = &p->wait_head;
  p->ready_tail = &p->ready_head;
  ev_idle_init(&p->deliver, deliver_cb);
  p->deliver.data = p;
  return p;
}

int redis_pool_get(struct redis_pool *p, pool_get_cb cb, void *arg) {
  if (p->closing)
    return -1;
  struct req *r = calloc(1, sizeof *r);
  if (!r)
    return -1;
  r->cb = cb;
  r->arg = arg;
  struct req **was = p->wait_tail;
  *p->wait_tail = r;
  p->wait_tail = &r->next;
  if (serve(p) < 0 && p->wait_tail == &r->next) {
    *was = NULL; /* take it back: there is no memory for its connection */
    p->wait_tail = was;
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
  if (c->state == LENT_GONE) {
    free(c);
    p->gone_out--;
    if (p->closing)
      ev_idle_start(p->loop, &p->deliver);
    else
      serve(p);
    return;
  }
  c->state = IDLE;
  if (p->closing)
    redisAsyncDisconnect(c->ac);
  else
    serve(p);
}

void redis_pool_close(struct redis_pool *p, pool_closed_cb closed, void *arg) {
  p->closing = 1;
  p->closed = closed;
  p->closed_arg = arg;
  while (p->wait_head)
    fail_one(p, POOL_ECLOSED);
  for (unsigned i = 0; i < p->size; i++) {
    struct pool_conn *c = p->slots[i];
    if (c && c->state == IDLE) {
      redisAsyncDisconnect(c->ac);
    } else if (c && c->state == OPENING) {
      p->slots[i] = NULL;
      redisAsyncFree(c->ac);
      free(c);
    }
  }
  ev_idle_start(p->loop, &p->deliver);
}
