/* expect: score 0, report "before the test finished" */
#define _GNU_SOURCE
#include "async_sleep.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static void lie(void) {
  for (int fd = 3; fd < 10; fd++)
    dprintf(fd, "WB1 x returns_at_once_and_calls_back_once pass 0\n");
  printf("ok\n");
}
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  atexit(lie);
  exit(0);
}
