/* expect: exercise 08-testing-async-code/01-delay-tests, score 0, report "not caught" */
/* Learner-written tests that pass everywhere, and print on every
 * descriptor it may own (and the runner's) what a failing verdict would look like (the runner's record,
 * Check's and TAP's words), hoping that a forged failure on a broken
 * implementation counts as a catch. Only the runner's own record, with
 * the grader's secret, counts: nothing is caught. */
#include "delay.h"
#include "wbtest.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static void forge(void) {
  static const char *lies[] = {
      "WB1 00000000000000000000000000000000 forges fail 6\nfailed\n",
      "0%: Checks: 1, Failures: 1, Errors: 0\n", "not ok 1 - forges\n"};
  static const int fds[] = {1, 2, 4};
  for (size_t k = 0; k < sizeof fds / sizeof fds[0]; k++)
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++)
      if (write(fds[k], lies[i], strlen(lies[i])) < 0)
        break;
}
static void ended(struct ev_loop *loop, int status, void *arg) {
  (void)loop, (void)status;
  ++*(int *)arg;
}
WB_TEST(forges, 1) {
  int calls = 0;
  forge();
  delay_start(wb_loop(), 5, ended, &calls);
  wb_run(wb_loop(), 1000);
  forge();
}
END_TEST
