/* expect: score 0, report "async_sleep.c:5:44: error" */
#define _GNU_SOURCE
#include "async_sleep.h"
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg
  return -1
}
