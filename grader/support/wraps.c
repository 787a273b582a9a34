/* wraps.c - the other half of the linker's --wrap=ev_TYPE_start/stop (and
 * ev_timer_again, ev_once): each wrapper records the watcher in the support
 * library's registry and calls libev's real function. Calls from the
 * learner's object files land here.
 */
#include "wbtest_internal.h"

#include <stddef.h>

#define X(type)                                                                \
  void __wrap_ev_##type##_start(struct ev_loop *loop, ev_##type *w);          \
  void __wrap_ev_##type##_start(struct ev_loop *loop, ev_##type *w) {         \
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
  wb__once(loop, fd, events, timeout, cb, arg);
}

/* Allocations: each counts, and the one wb_fail_alloc picked returns NULL
 * as if memory had run out (errno ENOMEM, like the C library). */
#include <errno.h>
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

#define FAIL_OR(call)                                                          \
  do {                                                                         \
    if (wb__alloc_fails()) {                                                   \
      errno = ENOMEM;                                                          \
      return NULL;                                                             \
    }                                                                          \
    return call;                                                               \
  } while (0)

void *__wrap_malloc(size_t n) { FAIL_OR(__real_malloc(n)); }
void *__wrap_calloc(size_t n, size_t size) { FAIL_OR(__real_calloc(n, size)); }
void *__wrap_realloc(void *p, size_t n) { FAIL_OR(__real_realloc(p, n)); }
char *__wrap_strdup(const char *s) { FAIL_OR(__real_strdup(s)); }
char *__wrap_strndup(const char *s, size_t n) { FAIL_OR(__real_strndup(s, n)); }
