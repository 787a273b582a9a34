/* cpu_workers.c - the C form of "use multiprocessing": the four jobs of
 * pitfall_cpu_in_callback.c, each computed in a worker process. The loop
 * forks a worker per job, reads its answer from a pipe (ev_io) and waits for
 * its exit (ev_child); the 10 ms heartbeat keeps its rhythm meanwhile.
 * expect: gap_pct < 80, lag_ms < 150, errors < 1
 */
#define _DEFAULT_SOURCE /* fork, pipe, fcntl, clock_gettime */
#include "cpu_job.h"
#include "wb_trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NJOBS 4

/* What a worker writes to its pipe: the result, and facts about the run. */
struct answer {
  long primes;
  pid_t pid;     /* the worker's process id */
  double cpu_ms; /* the CPU time the worker spent on the job */
};

/* A job and the worker that computes it. It is over when both halves are:
 * the pipe has reached end of file, and the worker has exited. */
struct job {
  ev_timer arrive;
  ev_io pipe_watcher; /* the read end of the worker's pipe */
  ev_child exit_watcher;
  int index;
  long below;
  struct answer answer;
  size_t got;    /* bytes of the answer read so far */
  int pipe_open; /* the read end is still open */
  int exited;    /* the worker has exited and been waited for */
  int status;    /* its wait status, as waitpid gives it */
};

static struct heartbeat hb;
static int pending = NJOBS, errors;
static double job_cpu_ms; /* the CPU time the workers took, in all */

/* In the worker: compute, write the answer, and leave with _exit, which
 * runs none of the parent's atexit handlers and flushes none of its stdio
 * buffers (they are copies of the parent's). */
static void worker_main(const struct job *j, int fd) {
  struct timespec cpu;
  /* A worker yields the CPU to the loop whenever both want it: the loop
   * needs little, but it needs it on time. */
  int rc = nice(10); /* if it fails, the worker runs as the loop does */
  (void)rc;
  struct answer a = {.primes = count_primes(j->below), .pid = getpid()};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
  a.cpu_ms = (double)cpu.tv_sec * 1e3 + (double)cpu.tv_nsec / 1e6;
  ssize_t n = write(fd, &a, sizeof a); /* under PIPE_BUF: all or nothing */
  _exit(n == (ssize_t)sizeof a ? 0 : 1);
}

/* Both halves are over: report, and let the heartbeat stop after the last. */
static void job_finish(struct job *j) {
  if (j->pipe_open || !j->exited)
    return;
  if (j->got == sizeof j->answer && WIFEXITED(j->status) &&
      WEXITSTATUS(j->status) == 0) {
    printf("job %d: %ld primes below %ld, computed by worker %d "
           "(the loop is process %d) in %.0f ms of CPU\n",
           j->index, j->answer.primes, j->below, (int)j->answer.pid,
           (int)getpid(), j->answer.cpu_ms);
    job_cpu_ms += j->answer.cpu_ms;
  } else {
    printf("job %d: the worker failed (wait status %d)\n", j->index,
           j->status);
    errors++;
  }
  wb_trace_mark("job %d: done", j->index);
  if (--pending == 0)
    heartbeat_finish(&hb);
}

/* The answer, as it comes: a read may return part of it, and the end of
 * file (the worker closed its end, usually by exiting) ends the pipe. */
static void pipe_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct job *j = w->data;
  (void)revents;
  ssize_t n = read(w->fd, (char *)&j->answer + j->got,
                   j->got < sizeof j->answer ? sizeof j->answer - j->got : 0);
  if (n > 0) {
    j->got += (size_t)n;
    if (j->got < sizeof j->answer)
      return;
    /* the whole answer is here: what follows can only be end of file */
  } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    return;
  }
  ev_io_stop(loop, w);
  close(w->fd);
  j->pipe_open = 0;
  job_finish(j);
}

/* The worker exited; libev has already waited for it (no zombie left). */
static void exit_cb(struct ev_loop *loop, ev_child *w, int revents) {
  struct job *j = w->data;
  (void)revents;
  ev_child_stop(loop, w);
  j->status = w->rstatus;
  j->exited = 1;
  job_finish(j);
}

/* A job arrives: start a worker for it and return to the loop at once. */
static void job_arrive_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct job *j = (struct job *)w;
  int fds[2];
  (void)revents;
  wb_trace_mark("job %d: forking a worker", j->index);
  if (pipe(fds) < 0) {
    errors++, pending--;
    return;
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]), close(fds[1]);
    errors++, pending--;
    return;
  }
  if (pid == 0) {
    close(fds[0]);
    worker_main(j, fds[1]); /* never returns */
  }
  close(fds[1]); /* the worker's end: without this, no end of file */
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  j->pipe_open = 1;
  ev_io_init(&j->pipe_watcher, pipe_cb, fds[0], EV_READ);
  j->pipe_watcher.data = j;
  ev_io_start(loop, &j->pipe_watcher);
  ev_child_init(&j->exit_watcher, exit_cb, pid, 0);
  j->exit_watcher.data = j;
  ev_child_start(loop, &j->exit_watcher);
}

int main(void) {
  static struct job jobs[NJOBS];
  wb_lag_t lag;
  double t0 = wb_now_ms();
  /* ev_child works on the default loop only: it owns SIGCHLD. */
  struct ev_loop *loop = ev_default_loop(0);
  wb_lag_start(loop, &lag);
  heartbeat_start(loop, &hb);
  for (int i = 0; i < NJOBS; i++) { /* they arrive 30, 31, 32, 33 ms in */
    jobs[i].index = i + 1;
    jobs[i].below = 700000;
    ev_timer_init(&jobs[i].arrive, job_arrive_cb, 0.030 + 0.001 * i, 0.);
    ev_timer_start(loop, &jobs[i].arrive);
  }
  ev_run(loop, 0);
  wb_lag_stop(loop, &lag);
  ev_loop_destroy(loop);
  heartbeat_measured_print(&hb, wb_lag_longest_ms(&lag), wb_now_ms() - t0,
                           job_cpu_ms, errors);
  return errors ? 1 : 0;
}
