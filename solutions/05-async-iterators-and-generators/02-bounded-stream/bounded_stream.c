/* bounded_stream.c - exercise 05.2, the reference solution: a generator
 * on a repeating timer that fills a ring buffer, stops its timer when the
 * buffer is full, and restarts it when a take makes room.
 */
#include "bounded_stream.h"

#include <errno.h>
#include <stdlib.h>

struct bstream {
  ev_timer tick;  /* the producer: every period, while running */
  ev_timer kick;  /* 0 s: answers a take from the loop, never inline */
  struct ev_loop *loop;
  bstream_produce_fn produce;
  void *ctx;
  bstream_cb cb;  /* the pending take, if `pending` */
  void *arg;
  int pending;
  int ended;      /* produce returned 0: it is never called again */
  int over;       /* the end was handed over */
  unsigned bound, head, count;
  int *items;     /* a ring of `bound` items: `count` of them from `head` */
};

/* Hands the pending take its answer; s is not touched after cb, which
 * may free it. */
static void answer(bstream_t *s, int item, int status) {
  s->pending = 0;
  if (status == 0)
    s->over = 1;
  s->cb(s->loop, s, item, status, s->arg);
}

/* Answers the pending take if it can: the oldest item, or the end once
 * the generator has returned and the buffer is empty. Otherwise the
 * take waits for the next tick. */
static void try_answer(bstream_t *s) {
  if (s->count > 0) {
    int item = s->items[s->head];
    s->head = (s->head + 1) % s->bound;
    s->count--;
    /* Backpressure released: a paused producer has room again. */
    if (!s->ended && !ev_is_active(&s->tick))
      ev_timer_again(s->loop, &s->tick);
    answer(s, item, 1);
  } else if (s->ended) {
    answer(s, 0, 0);
  }
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  bstream_t *s = w->data;
  int item;
  (void)revents;
  if (!s->produce(s->ctx, &item)) {
    s->ended = 1;
    ev_timer_stop(loop, w);
  } else {
    s->items[(s->head + s->count++) % s->bound] = item;
    if (s->count == s->bound)
      ev_timer_stop(loop, w); /* full: pause until a take makes room */
  }
  if (s->pending)
    try_answer(s); /* last: cb may free s */
}

static void kick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  try_answer(w->data);
}

int bstream_new(bstream_t **out, struct ev_loop *loop, unsigned bound,
                unsigned period_ms, bstream_produce_fn produce, void *ctx) {
  if (!out || !loop || !produce || bound == 0 || period_ms == 0)
    return -EINVAL;
  bstream_t *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->items = calloc(bound, sizeof *s->items);
  if (!s->items) {
    free(s);
    return -ENOMEM;
  }
  s->loop = loop;
  s->produce = produce;
  s->ctx = ctx;
  s->bound = bound;
  double period = period_ms / 1000.;
  ev_timer_init(&s->tick, tick_cb, period, period);
  s->tick.data = s;
  ev_timer_init(&s->kick, kick_cb, 0., 0.);
  s->kick.data = s;
  ev_timer_start(loop, &s->tick); /* the generator runs ahead by itself */
  *out = s;
  return 0;
}

int bstream_take(bstream_t *s, bstream_cb cb, void *arg) {
  if (s->pending)
    return -EBUSY;
  if (s->over)
    return -EPIPE;
  s->pending = 1;
  s->cb = cb;
  s->arg = arg;
  ev_timer_start(s->loop, &s->kick);
  return 0;
}

void bstream_free(bstream_t *s) {
  if (!s)
    return;
  ev_timer_stop(s->loop, &s->tick);
  ev_timer_stop(s->loop, &s->kick);
  free(s->items);
  free(s);
}
