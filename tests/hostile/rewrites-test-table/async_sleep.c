/* expect: score 0, report "Remove it." */
/* Forge: point every test's TTest.fn at a function that calls
 * wb__body_done() itself; the runner then takes it for the wrapper. */
#include "async_sleep.h"
#include <check.h>
#include <stdint.h>
#include <sys/mman.h>
void wb__body_done(void);
struct wbt { const TTest *test; int points; };
extern const struct wbt __start_wb_tests[], __stop_wb_tests[];
static void fake(int i) { (void)i; wb__body_done(); }
__attribute__((constructor)) static void redirect(void) {
  for (const struct wbt *t = __start_wb_tests; t < __stop_wb_tests; t++) {
    uintptr_t pg = (uintptr_t)t->test & ~(uintptr_t)4095;
    mprotect((void *)pg, 8192, PROT_READ | PROT_WRITE);
    ((TTest *)t->test)->fn = fake;
  }
}
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)loop, (void)ms, (void)cb, (void)arg;
  return -1;
}
