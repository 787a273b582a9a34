/* expect: score 0 */
#define _GNU_SOURCE
#include "async_sleep.h"
#include <stdlib.h>
#include <string.h>
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  for (;;) {
    char *p = malloc(64 << 20);
    if (!p)
      abort();
    memset(p, 1, 64 << 20);
  }
}
