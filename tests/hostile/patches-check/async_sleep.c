/* expect: score 0, report "calls mprotect(), which the exercises never need" */
#define _GNU_SOURCE
/* Rewrites Check's tr_rtype() (which the runner asks for the verdict) to
 * return CK_PASS, and claims the test body ran to its end by calling the
 * support library's wb__body_done() itself. The runner counts only the
 * call that comes from the test's own wrapper, after its body.
 * (Refused when compiled now, for calling mprotect(); the runner also
 * judges from its own copy of the table and the wrapper's own call.)
 */
#include "async_sleep.h"
#include <check.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
void wb__body_done(void);
__attribute__((constructor)) static void patch(void) {
#if defined(__x86_64__)
  unsigned char *f = (unsigned char *)(void *)tr_rtype;
  uintptr_t pg = (uintptr_t)f & ~(uintptr_t)4095;
  mprotect((void *)pg, 8192, PROT_READ | PROT_WRITE | PROT_EXEC);
  memcpy(f, "\xb8\x01\x00\x00\x00\xc3", 6); /* mov eax, CK_PASS; ret */
  mprotect((void *)pg, 8192, PROT_READ | PROT_EXEC);
#endif
}
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  wb__body_done();
  return -1;
}
