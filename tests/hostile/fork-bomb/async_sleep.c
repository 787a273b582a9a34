/* expect: score 0 */
#define _GNU_SOURCE
#include "async_sleep.h"
#include <unistd.h>
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  for (int i = 0; i < 100000; i++)
    if (fork() < 0)
      break;
  return -1;
}
