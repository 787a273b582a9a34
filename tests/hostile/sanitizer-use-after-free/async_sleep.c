/* expect: score 0, report "heap-use-after-free", sanitize */
#define _GNU_SOURCE
#include "async_sleep.h"
#include <stdlib.h>
struct sleeper { ev_timer timer; async_sleep_cb cb; void *arg; };
static void sleeper_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct sleeper *s = (struct sleeper *)w;
  (void)revents;
  free(s);
  s->cb(loop, s->arg);
}
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  struct sleeper *s = malloc(sizeof *s);
  if (!s)
    return -1;
  s->cb = cb, s->arg = arg;
  ev_timer_init(&s->timer, sleeper_cb, ms / 1000.0, 0.);
  ev_timer_start(loop, &s->timer);
  return 0;
}
