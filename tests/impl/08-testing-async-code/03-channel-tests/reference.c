/* reference.c - the correct implementation of chan.h (exercise 08.3): a
 * ring of items, a queue of waiting puts and one of waiting gets, and a
 * list of finished operations whose callbacks a 0 s timer delivers from
 * the loop, in the order they finished.
 */
#include "chan.h"

#include <stdlib.h>

/* One put or get, from chan_put/chan_get until its callback has run. */
struct op {
  struct op *next;
  chan_put_cb put_cb; /* set for a put */
  chan_get_cb get_cb; /* set for a get */
  void *item;
  void *arg;
  int status;
};

struct opq {
  struct op *head, *tail;
};

struct chan {
  struct ev_loop *loop;
  void **ring;
  size_t cap, head, len;
  struct opq puts, gets; /* waiting */
  struct opq done;       /* finished, callbacks due */
  ev_timer wake;         /* delivers `done` from the loop */
  int closed;
};

static void opq_push(struct opq *q, struct op *o) {
  o->next = NULL;
  if (q->tail)
    q->tail->next = o;
  else
    q->head = o;
  q->tail = o;
}

static struct op *opq_pop(struct opq *q) {
  struct op *o = q->head;
  if (o && !(q->head = o->next))
    q->tail = NULL;
  return o;
}

/* Runs the callbacks due, oldest first. A callback may call chan_* again:
 * what it finishes joins the list and is delivered in this same turn. */
static void deliver(struct ev_loop *loop, ev_timer *w, int revents) {
  chan_t *c = w->data;
  struct op *o;
  (void)revents;
  while ((o = opq_pop(&c->done))) {
    if (o->put_cb)
      o->put_cb(loop, o->status, o->arg);
    else
      o->get_cb(loop, o->status, o->item, o->arg);
    free(o);
  }
}

/* Never calls back from here: the callback is due on the loop's next turn. */
static void finish(chan_t *c, struct op *o, int status) {
  o->status = status;
  opq_push(&c->done, o);
  if (!ev_is_active(&c->wake))
    ev_timer_start(c->loop, &c->wake);
}

chan_t *chan_new(struct ev_loop *loop, size_t capacity) {
  chan_t *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->ring = calloc(capacity ? capacity : 1, sizeof *c->ring);
  if (!c->ring) {
    free(c);
    return NULL;
  }
  c->loop = loop;
  c->cap = capacity ? capacity : 1;
  ev_timer_init(&c->wake, deliver, 0., 0.);
  c->wake.data = c;
  return c;
}

int chan_put(chan_t *c, void *item, chan_put_cb cb, void *arg) {
  struct op *o = calloc(1, sizeof *o);
  if (!o)
    return -1;
  o->put_cb = cb;
  o->item = item;
  o->arg = arg;
  struct op *getter = opq_pop(&c->gets);
  if (c->closed) {
    finish(c, o, CHAN_CLOSED);
  } else if (getter) { /* someone waits: hand it over directly */
    getter->item = item;
    finish(c, getter, CHAN_OK);
    finish(c, o, CHAN_OK);
  } else if (c->len < c->cap) {
    c->ring[(c->head + c->len++) % c->cap] = item;
    finish(c, o, CHAN_OK);
  } else {
    opq_push(&c->puts, o); /* full: wait for a get */
  }
  return 0;
}

int chan_get(chan_t *c, chan_get_cb cb, void *arg) {
  struct op *o = calloc(1, sizeof *o);
  if (!o)
    return -1;
  o->get_cb = cb;
  o->arg = arg;
  if (c->len > 0) {
    o->item = c->ring[c->head];
    c->head = (c->head + 1) % c->cap;
    c->len--;
    finish(c, o, CHAN_OK);
    struct op *putter = opq_pop(&c->puts); /* room for the oldest waiter */
    if (putter) {
      c->ring[(c->head + c->len++) % c->cap] = putter->item;
      finish(c, putter, CHAN_OK);
    }
  } else if (c->closed) {
    finish(c, o, CHAN_CLOSED);
  } else {
    opq_push(&c->gets, o); /* empty: wait for a put */
  }
  return 0;
}

size_t chan_len(const chan_t *c) { return c->len; }

void chan_close(chan_t *c) {
  struct op *o;
  c->closed = 1;
  while ((o = opq_pop(&c->gets)))
    finish(c, o, CHAN_CLOSED);
  while ((o = opq_pop(&c->puts)))
    finish(c, o, CHAN_CLOSED);
}

void chan_free(chan_t *c) {
  struct op *o;
  struct opq *qs[] = {&c->gets, &c->puts, &c->done};
  for (int i = 0; i < 3; i++)
    while ((o = opq_pop(qs[i])))
      free(o);
  ev_timer_stop(c->loop, &c->wake);
  free(c->ring);
  free(c);
}
