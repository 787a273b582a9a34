/* expect: score 0 */
#define _GNU_SOURCE
#include "async_sleep.h"
#include <signal.h>
#include <unistd.h>
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  kill(getppid(), SIGSTOP);
  kill(getppid(), SIGKILL);
  kill(-1, SIGKILL);
  return -1;
}
