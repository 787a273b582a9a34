/* pitfall_lucky_sleep.c - a test that passes by luck: it starts a job that
 * runs in a worker thread, sleeps a fixed time "long enough", then asserts
 * that the job is done. Run on a quiet machine it passes; with every core
 * busy it fails, run after run. The fixed test waits for the callback,
 * with a deadline, and never fails. This program loads the machine itself
 * (CPU-burning children) and counts both tests' failures.
 * Usage: pitfall_lucky_sleep [RUNS]   (default 40 of each, quiet and loaded)
 * symptom: lucky_failures > 4, fixed_failures < 1 (a flaky test)
 */
#define _DEFAULT_SOURCE /* usleep */
#include "wb_lag.h"
#include "wb_trace.h"

#include <ev.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- The code under test: a checksum computed off the loop --------------- */

/* digest_async hashes `rounds` passes over a buffer in a worker thread and
 * calls `done` from the loop (ev_async), the run_in_executor of chapter 07. */
typedef void (*digest_cb)(uint64_t digest, void *arg);

struct digest {
  ev_async wake;
  pthread_t thread;
  const unsigned char *buf;
  size_t len, rounds;
  uint64_t result;
  digest_cb done;
  void *arg;
};

static uint64_t fnv1a(const unsigned char *buf, size_t len, size_t rounds) {
  uint64_t h = 1469598103934665603u;
  for (size_t r = 0; r < rounds; r++)
    for (size_t i = 0; i < len; i++)
      h = (h ^ buf[i]) * 1099511628211u;
  return h;
}

static void *digest_work(void *arg) {
  struct digest *d = arg;
  d->result = fnv1a(d->buf, d->len, d->rounds);
  ev_async_send(d->wake.data, &d->wake); /* wake the loop: done */
  return NULL;
}

static void digest_resume(struct ev_loop *loop, ev_async *w, int revents) {
  struct digest *d = (struct digest *)w;
  (void)revents;
  ev_async_stop(loop, w);
  pthread_join(d->thread, NULL);
  d->done(d->result, d->arg);
  free(d);
}

static int digest_async(struct ev_loop *loop, const unsigned char *buf,
                        size_t len, size_t rounds, digest_cb done, void *arg) {
  struct digest *d = malloc(sizeof *d);
  if (!d)
    return -1;
  *d = (struct digest){.buf = buf, .len = len, .rounds = rounds,
                       .done = done, .arg = arg};
  ev_async_init(&d->wake, digest_resume);
  d->wake.data = loop;
  ev_async_start(loop, &d->wake);
  if (pthread_create(&d->thread, NULL, digest_work, d) != 0) {
    ev_async_stop(loop, &d->wake);
    free(d);
    return -1;
  }
  return 0;
}

/* ---- Two tests of it ------------------------------------------------------- */

static unsigned char data[64 * 1024];
static size_t rounds;   /* sized so that the job takes JOB_MS of CPU */
static uint64_t expect; /* the digest, computed once without the loop */
#define JOB_MS 6

struct seen {
  int calls;
  uint64_t digest;
};
static void count(uint64_t digest, void *arg) {
  struct seen *s = arg;
  s->calls++;
  s->digest = digest;
  wb_trace_mark("job: called back");
}

/* WRONG: "the job takes 6 ms, so twice that is plenty". It is plenty only
 * while the worker thread gets a core to itself the moment it needs one. */
static int lucky_test(struct ev_loop *loop) {
  struct seen s = {0};
  digest_async(loop, data, sizeof data, rounds, count, &s);
  usleep(2 * JOB_MS * 1000);
  ev_run(loop, EVRUN_NOWAIT); /* deliver what is ready by now */
  int ok = s.calls == 1 && s.digest == expect;
  wb_trace_mark("lucky test: asserted, %s", ok ? "passed" : "FAILED");
  ev_run(loop, 0); /* (let a late job end before the loop goes) */
  return ok;
}

/* RIGHT: run the loop until the callback came, with a deadline far beyond
 * any honest delay; then assert the facts: called once, the right digest. */
static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)w, (void)revents;
  ev_break(loop, EVBREAK_ALL);
}
static int fixed_test(struct ev_loop *loop) {
  struct seen s = {0};
  ev_timer deadline;
  digest_async(loop, data, sizeof data, rounds, count, &s);
  ev_timer_init(&deadline, deadline_cb, 2.0, 0.);
  ev_timer_start(loop, &deadline);
  ev_unref(loop); /* the deadline alone does not keep the loop running */
  ev_run(loop, 0);
  ev_ref(loop);
  ev_timer_stop(loop, &deadline);
  int ok = s.calls == 1 && s.digest == expect;
  wb_trace_mark("fixed test: asserted, %s", ok ? "passed" : "FAILED");
  ev_run(loop, 0);
  return ok;
}

/* Each test on a fresh loop; returns how many of `runs` runs failed. */
static int failures(int (*test)(struct ev_loop *), int runs) {
  int failed = 0;
  for (int i = 0; i < runs; i++) {
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    failed += !test(loop);
    ev_loop_destroy(loop);
  }
  return failed;
}

/* ---- The busy machine ------------------------------------------------------ */

static double cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Sizes the job by CPU time, which load does not change: JOB_MS of work. */
static void calibrate(void) {
  for (size_t i = 0; i < sizeof data; i++)
    data[i] = (unsigned char)(i * 7);
  double t = cpu_ms();
  volatile uint64_t sink = fnv1a(data, sizeof data, 4);
  (void)sink;
  double per_round = (cpu_ms() - t) / 4;
  rounds = (size_t)(JOB_MS / (per_round > 0.001 ? per_round : 0.001)) + 1;
  expect = fnv1a(data, sizeof data, rounds);
}

/* Three CPU burners per core, as other work on a shared machine would be. */
static int load_start(pid_t *pids, int max) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int n = (int)(cores > 0 ? cores : 1) * 3;
  n = n > max ? max : n;
  for (int i = 0; i < n; i++)
    if ((pids[i] = fork()) == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the program */
      for (volatile unsigned long x = 0;; x++)
        ;
    }
  return n;
}

static void load_stop(pid_t *pids, int n) {
  for (int i = 0; i < n; i++)
    if (pids[i] > 0) {
      kill(pids[i], SIGKILL);
      waitpid(pids[i], NULL, 0);
    }
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 40;
  pid_t pids[64];
  double t0 = wb_now_ms();
  calibrate();
  int quiet = failures(lucky_test, runs);
  int n = load_start(pids, 64);
  int lucky = failures(lucky_test, runs);
  int fixed = failures(fixed_test, runs);
  load_stop(pids, n);
  printf("lucky test: %d of %d runs failed as the machine was, %d of %d with "
         "%d CPU burners added\nfixed test: %d of %d runs failed with the same "
         "load\n",
         quiet, runs, lucky, runs, n, fixed, runs);
  printf("measured: quiet_failures=%d lucky_failures=%d fixed_failures=%d "
         "runs=%d elapsed_ms=%.0f\n",
         quiet, lucky, fixed, runs, wb_now_ms() - t0);
  return 0;
}
