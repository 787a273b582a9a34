/* expect: score 0, report "before it even starts" */
/* A global array larger than a test's memory: the program cannot even be
 * loaded, so no test starts. That is the file's doing, not the grader's,
 * and it must read so (not "could not grade"). */
#include "async_sleep.h"
char big_table[1500u << 20];
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)cb, (void)arg;
  big_table[ms] = 1;
  return -1;
}
