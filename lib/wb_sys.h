/* wb_sys.h - system calls made directly, not through the C library.
 *
 * A program's own definition of a C library function (write, read,
 * clock_gettime, syscall...) wins over the library's, for every caller in
 * the program. Code under test can therefore see or change what the test
 * support library does through the C library; what must stay out of its
 * reach (the runner's verdict, the clock that measures the loop) goes
 * through wb_sys instead. Header-only: each user gets its own copy.
 */
#ifndef WB_SYS_H
#define WB_SYS_H

#include <sys/syscall.h>
#include <time.h>

#if defined(__x86_64__)
static inline long wb_sys(long nr, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
static inline long wb_sys(long nr, long a, long b, long c, long d, long e, long f) {
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory");
  return x0;
}
#else
#include <unistd.h>
/* Elsewhere the C library's syscall(), which a program could replace:
 * there the protection is only as strong as the library's. */
static inline long wb_sys(long nr, long a, long b, long c, long d, long e, long f) {
  return syscall(nr, a, b, c, d, e, f);
}
#endif

/* CLOCK_MONOTONIC in milliseconds, from the kernel itself. */
static inline double wb_sys_now_ms(void) {
  struct timespec ts = {0, 0};
  wb_sys(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0, 0, 0);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

#endif /* WB_SYS_H */
