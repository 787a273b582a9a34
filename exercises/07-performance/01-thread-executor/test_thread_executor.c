/* test_thread_executor.c - the tests of exercise 07.1 and their points.
 * The work functions run on the executor's threads and write only atomics
 * and their own job's fields; the done callbacks copy what they see into
 * static state, read after the loop has returned.
 */
#define _GNU_SOURCE
#include "thread_executor.h"
#include "wbtest.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOBS 256

/* One job of a test: what it asks of its work, and what its work did. */
struct job {
  int index;
  unsigned sleep_ms; /* how long the work blocks */
  int meet;          /* > 0: the work waits until that many jobs have
                        started (at most 0.6 s): only threads side by side
                        get there */
  atomic_int ran;    /* times the work ran */
  atomic_int on_loop_thread;
  atomic_int met;    /* 1 when the meeting happened, -1 when it did not */
  int result;        /* written by the work, read by done */
};

static struct job jobs[MAX_JOBS];
static executor_t *ex;
static pthread_t loop_thread;
static int threads_before, fds_before;

static atomic_int running, most_running, started, work_order_len;
static int work_order[MAX_JOBS];

static int done_calls, done_off_thread, done_order_len, break_after;
static int done_order[MAX_JOBS], done_per_job[MAX_JOBS], done_status[MAX_JOBS];
static int result_seen[MAX_JOBS];

/* Whether thread `tid` of this process has begun to exit (the kernel's
 * PF_EXITING flag, field 9 of its stat line). A thread that pthread_join
 * has waited for always has: it can still be listed for a moment while the
 * kernel tears it down, most often on a busy machine. */
static int thread_exiting(const char *tid) {
  char path[64], line[512];
  snprintf(path, sizeof path, "/proc/self/task/%s/stat", tid);
  FILE *f = fopen(path, "r");
  if (!f)
    return 1; /* gone while we looked */
  size_t n = fread(line, 1, sizeof line - 1, f);
  fclose(f);
  line[n] = 0;
  const char *p = strrchr(line, ')'); /* after the name, which may hold spaces */
  unsigned long flags = 0;
  if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
    return 0;
  return (flags & 0x4) != 0; /* PF_EXITING */
}

/* Threads of this process right now (/proc/self/task), leaving out those
 * already exiting. */
static int thread_count(void) {
  DIR *d = opendir("/proc/self/task");
  int n = 0;
  if (!d)
    return -1;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.' && !thread_exiting(e->d_name))
      n++;
  closedir(d);
  return n;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void work(void *arg) {
  struct job *j = arg;
  if (pthread_equal(pthread_self(), loop_thread))
    atomic_fetch_add(&j->on_loop_thread, 1);
  atomic_fetch_add(&j->ran, 1);
  int pos = atomic_fetch_add(&work_order_len, 1);
  if (pos < MAX_JOBS)
    work_order[pos] = j->index;
  int now = atomic_fetch_add(&running, 1) + 1;
  for (int m = atomic_load(&most_running); now > m;)
    if (atomic_compare_exchange_weak(&most_running, &m, now))
      break;
  atomic_fetch_add(&started, 1);
  if (j->meet > 0) {
    double until = now_ms() + 600;
    while (atomic_load(&started) < j->meet && now_ms() < until)
      usleep(1000);
    atomic_store(&j->met, atomic_load(&started) >= j->meet ? 1 : -1);
  }
  if (j->sleep_ms)
    usleep(j->sleep_ms * 1000);
  j->result = j->index * 10 + 7;
  atomic_fetch_sub(&running, 1);
}

static void done(struct ev_loop *loop, void *arg, int status) {
  struct job *j = arg;
  if (!pthread_equal(pthread_self(), loop_thread)) {
    done_off_thread++;
    return; /* touching the test's state from here would race */
  }
  done_calls++;
  if (done_order_len < MAX_JOBS)
    done_order[done_order_len++] = j->index;
  done_per_job[j->index]++;
  done_status[j->index] = status;
  result_seen[j->index] = j->result;
  if (break_after && done_calls == break_after)
    ev_break(loop, EVBREAK_ONE);
}

static void noop_cb(struct ev_loop *loop, ev_async *w, int revents) {
  (void)loop, (void)w, (void)revents;
}

/* The loop opens an eventfd for the first ev_async started on it, and keeps
 * it until it is destroyed: that one is the loop's, so it is opened here,
 * before the descriptors are counted. */
static void baseline(void) {
  ev_async a;
  ev_async_init(&a, noop_cb);
  ev_async_start(wb_loop(), &a);
  ev_async_stop(wb_loop(), &a);
  loop_thread = pthread_self();
  threads_before = thread_count();
  fds_before = wb_fd_count();
}

/* No descriptor, watcher or thread of the executor is left. */
static void assert_nothing_left(void) {
  int fds = wb_fd_count(), w = wb_active_watchers(wb_loop());
  ck_assert_msg(fds == fds_before,
                "%d descriptor%s more than before executor_new %s open: "
                "close whatever the executor opened (a pipe?)",
                fds - fds_before, fds - fds_before == 1 ? "" : "s",
                fds - fds_before == 1 ? "is" : "are");
  ck_assert_msg(w == 0,
                "%d watcher%s of the executor %s still active after "
                "executor_free: stop the ev_async",
                w, w == 1 ? "" : "s", w == 1 ? "is" : "are");
}

static void start(unsigned nthreads) {
  baseline();
  int rc = executor_new(&ex, wb_loop(), nthreads);
  ck_assert_msg(rc == 0 && ex,
                "executor_new(&ex, loop, %u) returned %d%s; expected 0 and "
                "an executor",
                nthreads, rc, rc == 0 ? " but left ex NULL" : "");
  int started_threads = thread_count() - threads_before;
  ck_assert_msg(started_threads == (int)nthreads,
                "executor_new(&ex, loop, %u) started %d thread%s; it must "
                "start all %u before it returns",
                nthreads, started_threads, started_threads == 1 ? "" : "s",
                nthreads);
}

static void submit(int i, unsigned sleep_ms, int meet) {
  jobs[i].index = i;
  jobs[i].sleep_ms = sleep_ms;
  jobs[i].meet = meet;
  int rc = executor_submit(ex, work, done, &jobs[i]);
  ck_assert_msg(rc == 0, "executor_submit returned %d for job %d; expected 0",
                rc, i);
}

/* Runs the loop until `n` done callbacks came (the test breaks the loop
 * then: an executor that keeps the loop running is tested on its own). */
static void run_until_done(int n, unsigned ms) {
  break_after = n;
  wb_run(wb_loop(), ms);
  ck_assert_msg(done_off_thread == 0,
                "done was called %d time%s on a thread other than the "
                "loop's: a worker may only ev_async_send; the ev_async's "
                "callback, on the loop's thread, calls done",
                done_off_thread, done_off_thread == 1 ? "" : "s");
  ck_assert_msg(done_calls == n,
                "the loop ran for %.0f ms and done was called %d time%s "
                "for %d job%s; expected once per job",
                wb_elapsed_ms(), done_calls, done_calls == 1 ? "" : "s", n,
                n == 1 ? "" : "s");
}

static void assert_met(int from, int to) {
  for (int i = from; i < to; i++)
    ck_assert_msg(atomic_load(&jobs[i].met) == 1,
                  "job %d waited 0.6 s for %d jobs to be running at once, "
                  "and they never were: the jobs ran one after another. "
                  "Start nthreads threads in executor_new, each taking "
                  "jobs from the queue, and run work on them, not in "
                  "executor_submit",
                  i, jobs[i].meet);
}

/* executor_free, then every thread it started must be gone. */
static void finish(void) {
  executor_free(ex);
  ex = NULL;
  int now = thread_count();
  ck_assert_msg(now == threads_before,
                "after executor_free the process has %d thread%s more than "
                "before executor_new: executor_free must stop and join "
                "(pthread_join) every thread it started",
                now - threads_before, now - threads_before == 1 ? "" : "s");
}

WB_TEST(done_comes_later_from_the_loop, 2) {
  start(2);
  submit(0, 0, 2);
  submit(1, 0, 2);
  usleep(100 * 1000); /* the work is long over: done still waits */
  ck_assert_msg(done_calls == 0 && done_off_thread == 0,
                "done was called before the loop ran: it must come from the "
                "loop (the ev_async's callback), never from executor_submit "
                "or from a worker");
  run_until_done(2, 1200);
  ck_assert_msg(done_status[0] == 0 && done_status[1] == 0,
                "done got status %d and %d for jobs that ran; expected 0",
                done_status[0], done_status[1]);
  ck_assert_msg(result_seen[0] == 7 && result_seen[1] == 17,
                "done did not see what the work wrote into its arg (%d and "
                "%d instead of 7 and 17): pass the same arg to work and done",
                result_seen[0], result_seen[1]);
  assert_met(0, 2);
  finish();
}
END_TEST

WB_TEST(work_runs_on_a_thread_not_the_loop, 3) {
  start(2);
  double t0 = wb_elapsed_ms();
  submit(0, 250, 2);
  double took = wb_elapsed_ms() - t0;
  ck_assert_msg(jobs[0].on_loop_thread == 0,
                "the work ran on the loop's thread, inside executor_submit: "
                "it must run on one of the executor's threads");
  ck_assert_msg(took < 200,
                "executor_submit took %.0f ms to return for a job whose work "
                "blocks for 250 ms: it must only queue the job",
                took);
  submit(1, 250, 2);
  run_until_done(2, 1200);
  ck_assert_msg(jobs[0].ran == 1, "the work ran %d times; expected once",
                jobs[0].ran);
  assert_met(0, 2);
  wb_assert_no_block(100);
  finish();
}
END_TEST

WB_TEST(done_runs_on_the_loop_thread, 2) {
  start(3);
  for (int i = 0; i < 6; i++)
    submit(i, 20, 3);
  run_until_done(6, 1200);
  for (int i = 0; i < 6; i++)
    ck_assert_msg(done_per_job[i] == 1,
                  "done was called %d times for job %d; expected once",
                  done_per_job[i], i);
  assert_met(0, 6);
  finish();
}
END_TEST

WB_TEST(nthreads_jobs_run_side_by_side, 3) {
  start(4);
  for (int i = 0; i < 8; i++)
    submit(i, 50, 4);
  run_until_done(8, 1200);
  assert_met(0, 8);
  ck_assert_msg(most_running == 4,
                "with 4 threads and 8 jobs, at most %d jobs ran at once; "
                "expected 4",
                most_running);
  wb_assert_no_block(100);
  finish();
}
END_TEST

WB_TEST(never_more_than_nthreads_at_once, 2) {
  start(2);
  for (int i = 0; i < 8; i++)
    submit(i, 40, 2);
  run_until_done(8, 1200);
  assert_met(0, 8);
  ck_assert_msg(most_running <= 2,
                "with 2 threads, %d jobs ran at once: at most nthreads may "
                "run at the same time (the others wait in the queue)",
                most_running);
  finish();
}
END_TEST

WB_TEST(jobs_start_in_submission_order, 2) {
  start(1);
  for (int i = 0; i < 6; i++)
    submit(i, 5, 0);
  run_until_done(6, 1200);
  ck_assert_msg(work_order_len == 6, "the work ran %d times for 6 jobs",
                work_order_len);
  for (int i = 0; i < 6; i++)
    ck_assert_msg(work_order[i] == i,
                  "with one thread the jobs' work ran in the order %d %d %d "
                  "%d %d %d; expected 0 1 2 3 4 5 (first submitted, first "
                  "started: a FIFO queue)",
                  work_order[0], work_order[1], work_order[2], work_order[3],
                  work_order[4], work_order[5]);
  for (int i = 0; i < 6; i++)
    ck_assert_msg(done_order[i] == i,
                  "with one thread done came in the order %d %d %d %d %d %d; "
                  "expected 0 1 2 3 4 5 (the order the jobs finished in)",
                  done_order[0], done_order[1], done_order[2], done_order[3],
                  done_order[4], done_order[5]);
  finish();
}
END_TEST

WB_TEST(every_done_once_when_many_finish_together, 3) {
  start(3);
  for (int i = 0; i < 200; i++)
    submit(i, 0, 3);
  run_until_done(200, 1500);
  for (int i = 0; i < 200; i++)
    ck_assert_msg(done_per_job[i] == 1 && jobs[i].ran == 1,
                  "job %d: its work ran %d times and its done was called %d "
                  "times; expected once each. Several ev_async_sends before "
                  "the loop wakes make ONE callback: take every ready job in "
                  "it",
                  i, jobs[i].ran, done_per_job[i]);
  assert_met(0, 3);
  finish();
}
END_TEST

WB_TEST(an_idle_executor_lets_the_loop_end, 2) {
  start(2);
  wb_run(wb_loop(), 500); /* no job yet: must return at once */
  submit(0, 10, 2);
  submit(1, 10, 2);
  wb_run(wb_loop(), 1000); /* returns once both done were called */
  ck_assert_msg(done_calls == 2,
                "ev_run returned after %d done callbacks of 2: while jobs "
                "are out the ev_async must be active (started in submit)",
                done_calls);
  assert_met(0, 2);
  submit(2, 0, 0); /* and again, after an idle spell */
  wb_run(wb_loop(), 500);
  wb_assert_calls(done_per_job[2], 1,
                  "done for a job submitted after the executor was idle");
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "no job is out, but %d watcher%s of the executor %s still "
                "active: stop the ev_async when the last done has come",
                wb_active_watchers(wb_loop()),
                wb_active_watchers(wb_loop()) == 1 ? "" : "s",
                wb_active_watchers(wb_loop()) == 1 ? "is" : "are");
  finish();
}
END_TEST

static int chain_left;

static void chained_done(struct ev_loop *loop, void *arg, int status) {
  done(loop, arg, status);
  struct job *j = arg;
  if (chain_left-- > 0) {
    jobs[j->index + 1].index = j->index + 1;
    if (executor_submit(ex, work, chained_done, &jobs[j->index + 1]) != 0)
      chain_left = -100;
  }
}

WB_TEST(a_done_may_submit_more_jobs, 2) {
  start(2);
  chain_left = 3;
  jobs[0].index = 0;
  ck_assert_msg(executor_submit(ex, work, chained_done, &jobs[0]) == 0,
                "executor_submit failed");
  wb_run(wb_loop(), 1000);
  ck_assert_msg(chain_left >= -1,
                "executor_submit failed when it was called from inside done");
  ck_assert_msg(done_calls == 4,
                "each done submitted the next job (4 in all), but ev_run "
                "returned after %d done callbacks: a job submitted from "
                "inside done must keep the ev_async active",
                done_calls);
  for (int i = 0; i < 4; i++)
    ck_assert_msg(done_order[i] == i, "the chained jobs were done out of order");
  finish();
}
END_TEST

WB_TEST(free_cancels_jobs_not_started, 3) {
  start(1);
  submit(0, 150, 0);
  for (int i = 1; i < 4; i++)
    submit(i, 0, 0);
  for (double t0 = now_ms(); !atomic_load(&started) && now_ms() < t0 + 1000;)
    usleep(1000); /* until the one thread is inside job 0's work */
  ck_assert_msg(started == 1, "the first job's work never started");
  executor_free(ex);
  ex = NULL;
  ck_assert_msg(jobs[0].ran == 1 && done_per_job[0] == 1 && done_status[0] == 0,
                "executor_free returned while job 0 was running; job 0's "
                "work ran %d time(s) and its done was called %d time(s) with "
                "status %d: executor_free waits for running jobs, then calls "
                "their done with status 0",
                jobs[0].ran, done_per_job[0], done_status[0]);
  for (int i = 1; i < 4; i++) {
    ck_assert_msg(jobs[i].ran == 0,
                  "job %d had not started when executor_free was called, "
                  "yet its work ran: executor_free drops the jobs no "
                  "thread has started",
                  i);
    ck_assert_msg(done_per_job[i] == 1 && done_status[i] == -ECANCELED,
                  "job %d was dropped by executor_free; its done was called "
                  "%d time(s) (status %d) before executor_free returned; "
                  "expected once, with -ECANCELED",
                  i, done_per_job[i], done_status[i]);
  }
  ck_assert_msg(done_off_thread == 0,
                "done was called on a worker thread during executor_free");
  int now = thread_count();
  ck_assert_msg(now == threads_before,
                "after executor_free %d thread(s) were still there: join "
                "every thread",
                now - threads_before);
  wb_run(wb_loop(), 300);
  ck_assert_msg(done_calls == 4, "after executor_free the loop called done "
                "again (%d calls for 4 jobs)", done_calls);
  assert_nothing_left();
}
END_TEST

WB_TEST(free_reports_jobs_finished_but_not_delivered, 1) {
  start(2);
  submit(0, 0, 0);
  submit(1, 0, 0);
  for (double t0 = now_ms(); work_order_len < 2 && now_ms() < t0 + 1000;)
    usleep(1000);
  usleep(20 * 1000); /* both are on the ready list; the loop never ran */
  executor_free(ex);
  ex = NULL;
  ck_assert_msg(done_per_job[0] == 1 && done_per_job[1] == 1 &&
                    done_status[0] == 0 && done_status[1] == 0,
                "two jobs had finished their work, but the loop had not run "
                "yet; executor_free called their done %d and %d time(s) "
                "(status %d, %d); expected once each, status 0",
                done_per_job[0], done_per_job[1], done_status[0],
                done_status[1]);
  wb_run(wb_loop(), 300);
  ck_assert_msg(done_calls == 2, "done was called %d times for 2 jobs",
                done_calls);
  assert_nothing_left();
}
END_TEST

WB_TEST(free_joins_every_thread, 2) {
  start(4);
  for (int i = 0; i < 4; i++)
    submit(i, 10, 4);
  run_until_done(4, 1200);
  assert_met(0, 4);
  finish();
  assert_nothing_left();
}
END_TEST

WB_TEST(idle_executor_and_null_freed_cleanly, 1) {
  executor_free(NULL);
  start(3);
  finish();
  wb_run(wb_loop(), 300);
  assert_nothing_left();
}
END_TEST

WB_TEST(thread_count_out_of_range_is_einval, 1) {
  executor_t *e = (executor_t *)&e;
  baseline();
  int before = threads_before;
  int rc = executor_new(&e, wb_loop(), 0);
  ck_assert_msg(rc == -EINVAL,
                "executor_new with 0 threads returned %d; expected -EINVAL "
                "(%d)",
                rc, -EINVAL);
  rc = executor_new(&e, wb_loop(), EXECUTOR_MAX_THREADS + 1);
  ck_assert_msg(rc == -EINVAL,
                "executor_new with EXECUTOR_MAX_THREADS + 1 threads returned "
                "%d; expected -EINVAL",
                rc);
  ck_assert_msg(thread_count() == before,
                "a failed executor_new left threads behind");
  assert_nothing_left();
}
END_TEST

WB_TEST(out_of_memory_in_new_leaves_nothing, 1) {
  baseline();
  int before = threads_before;
  for (unsigned k = 1;; k++) {
    executor_t *e = NULL;
    wb_fail_alloc(k);
    int rc = executor_new(&e, wb_loop(), 2);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < k) {
      ck_assert_msg(rc == 0, "executor_new returned %d with no allocation "
                    "failing", rc);
      executor_free(e);
      break;
    }
    ck_assert_msg(rc == -ENOMEM,
                  "allocation number %u of executor_new failed, and it "
                  "returned %d; expected -ENOMEM (%d)",
                  k, rc, -ENOMEM);
    ck_assert_msg(thread_count() == before,
                  "allocation number %u of executor_new failed; it returned "
                  "%d but left %d thread(s) running",
                  k, rc, thread_count() - before);
  }
  ck_assert_msg(thread_count() == before, "threads were left behind");
  assert_nothing_left();
}
END_TEST

WB_TEST(out_of_memory_in_submit, 2) {
  start(2);
  wb_fail_alloc(1);
  jobs[0].index = 0;
  int rc = executor_submit(ex, work, done, &jobs[0]);
  unsigned used = wb_allocs();
  wb_fail_alloc(0);
  if (used == 0) { /* it allocates nothing per job: nothing can fail */
    ck_assert_msg(rc == 0, "executor_submit returned %d", rc);
    run_until_done(1, 1200);
    finish();
    return;
  }
  ck_assert_msg(rc == -ENOMEM,
                "executor_submit's allocation failed, and it returned %d; "
                "expected -ENOMEM (%d)",
                rc, -ENOMEM);
  ck_assert_msg(done_calls == 0,
                "executor_submit ran out of memory and called done: after "
                "-ENOMEM neither work nor done is ever called");
  wb_run(wb_loop(), 300); /* nothing is out: returns at once */
  ck_assert_msg(done_calls == 0 && jobs[0].ran == 0,
                "the job whose executor_submit failed was run anyway");
  submit(1, 0, 2);
  submit(2, 0, 2);
  wb_run(wb_loop(), 1000);
  ck_assert_msg(done_per_job[1] == 1 && done_per_job[2] == 1 && done_calls == 2,
                "after a failed executor_submit, two more jobs got %d and %d "
                "done callbacks; expected one each",
                done_per_job[1], done_per_job[2]);
  assert_met(1, 3);
  finish();
  assert_nothing_left();
}
END_TEST
