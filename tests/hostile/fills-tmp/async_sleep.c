/* expect: score 0, report "stopped within 64 MiB", needs bubblewrap */
#define _GNU_SOURCE
/* Fills /tmp with 1 MiB files (each under the file-size limit) until the
 * system says no, up to 2 GiB: a tmpfs without a bound would take the
 * grading machine's memory. Then says how far it got. */
#include "async_sleep.h"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  static char chunk[1 << 20];
  memset(chunk, 'x', sizeof chunk);
  int mib = 0;
  for (; mib < 2048; mib++) {
    char name[64];
    snprintf(name, sizeof name, "/tmp/fill-%d", mib);
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
      break;
    ssize_t w = write(fd, chunk, sizeof chunk);
    close(fd);
    if (w != (ssize_t)sizeof chunk)
      break;
  }
  printf(mib <= 64 ? "stopped within 64 MiB (%d MiB)\n" : "wrote %d MiB to /tmp\n", mib);
  return -1;
}
