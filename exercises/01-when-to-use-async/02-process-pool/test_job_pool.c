/* test_job_pool.c - the tests of exercise 01.2 and their points.
 * The jobs run in worker processes and note what they saw in memory shared
 * with the test: how many workers were alive at once, in which order the
 * inputs started and finished. Each job first waits for a "go" byte that
 * the loop writes: it gets it only if the loop runs while workers work.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS */
#include "job_pool.h"
#include "wbtest.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

WB_DEFAULT_LOOP; /* ev_child works on libev's default loop only */

#define MAX_N 16
#define STALLED 0x57a11ed /* what a job returns when it never got the go */

/* What the workers saw (shared memory). */
static struct facts {
  int live, most, nstarted, nfinished;
  long started[MAX_N], finished[MAX_N]; /* inputs, in order */
} *facts;

/* What done saw. */
static int done_calls = 0;
static size_t done_n = 99;
static int done_null = -1;
static struct pool_result got[MAX_N];

static int go[2] = {-1, -1};
static int fds_before;
static ev_timer go_timer;
static int go_bytes;

static void on_done(struct ev_loop *loop, const struct pool_result *results,
                    size_t n, void *arg) {
  (void)loop, (void)arg;
  done_calls++;
  done_n = n;
  done_null = results == NULL;
  for (size_t i = 0; results && i < n && i < MAX_N; i++)
    got[i] = results[i];
}

/* ---- The job (it runs in a worker) --------------------------------------- */

static int got_go(void) {
  struct pollfd p = {.fd = go[0], .events = POLLIN};
  char c;
  return poll(&p, 1, 500) == 1 && read(go[0], &c, 1) == 1;
}

/* Sleeps `input` ms (a negative input aborts instead) and returns input*2. */
static long job(long input) {
  if (!got_go())
    return STALLED;
  int live = __atomic_add_fetch(&facts->live, 1, __ATOMIC_SEQ_CST);
  int most = __atomic_load_n(&facts->most, __ATOMIC_SEQ_CST);
  while (live > most && !__atomic_compare_exchange_n(&facts->most, &most, live,
                                                     0, __ATOMIC_SEQ_CST,
                                                     __ATOMIC_SEQ_CST))
    ;
  int k = __atomic_fetch_add(&facts->nstarted, 1, __ATOMIC_SEQ_CST);
  if (k < MAX_N)
    facts->started[k] = input;
  if (input < 0) {
    __atomic_sub_fetch(&facts->live, 1, __ATOMIC_SEQ_CST);
    abort();
  }
  struct timespec ts = {0, input * 1000000L};
  nanosleep(&ts, NULL);
  k = __atomic_fetch_add(&facts->nfinished, 1, __ATOMIC_SEQ_CST);
  if (k < MAX_N)
    facts->finished[k] = input;
  __atomic_sub_fetch(&facts->live, 1, __ATOMIC_SEQ_CST);
  return input * 2;
}

/* ---- Helpers ---------------------------------------------------------------- */

static void go_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  static const char bytes[MAX_N];
  (void)loop, (void)w, (void)revents;
  ssize_t n = write(go[1], bytes, (size_t)go_bytes);
  (void)n;
}

static void setup(void) {
  facts = mmap(NULL, sizeof *facts, PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ck_assert(facts != MAP_FAILED);
  ck_assert(pipe(go) == 0);
  fds_before = wb_fd_count();
}

/* Starts the pool over `inputs`; the loop writes one go byte per input. */
static void map(const long *inputs, size_t n, unsigned max_workers) {
  int rc = pool_map(wb_loop(), job, inputs, n, max_workers, on_done, NULL);
  ck_assert_msg(rc == 0,
                "pool_map returned %d for %zu input%s and %u workers; it "
                "must return 0 once the pool is started",
                rc, n, n == 1 ? "" : "s", max_workers);
  ck_assert_msg(done_calls == 0,
                "done was called before pool_map returned: it must come from "
                "the loop, after the last worker is over");
  ck_assert_msg(n == 0 || waitpid(-1, NULL, WNOHANG) == 0,
                "when pool_map returned, no worker was running: start the "
                "first min(max_workers, n) workers in pool_map itself");
  go_bytes = (int)n;
  ev_timer_init(&go_timer, go_cb, 0., 0.);
  ev_timer_start(wb_loop(), &go_timer);
}

/* done once with n results; each ok with value input*2, unless negative. */
static void check_results(const long *inputs, size_t n) {
  wb_assert_calls(done_calls, 1, "the done callback");
  ck_assert_msg(done_n == n, "done got n = %zu; expected %zu", done_n, n);
  for (size_t i = 0; i < n; i++) {
    if (inputs[i] < 0)
      continue;
    ck_assert_msg(got[i].value != STALLED,
                  "the job of input %zu waited half a second for something "
                  "the loop had to do meanwhile, and the loop never did it: "
                  "did pool_map (or a callback) wait for a worker? Start the "
                  "workers and return; the loop does the waiting",
                  i);
    ck_assert_msg(got[i].ok == 1,
                  "results[%zu] says ok 0 (wait status %d), but its job "
                  "returned and its worker exited with status 0",
                  i, got[i].wait_status);
    ck_assert_msg(got[i].value == inputs[i] * 2,
                  "results[%zu].value is %ld, but fn(inputs[%zu]) returned "
                  "%ld: results[i] belongs to inputs[i], whatever order the "
                  "workers finish in",
                  i, got[i].value, i, inputs[i] * 2);
  }
}

static void check_most(unsigned want, unsigned max_workers) {
  ck_assert_msg(facts->most <= (int)max_workers,
                "%d workers were alive at the same time; max_workers is %u: "
                "start a queued input only when a worker is over",
                facts->most, max_workers);
  ck_assert_msg(facts->most == (int)want,
                "at most %d worker%s alive at the same time; with %u "
                "allowed, %u should have been: start min(max_workers, n) "
                "workers in pool_map, and the next one as soon as one is "
                "over",
                facts->most, facts->most == 1 ? " was" : "s were",
                max_workers, want);
}

/* Every test ends here: no worker, descriptor or watcher left behind. */
static void finish(void) {
  ck_assert_msg(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD,
                "a worker process was left behind after the loop ended: "
                "wait for every worker with an ev_child watcher");
  close(go[0]), close(go[1]);
  wb_assert_no_block(100);
  wb_assert_no_leaks();
}

/* ---- Tests ------------------------------------------------------------------- */

WB_TEST(results_land_in_input_order, 3) {
  static const long inputs[] = {120, 20, 80, 10, 50};
  setup();
  map(inputs, 5, 2);
  wb_run(wb_loop(), 1500);
  check_results(inputs, 5);
  check_most(2, 2);
  finish();
}
END_TEST

WB_TEST(never_more_than_max_workers, 3) {
  static const long inputs[] = {60, 60, 60, 60, 60, 60, 60};
  setup();
  map(inputs, 7, 3);
  wb_run(wb_loop(), 1500);
  check_results(inputs, 7);
  check_most(3, 3);
  finish();
}
END_TEST

WB_TEST(a_free_place_takes_the_next_input, 2) {
  static const long inputs[] = {300, 10, 11, 12, 13};
  setup();
  map(inputs, 5, 2);
  wb_run(wb_loop(), 1500);
  check_results(inputs, 5);
  /* The first two start together, so either may note itself first. */
  int first_two = (facts->started[0] == 300 && facts->started[1] == 10) ||
                  (facts->started[0] == 10 && facts->started[1] == 300);
  ck_assert_msg(first_two && facts->started[2] == 11 &&
                    facts->started[3] == 12 && facts->started[4] == 13,
                "the inputs started in the order %ld, %ld, %ld, %ld, %ld "
                "(their sleep in ms); the queue must start them in their "
                "order: 300 and 10 first, then 11, 12, 13",
                facts->started[0], facts->started[1], facts->started[2],
                facts->started[3], facts->started[4]);
  ck_assert_msg(facts->finished[4] == 300,
                "with 2 workers, the 300 ms job should still be running "
                "while the four short ones go through the other place one "
                "after another; but it finished before the %ld ms one: "
                "start the next input as soon as ANY worker is over, not "
                "when the whole batch is",
                facts->finished[4]);
  finish();
}
END_TEST

WB_TEST(crashed_worker_is_reported_and_the_rest_run, 2) {
  static const long inputs[] = {40, -1, 40, 40};
  setup();
  map(inputs, 4, 2);
  wb_run(wb_loop(), 1500);
  check_results(inputs, 4);
  int st = got[1].wait_status;
  ck_assert_msg(got[1].ok == 0 && got[1].value == 0,
                "the worker of input 1 was killed by SIGABRT, yet its result "
                "says ok %d, value %ld; expected ok 0, value 0",
                got[1].ok, got[1].value);
  ck_assert_msg(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
                "the worker of input 1 was killed by SIGABRT, but its "
                "wait_status %d does not say so: store what ev_child "
                "reports (w->rstatus)",
                st);
  check_most(2, 2);
  finish();
}
END_TEST

WB_TEST(more_workers_than_inputs, 1) {
  static const long inputs[] = {50, 50, 50};
  setup();
  map(inputs, 3, 8);
  wb_run(wb_loop(), 1500);
  check_results(inputs, 3);
  check_most(3, 8);
  finish();
}
END_TEST

WB_TEST(no_inputs_done_comes_later, 1) {
  setup();
  map(NULL, 0, 2);
  wb_run(wb_loop(), 1000);
  wb_assert_calls(done_calls, 1, "the done callback");
  ck_assert_msg(done_n == 0 && done_null == 1,
                "with no inputs, done must get results NULL and n 0; it got "
                "%s and n %zu",
                done_null ? "NULL" : "an array", done_n);
  finish();
}
END_TEST

WB_TEST(zero_workers_is_refused, 1) {
  static const long inputs[] = {20, 20};
  setup();
  int rc = pool_map(wb_loop(), job, inputs, 2, 0, on_done, NULL);
  ck_assert_msg(rc == -1, "pool_map with max_workers 0 returned %d; it must "
                "return -1 (no worker could ever run)", rc);
  ck_assert_msg(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD,
                "pool_map refused max_workers 0, yet a worker was started");
  wb_run(wb_loop(), 300);
  wb_assert_calls(done_calls, 0, "the done callback of a refused pool");
  map(inputs, 2, 2);
  wb_run(wb_loop(), 1000);
  check_results(inputs, 2);
  check_most(2, 2);
  finish();
}
END_TEST

WB_TEST(inputs_may_be_freed_at_once, 1) {
  static const long want[] = {30, 31, 32, 33};
  setup();
  long *inputs = malloc(sizeof want);
  ck_assert(inputs != NULL);
  for (int i = 0; i < 4; i++)
    inputs[i] = want[i];
  map(inputs, 4, 2);
  free(inputs); /* allowed: pool_map copies what it needs */
  wb_run(wb_loop(), 1500);
  check_results(want, 4);
  check_most(2, 2);
  finish();
}
END_TEST

WB_TEST(out_of_memory_starts_nothing, 1) {
  static const long inputs[] = {20, 20, 20};
  setup();
  for (unsigned n = 1;; n++) {
    wb_fail_alloc(n);
    int rc = pool_map(wb_loop(), job, inputs, 3, 2, on_done, NULL);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < n) { /* nothing failed: the pool started normally */
      ck_assert_msg(rc == 0, "pool_map returned %d", rc);
      go_bytes = 3;
      ev_timer_init(&go_timer, go_cb, 0., 0.);
      ev_timer_start(wb_loop(), &go_timer);
      break;
    }
    ck_assert_msg(rc == -1,
                  "allocation %u of pool_map failed, yet it returned %d; it "
                  "must return -1",
                  n, rc);
    ck_assert_msg(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD,
                  "allocation %u of pool_map failed and it returned -1, but "
                  "a worker had been started: allocate everything first",
                  n);
    ck_assert_msg(wb_fd_count() == fds_before,
                  "allocation %u of pool_map failed and it returned -1, but "
                  "%d descriptor(s) were left open",
                  n, wb_fd_count() - fds_before);
  }
  wb_run(wb_loop(), 1500);
  check_results(inputs, 3);
  finish();
}
END_TEST

WB_TEST(workers_that_cannot_start_are_reported, 1) {
  static const long inputs[] = {20, 20, 20};
  setup();
  struct rlimit old, low;
  ck_assert(getrlimit(RLIMIT_NOFILE, &old) == 0);
  low = old;
  low.rlim_cur = (rlim_t)fds_before + 16;
  ck_assert(setrlimit(RLIMIT_NOFILE, &low) == 0);
  int fill[64], nfill = 0;
  while (nfill < 64 && (fill[nfill] = dup(0)) >= 0)
    nfill++;
  int rc = pool_map(wb_loop(), job, inputs, 3, 2, on_done, NULL);
  int calls_at_return = done_calls;
  while (nfill > 0)
    close(fill[--nfill]);
  setrlimit(RLIMIT_NOFILE, &old);
  ck_assert_msg(rc == 0, "pool_map returned %d when no pipe could be made; "
                "it must return 0 and report each input as not started",
                rc);
  ck_assert_msg(calls_at_return == 0,
                "no worker could start, and done was called from inside "
                "pool_map: it must come from the loop, later");
  wb_run(wb_loop(), 1000);
  wb_assert_calls(done_calls, 1, "the done callback");
  for (int i = 0; i < 3; i++)
    ck_assert_msg(got[i].ok == 0 && got[i].value == 0 &&
                      got[i].wait_status == -1,
                  "no pipe could be made for input %d, so its result must be "
                  "ok 0, value 0, wait_status -1; it was ok %d, value %ld, "
                  "wait_status %d",
                  i, got[i].ok, got[i].value, got[i].wait_status);
  finish();
}
END_TEST
