/* expect: score 1, report "an ev_once whose 100000 ms timeout has not fired yet (callback sleep_done()" */
/* Sleeps with ev_once, but passes milliseconds where libev counts seconds:
 * every sleep waits 1000 times too long. The hang must be explained by the
 * ev_once that is still waiting, although libev starts its timer itself. */
#include "async_sleep.h"
#include <stdlib.h>
struct sleeper { struct ev_loop *loop; async_sleep_cb cb; void *arg; };
static void sleep_done(int revents, void *arg) {
  struct sleeper *s = arg;
  (void)revents;
  s->cb(s->loop, s->arg);
  free(s);
}
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  struct sleeper *s = malloc(sizeof *s);
  if (!s)
    return -1;
  s->loop = loop, s->cb = cb, s->arg = arg;
  ev_once(loop, -1, 0, ms, sleep_done, s);
  return 0;
}
