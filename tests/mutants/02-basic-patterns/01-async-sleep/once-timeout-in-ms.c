/* mutant: uses ev_once with the delay in milliseconds where it takes seconds */
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
  struct ev_loop *loop;
  async_sleep_cb cb;
  void *arg;
};

static void sleeper_cb(int revents, void *p) {
  struct sleeper *s = p;
  struct ev_loop *loop = s->loop;
  (void)revents;
  /* A one-shot timer is already stopped when its callback runs, so the
   * struct can be freed right after the user's callback: nothing in the
   * loop refers to it any more. */
  s->cb(loop, s->arg);
  free(s);
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
  s->loop = loop;
  ev_once(loop, -1, 0, ms, sleeper_cb, s);
  return 0;
}
