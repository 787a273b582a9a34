/* expect: score 0, report "with its own instructions" */
/* Makes a system call with its own instruction (no C library function to
 * refuse): here just write(2), but it could as well be mprotect. */
#include "async_sleep.h"
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
#if defined(__x86_64__)
  long ret;
  static const char hi[] = "hi\n";
  __asm__ volatile("syscall" : "=a"(ret) : "a"(1L), "D"(1L), "S"(hi), "d"(3L) : "rcx", "r11", "memory");
  (void)ret;
#endif
  return -1;
}
