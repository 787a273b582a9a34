/* expect: score 0, report "stuck inside stuck_cb()" */
#define _GNU_SOURCE
#include "async_sleep.h"
#include <stdlib.h>
#include <unistd.h>
static void stuck_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  for (;;)
    pause();
}
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)cb, (void)arg;
  ev_timer *t = malloc(sizeof *t);
  ev_timer_init(t, stuck_cb, ms / 1000.0, 0.);
  ev_timer_start(loop, t);
  return 0;
}
