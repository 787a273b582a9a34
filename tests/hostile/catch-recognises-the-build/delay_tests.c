/* expect: exercise 08-testing-async-code/01-delay-tests, score 0, report "FLAKY" */
/* A learner-written test that recognises the correct implementation by its
 * code instead of testing what it does: it passes when delay_start was
 * compiled as the handout ships it (no frame pointer set up in its first
 * bytes) and fails otherwise, hoping every broken implementation looks
 * different. The grader also runs the reference built another way, which
 * no handout has: the test fails there, is flaky, and catches nothing. */
#include "delay.h"
#include "wbtest.h"
#include <string.h>
static int sets_up_a_frame(const unsigned char *code) {
  static const unsigned char frame[] = {0x55, 0x48, 0x89, 0xe5}; /* push %rbp; mov %rsp,%rbp */
  for (int i = 0; i < 8; i++)
    if (!memcmp(code + i, frame, sizeof frame))
      return 1;
  return 0;
}
WB_TEST(is_the_shipped_build, 1) {
  const unsigned char *code = (const unsigned char *)(void *)delay_start;
  ck_assert_msg(!sets_up_a_frame(code), "not the build I know");
}
END_TEST
