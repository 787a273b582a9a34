/* expect: score 1, report "memory allocated at async_sleep.c:24, in tick_cb()", sanitize */
/* Waits in steps of at most 50 ms and mallocs a progress note at each step
 * that is not the last, never freeing it: correct results, leaked memory.
 * Only the 10 ms sleep of leaves_nothing_behind takes one step and leaks
 * nothing, so that test alone passes. */
#include "async_sleep.h"
#include <stdio.h>
#include <stdlib.h>
struct sleeper { ev_timer timer; unsigned left_ms; async_sleep_cb cb; void *arg; char *note; };
static void arm(struct ev_loop *loop, struct sleeper *s) {
  unsigned step = s->left_ms < 50 ? s->left_ms : 50;
  s->left_ms -= step;
  ev_timer_set(&s->timer, step / 1000.0, 0.);
  ev_timer_start(loop, &s->timer);
}
static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct sleeper *s = (struct sleeper *)w;
  (void)revents;
  if (!s->left_ms) {
    s->cb(loop, s->arg);
    free(s);
    return;
  }
  s->note = malloc(32); /* the previous note is lost */
  if (s->note)
    snprintf(s->note, 32, "%u ms to go", s->left_ms);
  arm(loop, s);
}
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  struct sleeper *s = calloc(1, sizeof *s);
  if (!s)
    return -1;
  s->left_ms = ms, s->cb = cb, s->arg = arg;
  ev_init(&s->timer, tick_cb);
  arm(loop, s);
  return 0;
}
