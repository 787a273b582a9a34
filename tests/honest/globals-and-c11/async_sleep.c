#include "async_sleep.h"
#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>

struct pending {
  ev_timer timer;
  async_sleep_cb cb;
  union { void *arg; uintptr_t bits; };   /* C11 anonymous union */
};
_Static_assert(offsetof(struct pending, timer) == 0, "timer first");

static inline double ms_to_s(unsigned ms) { return ms / 1000.0; }

double last_start;  /* a global */

void fire(struct ev_loop *loop, ev_timer *w, int revents) {
  struct pending *p = (struct pending *)w;
  (void)revents;
  ev_timer_stop(loop, w);
  p->cb(loop, p->arg);
  free(p);
}

int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  struct pending *p = malloc(sizeof *p);
  if (p == NULL) return -1;
  *p = (struct pending){.cb = cb, .arg = arg};
  ev_init(&p->timer, fire);
  p->timer.repeat = ms_to_s(ms);
  last_start = ev_now(loop);
  if (ms == 0) { /* ev_timer_again starts nothing when repeat is 0 */
    ev_timer_set(&p->timer, 0., 0.);
    ev_timer_start(loop, &p->timer);
  } else
    ev_timer_again(loop, &p->timer);
  return 0;
}
