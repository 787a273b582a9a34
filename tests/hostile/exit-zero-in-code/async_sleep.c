/* expect: score 0, report "before the test finished" */
#define _GNU_SOURCE
#include "async_sleep.h"
#include <stdlib.h>
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  exit(0);
}
