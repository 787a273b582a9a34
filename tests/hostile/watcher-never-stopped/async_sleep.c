/* expect: score 0, report "a repeating ev_timer every 50 ms (callback tick()" */
#define _GNU_SOURCE
#include "async_sleep.h"
#include <stdlib.h>
struct s { ev_timer t; async_sleep_cb cb; void *arg; int fired; };
static void tick(struct ev_loop *loop, ev_timer *w, int revents) {
  struct s *s = (struct s *)w;
  (void)revents;
  if (!s->fired++)
    s->cb(loop, s->arg);
}
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  struct s *s = calloc(1, sizeof *s);
  s->cb = cb;
  s->arg = arg;
  (void)ms;
  ev_timer_init(&s->t, tick, 0.05, 0.05);
  ev_timer_start(loop, &s->t);
  return 0;
}
