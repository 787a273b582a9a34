#include "async_sleep.h"
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

int sleeps_started = 0;
unsigned long total_ms;

struct sleeper { ev_timer timer; async_sleep_cb cb; void *arg; };

void index_free(struct sleeper *s) { free(s); }

void on_timer(struct ev_loop *loop, ev_timer *w, int revents) {
  struct sleeper *s = (struct sleeper *)w;
  (void)revents;
  s->cb(loop, s->arg);
  index_free(s);
}

__attribute__((constructor)) static void init_counts(void) { sleeps_started = 0; }

int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  struct sleeper *s = calloc(1, sizeof *s);
  if (!s) return -1;
  s->cb = cb; s->arg = arg;
  sleeps_started++; total_ms += ms;
  ev_timer_init(&s->timer, on_timer, ms / 1000.0, 0.);
  ev_timer_start(loop, &s->timer);
  return 0;
}
