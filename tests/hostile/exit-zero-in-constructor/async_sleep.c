/* expect: score 0, report "before the test finished" */
#define _GNU_SOURCE
#include "async_sleep.h"
#include <unistd.h>
__attribute__((constructor)) static void early(void) { _exit(0); }
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  return -1;
}
