/* expect: score 0, report "output cut" */
#define _GNU_SOURCE
#include "async_sleep.h"
#include <stdio.h>
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  for (int i = 0; i < 200000; i++)
    printf("flooding the grader with output, line %d\n", i);
  return -1;
}
