/* expect: score 2, report "the loop was blocked for" */
#define _GNU_SOURCE
/* Waits with usleep inside the callback: correct results, blocked loop. */
#include "async_sleep.h"
#include <stdlib.h>
#include <unistd.h>
struct s { ev_timer t; async_sleep_cb cb; void *arg; unsigned ms; };
static void wake(struct ev_loop *loop, ev_timer *w, int revents) {
  struct s *s = (struct s *)w;
  (void)revents;
  usleep(s->ms * 1000);
  s->cb(loop, s->arg);
  free(s);
}
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  struct s *s = malloc(sizeof *s);
  s->cb = cb, s->arg = arg, s->ms = ms;
  ev_timer_init(&s->t, wake, 0., 0.);
  ev_timer_start(loop, &s->t);
  return 0;
}
