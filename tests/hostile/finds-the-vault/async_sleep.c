/* expect: score 0, report "calls syscall(), which the exercises never need" */
#define _GNU_SOURCE
/* Finds the runner's vault (a one-page anonymous PROT_NONE mapping),
 * makes it readable with mprotect, and writes a pass record itself.
 * (Refused when compiled now, for calling syscall(); the runner also
 * hides the secret at a random place in a region of random bytes.)
 */
#include "async_sleep.h"
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int forge(void) {
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[512];
  unsigned char key[16];
  int found = 0;
  while (maps && !found && fgets(line, sizeof line, maps)) {
    unsigned long lo, hi;
    char perms[5];
    if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3 || strcmp(perms, "---p") || hi - lo != 4096)
      continue;
    if (syscall(SYS_mprotect, lo, 4096, PROT_READ) != 0)
      continue;
    const unsigned char *p = (const unsigned char *)lo;
    int nz = 0, tailz = 1;
    for (int i = 0; i < 16; i++) nz |= p[i];
    for (int i = 16; i < 4096; i++) if (p[i]) { tailz = 0; break; }
    if (nz && tailz) { memcpy(key, p, 16); found = 1; }
    syscall(SYS_mprotect, lo, 4096, PROT_NONE);
  }
  if (maps) fclose(maps);
  if (!found) return 0;
  char cmd[4096] = {0};
  FILE *f = fopen("/proc/self/cmdline", "r");
  size_t n = f ? fread(cmd, 1, sizeof cmd - 1, f) : 0;
  if (f) fclose(f);
  const char *name = n ? cmd + strlen(cmd) + 1 : "";
  name += strlen(name) + 1;
  char rec[512];
  int len = snprintf(rec, sizeof rec, "WB1 ");
  for (int i = 0; i < 16; i++) len += snprintf(rec + len, sizeof rec - len, "%02x", key[i]);
  len += snprintf(rec + len, sizeof rec - len, " %s pass 0\n", name);
  syscall(SYS_write, 4, rec, (size_t)len);
  syscall(SYS_exit_group, 0);
  return 1;
}

int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  forge();
  return -1;
}
