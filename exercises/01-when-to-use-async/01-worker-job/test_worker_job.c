/* test_worker_job.c - the tests of exercise 01.1 and their points.
 * Most jobs wait for a "go" byte that the test writes from a callback of the
 * loop: a job gets it only if the loop kept running while the job ran.
 */
#define _GNU_SOURCE /* clock_gettime, MAP_ANONYMOUS */
#include "worker_job.h"
#include "wbtest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

WB_DEFAULT_LOOP; /* ev_child works on libev's default loop only */

#define MAX_JOBS 4
#define STALLED 0x57a11ed /* what a job returns when it never got the go */

/* What on_done saw for job i (arg is i). */
static struct seen {
  int calls;
  struct worker_result r;
  int fds;    /* descriptors open when done ran */
  int reaped; /* the worker had been waited for when done ran */
} seen[MAX_JOBS];
static int go[2] = {-1, -1};
static int fds_before; /* descriptors open before the first job started */
static pid_t test_pid;
static int *ran_atexit; /* shared with the workers */
static ev_timer go_timer, heartbeat;
static int go_bytes, ticks, ticks_at_done;

static void on_done(struct ev_loop *loop, const struct worker_result *r,
                    void *arg) {
  struct seen *s = &seen[(intptr_t)arg];
  (void)loop;
  s->calls++;
  s->r = *r;
  s->fds = wb_fd_count();
  s->reaped = r->pid > 0 && waitpid(r->pid, NULL, WNOHANG) == -1 &&
              errno == ECHILD;
  ticks_at_done = ticks;
  ev_timer_stop(loop, &heartbeat);
}

/* ---- Jobs (they run in the worker) ------------------------------------ */

/* Waits up to 0.7 s for the test's go byte: 1 if it came. */
static int got_go(void) {
  struct pollfd p = {.fd = go[0], .events = POLLIN};
  char c;
  return poll(&p, 1, 700) == 1 && read(go[0], &c, 1) == 1;
}
static long job_pid(long input) {
  (void)input;
  return got_go() ? (long)getpid() : STALLED;
}
static long job_echo(long input) { return got_go() ? input : STALLED; }
static long job_abort(long input) {
  if (got_go())
    abort();
  return input;
}
static long job_exit3(long input) {
  if (got_go())
    _exit(3);
  return input;
}
static long job_exit0_silent(long input) {
  if (got_go())
    _exit(0);
  return input;
}
/* Computes without a pause until the loop's heartbeat has sent it 5 bytes,
 * or until it has used 400 ms of CPU time or 800 ms have passed; returns
 * how many heartbeat bytes it saw while it computed. */
#define SPIN_TICKS 5
static long job_spin(long input) {
  struct timespec cpu, now, start;
  long seen_ticks = 0;
  unsigned long sum = (unsigned long)input;
  char c;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    for (int k = 0; k < 100000; k++) /* the computing */
      sum = sum * 31 + (unsigned long)k;
    while (seen_ticks < SPIN_TICKS && read(go[0], &c, 1) == 1)
      seen_ticks++;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    clock_gettime(CLOCK_MONOTONIC, &now);
    double wall = (double)(now.tv_sec - start.tv_sec) * 1e3 +
                  (double)(now.tv_nsec - start.tv_nsec) / 1e6;
    if (seen_ticks == SPIN_TICKS || cpu.tv_nsec >= 400000000L ||
        cpu.tv_sec > 0 || wall > 800)
      break;
  }
  return seen_ticks + (sum == 42); /* sum: so the computing is not skipped */
}

/* ---- Helpers ------------------------------------------------------------ */

static void note_atexit(void) {
  if (getpid() != test_pid && ran_atexit)
    *ran_atexit = 1;
}

static void go_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  char bytes[MAX_JOBS] = {0};
  ssize_t n = write(go[1], bytes, (size_t)go_bytes);
  (void)n;
}

/* Each tick also hands the spinning job a byte. */
static void heartbeat_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
  ticks++;
  ssize_t n = write(go[1], "t", 1);
  (void)n;
}

static void setup(void) {
  test_pid = getpid();
  ran_atexit = mmap(NULL, sizeof *ran_atexit, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ck_assert(ran_atexit != MAP_FAILED);
  *ran_atexit = 0;
  atexit(note_atexit);
  ck_assert(pipe(go) == 0);
  fds_before = wb_fd_count();
}

/* Starts job i; its go byte is written by the loop once the loop runs. */
static void start(int i, worker_fn fn, long input) {
  int rc = worker_job_start(wb_loop(), fn, input, on_done, (void *)(intptr_t)i);
  ck_assert_msg(rc == 0, "worker_job_start returned %d; it must return 0 "
                "once the worker is started", rc);
  ck_assert_msg(seen[i].calls == 0,
                "done was called before worker_job_start returned: it must "
                "come from the loop, once the worker is over");
  if (go_bytes++ == 0) {
    ev_timer_init(&go_timer, go_cb, 0., 0.);
    ev_timer_start(wb_loop(), &go_timer);
  }
}

static void check_not_stalled(int i, long want) {
  ck_assert_msg(seen[i].r.value != STALLED,
                "the job waited 0.7 s for something the loop had "
                "to do meanwhile, and the loop never did it: did "
                "worker_job_start (or a callback) wait for the worker? "
                "Start it and return; the loop does the waiting");
  ck_assert_msg(seen[i].r.ok == 1, "the job returned %ld and its worker "
                "exited with status 0, but the result says ok == 0 (wait "
                "status %d)", want, seen[i].r.wait_status);
  ck_assert_msg(seen[i].r.value == want,
                "the job returned %ld, but the result's value is %ld: send "
                "all sizeof(long) bytes of it through the pipe, and read "
                "until you have all of them",
                want, seen[i].r.value);
}

/* What every test checks at its end: done once per job, each worker
 * waited for, nothing left open, the test's atexit handlers untouched. */
static void finish(int njobs) {
  for (int i = 0; i < njobs; i++) {
    wb_assert_calls(seen[i].calls, 1, "the done callback");
    ck_assert_msg(seen[i].reaped,
                  "when done ran, worker %d had not been waited for (it was "
                  "still running, or a zombie): call done only once ev_child "
                  "has reported its exit",
                  (int)seen[i].r.pid);
  }
  ck_assert_msg(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD,
                "a worker process was left behind after the loop ended: "
                "wait for every worker with an ev_child watcher");
  ck_assert_msg(!*ran_atexit,
                "a worker ran the caller's atexit handlers: it must leave "
                "with _exit(), not exit() or a return from main");
  close(go[0]), close(go[1]);
  wb_assert_no_leaks();
}

/* ---- Tests --------------------------------------------------------------- */

WB_TEST(job_runs_in_another_process, 2) {
  setup();
  start(0, job_pid, 0);
  wb_run(wb_loop(), 1000);
  wb_assert_calls(seen[0].calls, 1, "the done callback");
  ck_assert_msg(seen[0].r.value != (long)test_pid,
                "the job ran in the loop's own process (pid %d): run it in "
                "a worker made with fork()",
                (int)test_pid);
  check_not_stalled(0, (long)seen[0].r.pid);
  ck_assert_msg(seen[0].r.pid != test_pid, "result.pid is the loop's own "
                "pid; it must be the worker's, as fork() returned it");
  finish(1);
}
END_TEST

WB_TEST(done_comes_from_the_loop, 1) {
  setup();
  start(0, job_echo, 7);
  ck_assert_msg(seen[0].calls == 0, "done was called before the loop ran");
  wb_run(wb_loop(), 1000);
  wb_assert_calls(seen[0].calls, 1, "the done callback");
  check_not_stalled(0, 7);
  finish(1);
}
END_TEST

WB_TEST(heartbeat_keeps_ticking_while_the_job_computes, 3) {
  setup();
  ck_assert(fcntl(go[0], F_SETFL, O_NONBLOCK) == 0); /* for the spinning job */
  ev_timer_init(&heartbeat, heartbeat_cb, 0.010, 0.010);
  ev_timer_start(wb_loop(), &heartbeat);
  int rc = worker_job_start(wb_loop(), job_spin, 0, on_done, (void *)0);
  ck_assert_msg(rc == 0, "worker_job_start returned %d", rc);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(seen[0].calls, 1, "the done callback");
  ck_assert_msg(seen[0].r.ok,
                "the job returned, but the result says ok 0 (wait status %d)",
                seen[0].r.wait_status);
  ck_assert_msg(seen[0].r.value >= SPIN_TICKS,
                "the job computed without a pause until its time ran out, "
                "and in all that time the loop's 10 ms heartbeat ticked %ld "
                "times (it should have ticked %d times, and then the job "
                "would have ended): the loop was not free while the job "
                "ran. Compute in the worker; wait through the loop",
                seen[0].r.value, SPIN_TICKS);
  wb_assert_no_block(100);
  finish(1);
}
END_TEST

WB_TEST(every_value_comes_back_whole, 2) {
  static const long inputs[MAX_JOBS] = {0, -1, LONG_MAX, LONG_MIN};
  setup();
  for (int i = 0; i < MAX_JOBS; i++)
    start(i, job_echo, inputs[i]);
  wb_run(wb_loop(), 1000);
  for (int i = 0; i < MAX_JOBS; i++) {
    wb_assert_calls(seen[i].calls, 1, "the done callback of each job");
    check_not_stalled(i, inputs[i]);
    for (int j = 0; j < i; j++)
      ck_assert_msg(seen[i].r.pid != seen[j].r.pid,
                    "two jobs report the same worker pid %d: each job has a "
                    "worker of its own",
                    (int)seen[i].r.pid);
  }
  finish(MAX_JOBS);
}
END_TEST

WB_TEST(crashed_worker_is_reported, 2) {
  setup();
  start(0, job_abort, 5);
  wb_run(wb_loop(), 1000);
  wb_assert_calls(seen[0].calls, 1, "the done callback");
  int st = seen[0].r.wait_status;
  ck_assert_msg(seen[0].r.ok == 0 && seen[0].r.value == 0,
                "the worker was killed by SIGABRT, yet the result says ok "
                "%d, value %ld; expected ok 0, value 0",
                seen[0].r.ok, seen[0].r.value);
  ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
                "the worker was killed by SIGABRT, but wait_status %d does "
                "not say so: store the status that ev_child reports "
                "(w->rstatus)",
                st);
  finish(1);
}
END_TEST

WB_TEST(failed_exit_status_is_reported, 1) {
  setup();
  start(0, job_exit3, 5);
  wb_run(wb_loop(), 1000);
  wb_assert_calls(seen[0].calls, 1, "the done callback");
  int st = seen[0].r.wait_status;
  ck_assert_msg(seen[0].r.ok == 0 && seen[0].r.value == 0,
                "the worker called _exit(3) before answering, yet the "
                "result says ok %d, value %ld; expected ok 0, value 0",
                seen[0].r.ok, seen[0].r.value);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 3,
                "the worker exited with status 3, but wait_status %d does "
                "not say so: store the status that ev_child reports",
                st);
  finish(1);
}
END_TEST

WB_TEST(worker_without_an_answer_is_not_ok, 1) {
  setup();
  start(0, job_exit0_silent, 5);
  wb_run(wb_loop(), 1000);
  wb_assert_calls(seen[0].calls, 1, "the done callback");
  ck_assert_msg(seen[0].r.ok == 0 && seen[0].r.value == 0,
                "the worker exited with status 0 without sending an answer, "
                "yet the result says ok %d, value %ld: ok needs the whole "
                "answer AND exit status 0",
                seen[0].r.ok, seen[0].r.value);
  finish(1);
}
END_TEST

WB_TEST(nothing_left_open_when_done_runs, 2) {
  setup();
  start(0, job_echo, 11);
  wb_run(wb_loop(), 1000);
  wb_assert_calls(seen[0].calls, 1, "the done callback");
  ck_assert_msg(seen[0].fds == fds_before,
                "when done ran, %d descriptor%s of the job %s still open: "
                "close both ends of the pipe (the write end in the parent "
                "right after fork, the read end at end of file) before "
                "calling done",
                seen[0].fds - fds_before,
                seen[0].fds - fds_before == 1 ? "" : "s",
                seen[0].fds - fds_before == 1 ? "was" : "were");
  check_not_stalled(0, 11);
  finish(1);
}
END_TEST

WB_TEST(crashed_worker_leaves_nothing_behind, 1) {
  setup();
  start(0, job_abort, 5);
  start(1, job_echo, 6);
  wb_run(wb_loop(), 1000);
  ck_assert_msg(seen[0].r.ok == 0,
                "the worker of job 0 was killed by SIGABRT, yet its result "
                "says ok 1");
  check_not_stalled(1, 6);
  finish(2);
}
END_TEST

WB_TEST(out_of_memory_starts_nothing, 1) {
  setup();
  for (unsigned n = 1;; n++) {
    wb_fail_alloc(n);
    int rc = worker_job_start(wb_loop(), job_echo, 1, on_done, (void *)0);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < n) { /* nothing failed: the job started normally */
      ck_assert_msg(rc == 0, "worker_job_start returned %d", rc);
      go_bytes = 1;
      ev_timer_init(&go_timer, go_cb, 0., 0.);
      ev_timer_start(wb_loop(), &go_timer);
      break;
    }
    ck_assert_msg(rc == -1,
                  "allocation %u of worker_job_start failed, yet it "
                  "returned %d; it must return -1",
                  n, rc);
    ck_assert_msg(wb_fd_count() == fds_before,
                  "after a failed allocation, worker_job_start returned -1 "
                  "but left %d descriptor(s) open",
                  wb_fd_count() - fds_before);
    ck_assert_msg(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD,
                  "after a failed allocation, worker_job_start returned -1 "
                  "but a worker had been started: allocate before fork()");
  }
  wb_run(wb_loop(), 1000);
  wb_assert_calls(seen[0].calls, 1, "the done callback");
  finish(1);
}
END_TEST

WB_TEST(no_descriptor_left_starts_nothing, 1) {
  setup();
  struct rlimit old, low;
  ck_assert(getrlimit(RLIMIT_NOFILE, &old) == 0);
  low = old;
  low.rlim_cur = (rlim_t)fds_before + 16;
  ck_assert(setrlimit(RLIMIT_NOFILE, &low) == 0);
  int fill[64], nfill = 0;
  while (nfill < 64 && (fill[nfill] = dup(0)) >= 0)
    nfill++;
  int rc = worker_job_start(wb_loop(), job_echo, 1, on_done, (void *)0);
  while (nfill > 0)
    close(fill[--nfill]);
  setrlimit(RLIMIT_NOFILE, &old);
  ck_assert_msg(rc == -1, "no descriptor was left for a pipe, yet "
                "worker_job_start returned %d; it must return -1", rc);
  ck_assert_msg(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD,
                "pipe() failed, yet a worker was started");
  ck_assert_msg(wb_fd_count() == fds_before,
                "pipe() failed and worker_job_start returned -1, but it left "
                "%d descriptor(s) open", wb_fd_count() - fds_before);
  wb_run(wb_loop(), 300);
  wb_assert_calls(seen[0].calls, 0, "the done callback after a failed start");
  start(0, job_echo, 9); /* with descriptors back, a job runs as usual */
  wb_run(wb_loop(), 1000);
  check_not_stalled(0, 9);
  finish(1);
}
END_TEST
