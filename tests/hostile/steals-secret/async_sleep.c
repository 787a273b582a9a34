/* expect: score 0, report "already has: yours would replace it" */
#define _GNU_SOURCE
/* Tries to learn the runner's secret and then write a "pass" record of its
 * own on descriptor 4: by defining read() and strcmp() (which win over the
 * C library's, for the runner's calls too) to copy whatever comes from
 * descriptor 3 (and put it back, so the runner notices nothing), and by
 * searching its own writable memory for a 32-digit
 * hex string. Whatever it found, it forges the record and leaves.
 * (Refused when compiled now, for defining read() and strcmp(); the
 * runner also keeps its secret out of the C library's reach.)
 */
#include "async_sleep.h"
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char stolen[33];

/* Reads the secret and puts the same bytes back on a new descriptor 3. */
static void grab(int fd) {
  int p[2];
  if (fd != 3 || stolen[0] || syscall(SYS_read, 3, stolen, 32) != 32)
    return;
  if (syscall(SYS_pipe2, p, 0) == 0) {
    syscall(SYS_write, p[1], stolen, 32);
    syscall(SYS_close, p[1]);
    syscall(SYS_dup2, p[0], 3);
    syscall(SYS_close, p[0]);
  }
}
ssize_t read(int fd, void *buf, size_t n) {
  grab(fd);
  return syscall(SYS_read, fd, buf, n);
}
int strcmp(const char *a, const char *b) {
  grab(3); /* the secret is still waiting on descriptor 3 */
  while (*a && *a == *b)
    a++, b++;
  return (unsigned char)*a - (unsigned char)*b;
}

static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/* A 32-digit hex string in a readable, writable mapping other than ours. */
static void search_memory(void) {
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[512];
  while (maps && !stolen[0] && fgets(line, sizeof line, maps)) {
    unsigned long lo, hi;
    char perms[5];
    if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3 || perms[0] != 'r' || perms[1] != 'w')
      continue;
    if (strstr(line, "[vvar]") || hi - lo > (64ul << 20))
      continue;
    for (const char *p = (const char *)lo; p + 33 <= (const char *)hi && !stolen[0]; p++) {
      if (p == stolen)
        continue;
      int k = 0;
      while (k < 32 && is_hex(p[k]))
        k++;
      if (k == 32 && !is_hex(p[32]) && (p == (const char *)lo || !is_hex(p[-1])))
        memcpy(stolen, p, 32);
    }
  }
  if (maps)
    fclose(maps);
}

int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  if (!stolen[0])
    search_memory();
  char cmd[4096] = {0};
  FILE *f = fopen("/proc/self/cmdline", "r");
  size_t n = f ? fread(cmd, 1, sizeof cmd - 1, f) : 0;
  if (f)
    fclose(f);
  const char *name = n ? cmd + strlen(cmd) + 1 : "";
  name += strlen(name) + 1; /* argv: binary, --run, NAME */
  char rec[512];
  int len = snprintf(rec, sizeof rec, "WB1 %s %s pass 0\n", stolen[0] ? stolen : "x", name);
  syscall(SYS_write, 4, rec, (size_t)len);
  syscall(SYS_exit_group, 0);
  return 0;
}
