/* wbtest_internal.h - what the support library's own files share: the list
 * of watcher types the registry follows, the linker-wrapped libev entry
 * points, and the hooks the runner calls around each test. Not for tests.
 */
#ifndef WBTEST_INTERNAL_H
#define WBTEST_INTERNAL_H

#include <ev.h>
#include <stddef.h>

/* Descriptors above this are not looked at by the leak check. */
#define WB_MAX_FD 1024

/* Every watcher type whose start and stop the test binaries wrap. Adding a
 * type here adds its wrappers and its --wrap flags (see wraps.c and the
 * grader's link line, which read the same list). */
#define WB_WATCHER_TYPES(X)                                                    \
  X(io) X(timer) X(periodic) X(signal) X(child) X(stat) X(idle) X(prepare)    \
      X(check) X(async)

/* The C library's allocation functions whose calls in the learner's file
 * the grader routes to wb__learner_FN (wraps.c), so that a test can make
 * the learner's code run out of memory (wb_fail_alloc). */
#define WB_ALLOC_FUNCS(X) X(malloc) X(calloc) X(realloc) X(strdup) X(strndup)

/* Whether the learner's allocation being made now is the one a test asked
 * to fail; counts it either way (wbtest.c). */
int wb__alloc_fails(void);

enum wb_kind {
#define X(type) WB_KIND_##type,
  WB_WATCHER_TYPES(X)
#undef X
  WB_KIND_once /* ev_once, wrapped as a whole: see below */
};

/* The real libev functions, for the support library's own watchers, which
 * must not show up as the learner's. */
#define X(type)                                                                \
  void __real_ev_##type##_start(struct ev_loop *, ev_##type *);               \
  void __real_ev_##type##_stop(struct ev_loop *, ev_##type *);
WB_WATCHER_TYPES(X)
#undef X

/* ev_once starts an ev_io and an ev_timer from inside libev, past the
 * wrappers of their start functions, so it is wrapped itself (wraps.c;
 * the grader links with --wrap=ev_once too). wb__once records it and calls
 * libev's ev_once with a callback of its own that times the learner's. */
typedef void (*wb_once_cb_t)(int revents, void *arg);
void __real_ev_once(struct ev_loop *loop, int fd, int events,
                    ev_tstamp timeout, wb_once_cb_t cb, void *arg);
void wb__once(struct ev_loop *loop, int fd, int events, ev_tstamp timeout,
              wb_once_cb_t cb, void *arg);

void wb__track(struct ev_loop *loop, ev_watcher *w, enum wb_kind kind);
/* The next watcher started outside ev_run brings the loop's cached time up
 * to date again (wraps.c): after a fixture that took time. */
void wb__now_stale(void);
/* Ends the test as "could not grade": a fixture failed (runner.c). */
void wb__grader_fault(const char *msg) __attribute__((noreturn));
/* Stops the test's redis-server, if it started one (wbredis.c). */
void wb__redis_end(void);
void wb__untrack(ev_watcher *w);
void wb__trampoline(struct ev_loop *loop, ev_watcher *w, int revents);

/* Where a message about a blocked loop, work that did not overlap, or a
 * hang says which picture shows the run: the grader puts the picture's
 * path there (check --timeline), or the command that draws it. */
#define WB_TIMELINE_MARK " {timeline}"

/* The events a test's recorder keeps (wb_trace.h), when the grader asks
 * for its timeline: about 1 MiB, and at most a few MiB of output. */
#define WB_TEST_TRACE_EVENTS 16384

/* Around each test body: fresh loop, probe, baselines; then teardown. */
void wb__test_begin(void);
void wb__test_end(void);

/* A sentence on where a test that ran out of time was stuck. */
int wb__describe_stuck(char *buf, size_t len);

#endif /* WBTEST_INTERNAL_H */
