/* wbtest.h - the small support library that every exercise test shares.
 *
 * Tests are ordinary Check tests declared with WB_TEST (which also declares
 * their points). The grader runs each one in its own process; this library
 * gives that process a fresh loop with a lag probe, a bounded run that
 * explains hangs, call-count and leak checks, and the local HTTP server.
 */
#ifndef WBTEST_H
#define WBTEST_H

#include <check.h>
#include <ev.h>

/* ---- Declaring tests --------------------------------------------------- */

struct wb_test {
  const TTest *test; /* ro: Check's descriptor (name, function, line) */
  int points;        /* ro: what the test is worth when it passes */
};

/* WB_TEST(name, points) { body } END_TEST
 * declares a Check test worth `points` and registers it with the runner.
 * Registration is data in the "wb_tests" section: no table to keep in step,
 * and the grader reads the same declaration from the source to know the
 * points even when the learner's file does not compile. */
#define WB_TEST(name, pts)                                                     \
  static void name##_body(void) __attribute__((noinline));                     \
  static void name##_fn(int _i CK_ATTRIBUTE_UNUSED) {                          \
    name##_body();                                                             \
    wb__body_done(); /* not reached when a check fails */                      \
    __asm__ volatile("" ::: "memory"); /* a call, never a tail jump */         \
  }                                                                            \
  static const TTest name##_ttest = {"" #name, name##_fn, __FILE__, __LINE__}; \
  static const struct wb_test name##_wb                                        \
      __attribute__((used, section("wb_tests"), aligned(8))) = {               \
          &name##_ttest, (pts)};                                               \
  static void name##_body(void)

/* Called by WB_TEST once a test's body ran to its end (runner.c): a test
 * passes only if Check says so and its body got there. */
void wb__body_done(void);

/* ---- The loop fixture -------------------------------------------------- */

/* The fresh loop of the running test. The runner creates it before the test
 * body (with the lag probe attached) and destroys it afterwards; a test never
 * shares a loop with another test. It is a loop of its own, not libev's
 * default loop (so code that uses the default loop instead of the one it was
 * given is caught), unless the test file says WB_DEFAULT_LOOP; at file
 * level: then it is the default loop, the only one that can run ev_child
 * watchers (each test is a process of its own, so it is still fresh). */
struct ev_loop *wb_loop(void);
#define WB_DEFAULT_LOOP const int wb__default_loop_wanted = 1
extern const int wb__default_loop_wanted __attribute__((weak));

/* Runs `loop` until it has nothing left to do, or at most `ms` milliseconds.
 * When the deadline passes the test fails with "the loop did not finish
 * within N ms" followed by the watchers that were still active. */
#define wb_run(loop, ms) wb__run(loop, ms, __FILE__, __LINE__)
void wb__run(struct ev_loop *loop, unsigned ms, const char *file, int line);

/* Milliseconds since the test body started (monotonic). */
double wb_elapsed_ms(void);

/* ---- The lag probe ----------------------------------------------------- */

/* The longest stretch, in milliseconds, that the test's loop spent running
 * callbacks in one go: measured between libev's check phase (a check
 * watcher at EV_MAXPRI, the first thing run after polling) and the next
 * prepare phase, and at loop exit. While it lasts nothing else can run. */
double wb_lag_max_ms(void);

/* Fails the test when a callback ran longer than `ms` in one go, naming the
 * callback that did it ("on_tick, an ev_timer callback, ran for 212 ms"). */
#define wb_assert_no_block(ms) wb__assert_no_block(ms, __FILE__, __LINE__)
void wb__assert_no_block(unsigned ms, const char *file, int line);

/* ---- Calls, overlap and leaks ------------------------------------------ */

/* Fails with a learner-facing message unless `calls` equals `want`.
 * `what` names the callback ("the done callback"). A zero count adds
 * "was the watcher started?", a higher count "was it stopped?". */
#define wb_assert_calls(calls, want, what) wb__assert_calls(calls, want, what, __FILE__, __LINE__)
void wb__assert_calls(int calls, int want, const char *what, const char *file, int line);

/* Fails unless `n` jobs of `each_ms` milliseconds, which should overlap,
 * finished in `elapsed_ms`: the bound is generous (the longest job plus
 * half of the rest) so a busy machine does not fail a correct program,
 * while jobs run one after another always exceed it. */
#define wb_assert_overlap(elapsed_ms, each_ms, n) wb__assert_overlap(elapsed_ms, each_ms, n, __FILE__, __LINE__)
void wb__assert_overlap(double elapsed_ms, double each_ms, int n, const char *file, int line);

/* Number of open file descriptors of this process right now. */
int wb_fd_count(void);

/* Fails when descriptors or started watchers are still open compared with
 * the start of the test, listing them ("an ev_io on fd 7 was never
 * stopped", "descriptor 7 (socket) was left open"). */
#define wb_assert_no_leaks() wb__assert_no_leaks(__FILE__, __LINE__)
void wb__assert_no_leaks(const char *file, int line);

/* Number of watchers that the code under test started and that are still
 * active on `loop`; an ev_once that has not fired yet counts as one. */
int wb_active_watchers(struct ev_loop *loop);

/* ---- Running out of memory --------------------------------------------- */

/* Makes the learner's `n`-th allocation from now (1 = the next one) fail as
 * if memory had run out: malloc, calloc, realloc, strdup or strndup returns
 * NULL. Only that one fails; 0 turns it off. Counted are the calls in the
 * learner's own file (the grader routes them here), on the test's thread:
 * not the test's, not Check's, not those inside libraries (libcurl,
 * jansson, libc). */
void wb_fail_alloc(unsigned n);

/* Allocations counted since the last wb_fail_alloc (or the test's start). */
unsigned wb_allocs(void);

/* The usual way to use both: for n = 1, 2, ... make the n-th allocation of
 * a call fail, until a call made no more than n-1 allocations:
 *
 *   for (unsigned n = 1;; n++) {
 *     wb_fail_alloc(n);
 *     int rc = f(...);
 *     unsigned used = wb_allocs();
 *     wb_fail_alloc(0);
 *     ... check rc and what follows ...
 *     if (used < n) break;   // nothing failed: every case was tried
 *   }
 */

/* ---- The local HTTP server --------------------------------------------- */

/* "http://127.0.0.1:PORT" + path, for the workbook's HTTP server, which is
 * started (in a thread of this test process, on its own loop) on first use
 * and stopped after the test. The string stays valid until the test ends.
 * Endpoints: see server/wb_server.h. */
const char *wb_server_url(const char *path);

/* How many requests the server has answered so far in this test. */
unsigned wb_server_requests(void);

/* The most connections the server had open at once so far in this test: a
 * fact that says how many requests really were in flight together. */
unsigned wb_server_most_in_flight(void);

/* ---- Redis --------------------------------------------------------------- */

/* The Unix socket path of a private redis-server for this test (hiredis:
 * redisAsyncConnectUnix), started on first use in the test's /tmp with
 * nothing saved to disk, and stopped when the test ends. It is a child
 * process: its descriptors never count as the learner's. The string stays
 * valid until the test ends. Starting it takes a few tens of milliseconds. */
const char *wb_redis_path(void);

/* How many clients are connected to that server right now, by its own
 * count (INFO clients), leaving out the connection this call makes to ask.
 * A connection closed just before is not counted. Blocking, a few ms. */
int wb_redis_clients(void);

/* Makes the server close every client's connection (CLIENT KILL), as when
 * a server goes away; returns how many it closed. Blocking, a few ms. */
int wb_redis_drop_clients(void);

#endif /* WBTEST_H */
