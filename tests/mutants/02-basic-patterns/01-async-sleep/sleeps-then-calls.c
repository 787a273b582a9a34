/* mutant (core): waits with ev_sleep inside async_sleep, then calls cb itself: the loop is blocked and cb runs before async_sleep returns */
/* async_sleep.c - a mutant of the reference solution of exercise 02.1.
 * asyncio.sleep(d) suspends a coroutine; on libev the same thing is an
 * ev_timer whose callback is "the rest of the function".
 */
#include "async_sleep.h"

#include <stdlib.h>

int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb,
                void *arg) {
  ev_sleep(ms / 1000.0);
  cb(loop, arg);
  return 0;
}
