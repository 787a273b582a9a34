/* backpressure.c - a timer-driven generator feeding a slower consumer
 * through a buffer of BOUND items. When the buffer is full the producer
 * pauses (its timer stops); when the consumer has drained it to half, the
 * producer resumes. The buffer never holds more than BOUND items, and
 * every item arrives once, in order.
 * expect: lag_ms < 50, elapsed_ms < 900, errors < 1, most_queued < 5
 */
#include "wb_lag.h"
#include "wb_trace.h"

#include <ev.h>
#include <stdio.h>

#define BOUND 4  /* the consumer's buffer, in items */
#define ITEMS 12 /* what the generator makes before it ends */

struct pipeline {
  ev_timer produce;  /* the generator: one item every 5 ms while it runs */
  ev_timer consume;  /* the consumer: one item every 20 ms */
  int queue[BOUND];  /* a ring: `count` items from `head` */
  int head, count;
  int made, taken;   /* items made by the producer, taken by the consumer */
  int paused, most_queued, errors;
};

static void producer_pause(struct ev_loop *loop, struct pipeline *p) {
  ev_timer_stop(loop, &p->produce);
  p->paused = 1;
  wb_trace_mark("producer: paused, buffer full");
}

static void producer_resume(struct ev_loop *loop, struct pipeline *p) {
  p->paused = 0;
  wb_trace_mark("producer: resumed");
  ev_timer_again(loop, &p->produce);
}

/* The generator: `yield` is a push into the buffer, and a full buffer is
 * the consumer saying "not now". */
static void produce_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct pipeline *p = (struct pipeline *)w;
  (void)revents;
  p->queue[(p->head + p->count++) % BOUND] = p->made++;
  if (p->count > p->most_queued)
    p->most_queued = p->count;
  if (p->made == ITEMS)
    ev_timer_stop(loop, w); /* the generator returns: no more items */
  else if (p->count == BOUND)
    producer_pause(loop, p);
}

/* The consumer: takes the oldest item; waking the producer when the
 * buffer has drained to half is the other half of backpressure. */
static void consume_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct pipeline *p = w->data;
  (void)revents;
  if (p->count == 0)
    return; /* nothing yet: look again next tick */
  int item = p->queue[p->head];
  p->head = (p->head + 1) % BOUND, p->count--;
  if (item != p->taken)
    p->errors++; /* an item lost or repeated */
  printf("Processing: %d (%d left in the buffer)\n", item, p->count);
  wb_trace_mark("consumer: took %d", item);
  if (++p->taken == ITEMS)
    ev_timer_stop(loop, w);
  else if (p->paused && p->count <= BOUND / 2)
    producer_resume(loop, p);
}

int main(void) {
  static struct pipeline p;
  wb_lag_t lag;
  double t0 = wb_now_ms();
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  wb_lag_start(loop, &lag);
  ev_timer_init(&p.produce, produce_cb, 0.005, 0.005);
  ev_timer_init(&p.consume, consume_cb, 0.02, 0.02);
  p.consume.data = &p;
  /* Each mark names a row of the timeline, and the timer started after
   * it is drawn on that row. */
  wb_trace_mark("producer: started");
  ev_timer_start(loop, &p.produce);
  wb_trace_mark("consumer: started");
  ev_timer_start(loop, &p.consume);
  ev_run(loop, 0);
  wb_lag_stop(loop, &lag);
  ev_loop_destroy(loop);
  printf("measured: lag_ms=%.0f elapsed_ms=%.0f open_fds=%d errors=%d "
         "items=%d most_queued=%d\n",
         wb_lag_longest_ms(&lag), wb_now_ms() - t0, wb_open_fds(),
         p.errors + (p.taken != ITEMS), p.taken, p.most_queued);
  return p.errors || p.taken != ITEMS;
}
