/* expect: score 0, report "before the test finished" */
#define _GNU_SOURCE
/* Searches its own writable memory for the runner's secret as a 32-digit
 * hex string (where a runner that kept it as text would have it), then
 * forges a "pass" record on descriptor 4 and leaves. It defines no library
 * function, so it compiles and runs. */
#include "async_sleep.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char stolen[33];

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
  if (write(4, rec, (size_t)len) < 0)
    _exit(1);
  _exit(0);
  return 0;
}
