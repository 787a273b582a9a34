/* reference.c - the correct implementation of delay.h (exercise 08.1):
 * one heap-allocated one-shot ev_timer per delay, freed after its callback
 * or by delay_cancel.
 */
#include "delay.h"

#include <stdlib.h>

struct delay {
  ev_timer timer; /* first: the watcher libev hands back is the delay */
  struct ev_loop *loop;
  delay_cb cb;
  void *arg;
};

/* A one-shot timer is stopped by the time its callback runs: the delay can
 * be freed once cb has returned. */
static void delay_fire(struct ev_loop *loop, ev_timer *w, int revents) {
  delay_t *d = (delay_t *)w;
  (void)revents;
  d->cb(loop, DELAY_DONE, d->arg);
  free(d);
}

delay_t *delay_start(struct ev_loop *loop, unsigned ms, delay_cb cb,
                     void *arg) {
  delay_t *d = malloc(sizeof *d);
  if (!d)
    return NULL;
  d->loop = loop;
  d->cb = cb;
  d->arg = arg;
  ev_timer_init(&d->timer, delay_fire, ms / 1000.0, 0.);
  ev_timer_start(loop, &d->timer);
  return d;
}

void delay_cancel(delay_t *d) {
  ev_timer_stop(d->loop, &d->timer);
  d->cb(d->loop, DELAY_CANCELLED, d->arg);
  free(d);
}
