/* wraps.c - the other half of the linker's --wrap=ev_TYPE_start/stop (and
 * ev_timer_again, ev_once): each wrapper records the watcher in the support
 * library's registry and calls libev's real function. Calls from the
 * learner's object files land here, and so do the learner's allocations
 * (wb__learner_malloc and friends), which a test can make fail.
 */
#define _DEFAULT_SOURCE /* strdup, strndup */
#include "wbtest_internal.h"

#include <stddef.h>

/* A timer counts from the loop's cached time. Between two runs of the
 * loop that time stands still while the test's own code goes on, so a
 * timer started from the test body would count from a moment already
 * past and fire early by the test's clock (a correct program then looks
 * "too soon" on a busy machine). Outside ev_run, the cached time is
 * brought up to date first, once for each stretch of code between runs
 * (and again after a fixture that takes time, such as starting a server:
 * wb__now_stale); inside, it is left alone, so that timers started in one
 * callback keep one base and fire in one iteration. */
static struct ev_loop *fresh_loop; /* the stretch last brought up to date: */
static unsigned fresh_iteration;   /* its loop and iteration count */
static int fresh_valid;

static void fresh_now(struct ev_loop *loop) {
  if (ev_depth(loop) != 0)
    return;
  /* Once per stretch between runs: watchers started together (several
   * timers in one call) share one base, as inside a callback, so that on a
   * busy machine a 40 ms timer started after a 60 ms one still fires first. */
  unsigned it = ev_iteration(loop);
  if (fresh_valid && fresh_loop == loop && fresh_iteration == it)
    return;
  ev_now_update(loop);
  fresh_loop = loop;
  fresh_iteration = it;
  fresh_valid = 1;
}

void wb__now_stale(void) { fresh_valid = 0; }

#define X(type)                                                                \
  void __wrap_ev_##type##_start(struct ev_loop *loop, ev_##type *w);          \
  void __wrap_ev_##type##_start(struct ev_loop *loop, ev_##type *w) {         \
    fresh_now(loop);                                                           \
    __real_ev_##type##_start(loop, w);                                         \
    wb__track(loop, (ev_watcher *)w, WB_KIND_##type);                          \
  }                                                                            \
  void __wrap_ev_##type##_stop(struct ev_loop *loop, ev_##type *w);           \
  void __wrap_ev_##type##_stop(struct ev_loop *loop, ev_##type *w) {          \
    wb__untrack((ev_watcher *)w);                                              \
    __real_ev_##type##_stop(loop, w);                                          \
  }
WB_WATCHER_TYPES(X)
#undef X

/* ev_timer_again may start a stopped repeating timer, or stop one. */
void __real_ev_timer_again(struct ev_loop *loop, ev_timer *w);
void __wrap_ev_timer_again(struct ev_loop *loop, ev_timer *w);
void __wrap_ev_timer_again(struct ev_loop *loop, ev_timer *w) {
  fresh_now(loop);
  __real_ev_timer_again(loop, w);
  if (ev_is_active(w))
    wb__track(loop, (ev_watcher *)w, WB_KIND_timer);
  else
    wb__untrack((ev_watcher *)w);
}

/* ev_once's own ev_io and ev_timer are started inside libev, where no
 * wrapper sees them: the call as a whole is recorded instead. */
void __wrap_ev_once(struct ev_loop *loop, int fd, int events,
                    ev_tstamp timeout, wb_once_cb_t cb, void *arg);
void __wrap_ev_once(struct ev_loop *loop, int fd, int events,
                    ev_tstamp timeout, wb_once_cb_t cb, void *arg) {
  fresh_now(loop);
  wb__once(loop, fd, events, timeout, cb, arg);
}

/* The learner's allocations: the grader renames the learner's calls of
 * malloc and friends to these (objcopy --redefine-sym), so each counts, and
 * the one wb_fail_alloc picked returns NULL as if memory had run out
 * (errno ENOMEM, like the C library). Nothing else calls them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define X(fn) __typeof__(fn) wb__learner_##fn;
WB_ALLOC_FUNCS(X)
#undef X

#define FAIL_OR(call)                                                          \
  do {                                                                         \
    if (wb__alloc_fails()) {                                                   \
      errno = ENOMEM;                                                          \
      return NULL;                                                             \
    }                                                                          \
    return call;                                                               \
  } while (0)

void *wb__learner_malloc(size_t n) { FAIL_OR(malloc(n)); }
void *wb__learner_calloc(size_t n, size_t size) { FAIL_OR(calloc(n, size)); }
void *wb__learner_realloc(void *p, size_t n) { FAIL_OR(realloc(p, n)); }
char *wb__learner_strdup(const char *s) { FAIL_OR(strdup(s)); }
char *wb__learner_strndup(const char *s, size_t n) { FAIL_OR(strndup(s, n)); }
