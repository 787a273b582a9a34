/* expect: score 0, report "before the test finished" */
#define _GNU_SOURCE
/* Prints what Check, TAP and the runner's channel would say on success,
 * to stdout, stderr and every descriptor it can find, then fails. */
#include "async_sleep.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static void forge(void) {
  static const char *lies[] = {
      "100%: Checks: 5, Failures: 0, Errors: 0\n", "ok 1 - all good\n",
      "WB1 00000000000000000000000000000000 returns_at_once_and_calls_back_once pass 0\n",
      "<testcase name=\"x\"/>\n", "{\"score\": 100}\n"};
  for (int fd = 1; fd < 64; fd++)
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++)
      if (write(fd, lies[i], strlen(lies[i])) < 0)
        break;
}
__attribute__((constructor)) static void early(void) { forge(); }
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  forge();
  return -1;
}
