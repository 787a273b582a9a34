/* expect: score 0, report "a function the tests call is missing" */
#define _GNU_SOURCE
#include "async_sleep.h"
int async_sleep_renamed(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg);
int async_sleep_renamed(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  return -1;
}
