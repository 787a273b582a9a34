/* expect: score 0, report "already has: yours would replace it" */
#define _GNU_SOURCE
/* Blocks the loop with usleep, like blocking-sleep, and defines
 * clock_gettime() (which wins over the C library's for the whole program)
 * to hide the time slept, so that a loop measured with it looks idle.
 * (Refused when compiled now, for defining clock_gettime(); the support
 * library's clock also comes straight from the kernel.)
 */
#include "async_sleep.h"
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static long long slept_ns;
int clock_gettime(clockid_t id, struct timespec *ts) {
  long r = syscall(SYS_clock_gettime, id, ts);
  long long ns = (long long)ts->tv_sec * 1000000000 + ts->tv_nsec - slept_ns;
  ts->tv_sec = ns / 1000000000;
  ts->tv_nsec = ns % 1000000000;
  return (int)r;
}
struct s { ev_timer t; async_sleep_cb cb; void *arg; unsigned ms; };
static void wake(struct ev_loop *loop, ev_timer *w, int revents) {
  struct s *s = (struct s *)w;
  (void)revents;
  usleep(s->ms * 1000);
  slept_ns += (long long)s->ms * 1000000;
  s->cb(loop, s->arg);
  free(s);
}
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  struct s *s = malloc(sizeof *s);
  s->cb = cb, s->arg = arg, s->ms = ms;
  ev_timer_init(&s->t, wake, 0., 0.);
  ev_timer_start(loop, &s->t);
  return 0;
}
