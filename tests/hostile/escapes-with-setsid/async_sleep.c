/* expect: score 0, no process "wbescapee" left */
#define _GNU_SOURCE
#include "async_sleep.h"
#include <sys/prctl.h>
#include <unistd.h>
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  if (fork() == 0) {
    setsid();
    if (fork() == 0) {
      prctl(PR_SET_NAME, "wbescapee");
      for (int i = 0; i < 600; i++)
        sleep(1);
    }
    _exit(0);
  }
  return -1;
}
