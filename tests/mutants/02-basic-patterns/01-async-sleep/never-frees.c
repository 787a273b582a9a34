/* mutant (core): never frees the struct of a finished sleep */
/* async_sleep.c - a mutant of the reference solution of exercise 02.1.
 * asyncio.sleep(d) suspends a coroutine; on libev the same thing is an
 * ev_timer whose callback is "the rest of the function".
 */
#include "async_sleep.h"

#include <stdlib.h>

/* One sleep in flight. The timer comes first so that the watcher pointer
 * libev hands to the callback is also a pointer to the whole struct. */
struct sleeper {
  ev_timer timer;
  async_sleep_cb cb;
  void *arg;
};

static void sleeper_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct sleeper *s = (struct sleeper *)w;
  (void)revents;
  /* A one-shot timer is already stopped when its callback runs, so the
   * struct can be freed right after the user's callback: nothing in the
   * loop refers to it any more. */
  s->cb(loop, s->arg);
}

int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb,
                void *arg) {
  /* Heap, not stack: the timer must outlive this call, which returns at
   * once while the loop does the waiting. */
  struct sleeper *s = malloc(sizeof *s);
  if (!s)
    return -1;
  s->cb = cb;
  s->arg = arg;
  /* libev counts in seconds (ev_tstamp is a double); repeat 0 = one shot. */
  ev_timer_init(&s->timer, sleeper_cb, ms / 1000.0, 0.);
  ev_timer_start(loop, &s->timer);
  return 0;
}
