/* wb_trace_prog.c - how a chapter program records its loop: the other half
 * of the linker's --wrap of main, ev_run, ev_loop_destroy, ev_once,
 * ev_timer_again and every ev_TYPE_start/stop (TRACE_WRAPS in the
 * Makefile). main takes `--trace FILE` (or WB_TRACE=FILE) out of the
 * program's arguments, turns the recorder on and writes the trace at exit.
 * While the recorder is off each wrapper costs one predictable branch.
 */
#define _GNU_SOURCE
#include "wb_lag.h"
#include "wb_trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The watcher types whose start and stop are wrapped (the same list as
 * the tests', grader/support/wbtest_internal.h). */
#define TYPES(X)                                                               \
  X(io) X(timer) X(periodic) X(signal) X(child) X(stat) X(idle) X(prepare)    \
      X(check) X(async)

typedef void (*watcher_cb)(struct ev_loop *, ev_watcher *, int);

/* Every recorded watcher's callback goes through here, so each call can be
 * timed and named; the table keeps the watcher's own callback. */
static void trampoline(struct ev_loop *loop, ev_watcher *w, int revents) {
  watcher_cb cb = (watcher_cb)wb__trace_call_begin(w, WB_TRACE_NKINDS, NULL,
                                                   ev_is_active(w));
  /* NULL only if the recorder was stopped and the watcher's loop had been
   * destroyed before: its callback is not known any more. */
  if (cb)
    cb(loop, w, revents);
  wb__trace_call_end();
}

static void watch(struct ev_loop *loop, ev_watcher *w, enum wb_trace_kind kind) {
  int fd;
  double after;
  if (!ev_is_active(w) || wb_trace_owns(w) || wb_lag_owns(w))
    return; /* the instruments' own watchers */
  wb__trace_details(loop, w, kind, &fd, &after);
  if (wb__trace_watch(loop, w, kind, (wb_trace_fn)w->cb, fd, after))
    w->cb = trampoline;
}

#define X(type)                                                                \
  void __real_ev_##type##_start(struct ev_loop *, ev_##type *);               \
  void __real_ev_##type##_stop(struct ev_loop *, ev_##type *);                \
  void __wrap_ev_##type##_start(struct ev_loop *loop, ev_##type *w);          \
  void __wrap_ev_##type##_start(struct ev_loop *loop, ev_##type *w) {         \
    __real_ev_##type##_start(loop, w);                                         \
    if (__builtin_expect(wb__trace_on, 0))                                     \
      watch(loop, (ev_watcher *)w, WB_TRACE_##type);                           \
  }                                                                            \
  void __wrap_ev_##type##_stop(struct ev_loop *loop, ev_##type *w);           \
  void __wrap_ev_##type##_stop(struct ev_loop *loop, ev_##type *w) {          \
    if (__builtin_expect(wb__trace_on, 0))                                     \
      wb__trace_unwatch(w);                                                    \
    __real_ev_##type##_stop(loop, w);                                          \
  }
TYPES(X)
#undef X

/* ev_timer_again may start a stopped repeating timer, or stop one. */
void __real_ev_timer_again(struct ev_loop *loop, ev_timer *w);
void __wrap_ev_timer_again(struct ev_loop *loop, ev_timer *w);
void __wrap_ev_timer_again(struct ev_loop *loop, ev_timer *w) {
  __real_ev_timer_again(loop, w);
  if (__builtin_expect(wb__trace_on, 0)) {
    if (ev_is_active(w))
      watch(loop, (ev_watcher *)w, WB_TRACE_timer);
    else
      wb__trace_unwatch(w);
  }
}

/* ev_once starts its ev_io and ev_timer inside libev, past the wrappers:
 * the call is recorded as a whole, with a slot of its own that libev hands
 * back to once_trampoline. With no slot free it just is not recorded. */
#define MAX_ONCE 256
typedef void (*once_cb)(int revents, void *arg);
static struct once {
  int used; /* claimed atomically: any thread may call ev_once */
  once_cb cb;
  void *arg;
} onces[MAX_ONCE];

static void once_trampoline(int revents, void *slot) {
  struct once *o = slot;
  once_cb cb = o->cb;
  void *arg = o->arg;
  wb__trace_call_begin(o, WB_TRACE_once, (wb_trace_fn)cb, 0);
  /* Free before the call, which may ask for another ev_once. */
  __atomic_store_n(&o->used, 0, __ATOMIC_RELEASE);
  cb(revents, arg);
  wb__trace_call_end();
}

void __real_ev_once(struct ev_loop *loop, int fd, int events, ev_tstamp timeout,
                    once_cb cb, void *arg);
void __wrap_ev_once(struct ev_loop *loop, int fd, int events, ev_tstamp timeout,
                    once_cb cb, void *arg);
void __wrap_ev_once(struct ev_loop *loop, int fd, int events, ev_tstamp timeout,
                    once_cb cb, void *arg) {
  struct once *o = NULL;
  /* With neither a descriptor nor a timeout libev starts nothing. */
  if (__builtin_expect(wb__trace_on, 0) && (fd >= 0 || timeout >= 0))
    for (int i = 0; i < MAX_ONCE && !o; i++) {
      int free_ = 0;
      if (__atomic_compare_exchange_n(&onces[i].used, &free_, 1, 0,
                                      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        o = &onces[i];
    }
  if (!o) {
    __real_ev_once(loop, fd, events, timeout, cb, arg);
    return;
  }
  o->cb = cb;
  o->arg = arg;
  wb__trace_watch(loop, o, WB_TRACE_once, (wb_trace_fn)cb, fd, timeout);
  __real_ev_once(loop, fd, events, timeout, once_trampoline, o);
}

/* When ev_run returns, the callbacks it ran are over: what the program
 * does next, outside the loop, is not a phase of it. */
int __real_ev_run(struct ev_loop *loop, int flags);
int __wrap_ev_run(struct ev_loop *loop, int flags);
int __wrap_ev_run(struct ev_loop *loop, int flags) {
  if (__builtin_expect(wb__trace_on, 0))
    wb_trace_loop(loop); /* a loop with no watcher of its own yet */
  int r = __real_ev_run(loop, flags);
  if (__builtin_expect(wb__trace_on, 0))
    wb__trace_loop_idle(loop);
  return r;
}

void __real_ev_loop_destroy(struct ev_loop *loop);
void __wrap_ev_loop_destroy(struct ev_loop *loop);
void __wrap_ev_loop_destroy(struct ev_loop *loop) {
  if (__builtin_expect(wb__trace_on, 0))
    wb__trace_loop_gone(loop);
  __real_ev_loop_destroy(loop);
}

/* ---- main ---------------------------------------------------------------------- */

static const char *trace_path;
static const char *prog_name;

static void write_at_exit(void) {
  int err = wb_trace_write();
  if (err < 0) {
    fprintf(stderr, "%s: could not write the trace to %s: %s\n", prog_name,
            trace_path, strerror(-err));
    return;
  }
  unsigned long dropped = wb_trace_dropped();
  fprintf(stderr, "%s: trace written to %s (draw it: build/grader timeline %s)\n",
          prog_name, trace_path, trace_path);
  if (dropped)
    fprintf(stderr, "%s: the oldest %lu events were dropped to keep memory "
                    "bounded; WB_TRACE_EVENTS=N keeps the last N (now %d "
                    "by default)\n",
            prog_name, dropped, (int)WB_TRACE_EVENTS_DEFAULT);
}

int __real_main(int argc, char **argv);
int __wrap_main(int argc, char **argv);
int __wrap_main(int argc, char **argv) {
  const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
  prog_name = slash ? slash + 1 : argc > 0 ? argv[0] : "program";
  trace_path = getenv("WB_TRACE");
  /* Not handed down: a program this one starts would write over it. */
  unsetenv("WB_TRACE");
  int n = argc > 0 ? 1 : 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--trace")) {
      if (i + 1 == argc) {
        fprintf(stderr, "%s: --trace needs a file name: --trace FILE.json\n",
                prog_name);
        return 2;
      }
      trace_path = argv[++i];
    } else if (!strncmp(argv[i], "--trace=", 8)) {
      trace_path = argv[i] + 8;
    } else {
      argv[n++] = argv[i];
    }
  }
  if (argc > 0)
    argv[n] = NULL;
  if (trace_path && *trace_path) {
    char command[512];
    size_t used = (size_t)snprintf(command, sizeof command, "%s", prog_name);
    for (int i = 1; i < n && used < sizeof command; i++)
      used += (size_t)snprintf(command + used, sizeof command - used, " %s", argv[i]);
    int err = wb_trace_start(trace_path, 0);
    if (err < 0) {
      fprintf(stderr, "%s: cannot record a trace: %s; running without it\n",
              prog_name, strerror(-err));
    } else {
      wb__trace_set_command(command);
      wb__trace_set_trampoline(trampoline);
      atexit(write_at_exit);
    }
  }
  return __real_main(n, argv);
}
