/* An honest alternative: an array shifted on take, an ev_idle for answers,
 * ev_timer_set + start to resume. */
#include "bounded_stream.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct bstream {
  ev_timer tick;
  ev_idle idle;
  struct ev_loop *loop;
  bstream_produce_fn produce;
  void *ctx;
  bstream_cb cb;
  void *arg;
  int waiting, gen_done, end_given;
  unsigned bound, n;
  double period;
  int *buf;
};

static void deliver(bstream_t *s) {
  if (s->n == 0 && !s->gen_done)
    return;
  bstream_cb cb = s->cb;
  void *arg = s->arg;
  s->waiting = 0;
  ev_idle_stop(s->loop, &s->idle);
  if (s->n == 0) {
    s->end_given = 1;
    cb(s->loop, s, 0, 0, arg);
    return;
  }
  int item = s->buf[0];
  memmove(s->buf, s->buf + 1, (s->n - 1) * sizeof *s->buf);
  s->n--;
  if (!s->gen_done && !ev_is_active(&s->tick)) {
    ev_timer_set(&s->tick, s->period, s->period);
    ev_timer_start(s->loop, &s->tick);
  }
  cb(s->loop, s, item, 1, arg);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  bstream_t *s = w->data;
  int item;
  (void)revents;
  if (s->produce(s->ctx, &item)) {
    s->buf[s->n++] = item;
    if (s->n == s->bound)
      ev_timer_stop(loop, w);
  } else {
    s->gen_done = 1;
    ev_timer_stop(loop, w);
  }
  if (s->waiting)
    deliver(s);
}

static void idle_cb(struct ev_loop *loop, ev_idle *w, int revents) {
  bstream_t *s = w->data;
  (void)revents;
  ev_idle_stop(loop, w);
  if (s->waiting)
    deliver(s);
}

int bstream_new(bstream_t **out, struct ev_loop *loop, unsigned bound,
                unsigned period_ms, bstream_produce_fn produce, void *ctx) {
  if (!out || !loop || !produce || !bound || !period_ms) return -EINVAL;
  int *buf = malloc(bound * sizeof *buf);
  if (!buf) return -ENOMEM;
  bstream_t *s = calloc(1, sizeof *s);
  if (!s) { free(buf); return -ENOMEM; }
  s->buf = buf; s->bound = bound; s->loop = loop; s->produce = produce; s->ctx = ctx;
  s->period = period_ms / 1000.0;
  ev_timer_init(&s->tick, tick_cb, s->period, s->period); s->tick.data = s;
  ev_idle_init(&s->idle, idle_cb); s->idle.data = s;
  ev_timer_start(loop, &s->tick);
  *out = s;
  return 0;
}

int bstream_take(bstream_t *s, bstream_cb cb, void *arg) {
  if (s->waiting) return -EBUSY;
  if (s->end_given) return -EPIPE;
  s->waiting = 1; s->cb = cb; s->arg = arg;
  ev_idle_start(s->loop, &s->idle);
  return 0;
}

void bstream_free(bstream_t *s) {
  if (!s) return;
  ev_timer_stop(s->loop, &s->tick);
  ev_idle_stop(s->loop, &s->idle);
  free(s->buf);
  free(s);
}
