/* expect: exercise 08-testing-async-code/01-delay-tests, score 0, report "WRONG" */
/* Learner-written tests that leave the test program early: exit(0) once
 * the delay has started, and from inside the callback. Nothing they do
 * counts: a test passes only when it runs to its end. */
#include "delay.h"
#include "wbtest.h"
#include <stdlib.h>
static void leave(struct ev_loop *loop, int status, void *arg) {
  (void)loop, (void)status, (void)arg;
  exit(0);
}
WB_TEST(exits_after_start, 1) {
  delay_start(wb_loop(), 10, leave, NULL);
  exit(0);
}
END_TEST
WB_TEST(exits_in_callback, 1) {
  delay_start(wb_loop(), 10, leave, NULL);
  wb_run(wb_loop(), 1000);
}
END_TEST
