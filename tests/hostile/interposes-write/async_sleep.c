/* expect: score 0, report "already has: yours would replace it" */
#define _GNU_SOURCE
#include "async_sleep.h"
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
/* Defines write() itself, which wins over the C library's for the whole
 * program, to catch the runner's verdict and turn "fail" into "pass".
 * (Refused when compiled now: a learner file may not define a library's
 * function. Before, the runner's own calls went through it.)
 */
ssize_t write(int fd, const void *buf, size_t n) {
  char copy[512];
  if (fd == 4 && n < sizeof copy && n > 4 && !memcmp(buf, "WB1 ", 4)) {
    memcpy(copy, buf, n);
    char *f = strstr(copy, " fail ");
    if (f) {
      memcpy(f, " pass 0\n", 8);
      return syscall(SYS_write, fd, copy, (size_t)(f - copy) + 8) >= 0 ? (ssize_t)n : -1;
    }
  }
  return syscall(SYS_write, fd, buf, n);
}
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  return -1;
}
