/* expect: exercise 08-testing-async-code/01-delay-tests, score 0, report "FLAKY" */
/* A learner-written test that recognises the correct implementation by its
 * code instead of testing what it does: it passes when delay_start was
 * compiled as the handout ships it (by where its functions sit) and fails
 * otherwise, hoping every broken implementation looks different. The
 * grader also runs the reference built another way, which no handout has:
 * the test fails there, is flaky, and catches nothing. */
#include "delay.h"
#include "wbtest.h"
#include <stdint.h>
/* The build a handout ships keeps GCC's usual function alignment; the
 * grader's own build of the reference aligns every function to 64 bytes.
 * This test tells them apart by the addresses of the two functions. */
static int grading_build(void) {
  return ((uintptr_t)(void *)delay_start & 63) == 0 &&
         ((uintptr_t)(void *)delay_cancel & 63) == 0;
}
WB_TEST(is_the_shipped_build, 1) {
  ck_assert_msg(!grading_build(), "not the build I know");
}
END_TEST
