/* worker_job.c - reference solution of exercise 01.1: fn(input) runs in a
 * forked worker; the loop reads its answer from a pipe (ev_io) and sees it
 * exit (ev_child). The job is over when both halves are.
 */
#include "worker_job.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* One job: what the callbacks need once worker_job_start has returned. */
struct worker_job {
  ev_io pipe_watcher;    /* the read end of the worker's pipe */
  ev_child exit_watcher; /* the worker's exit */
  worker_done_cb done;
  void *arg;
  long answer;
  size_t got;    /* bytes of the answer read so far */
  int pipe_open; /* the read end is still open */
  int exited;    /* ev_child has reported the worker's exit */
  struct worker_result result;
};

/* In the worker: compute, send the answer, leave. One write of a few bytes
 * (under PIPE_BUF) goes into the pipe whole or not at all. _exit, not exit:
 * the worker is a copy of the caller, and exit would run the caller's
 * atexit handlers and flush copies of its stdio buffers. */
static void worker_main(worker_fn fn, long input, int fd) {
  long value = fn(input);
  ssize_t n = write(fd, &value, sizeof value);
  _exit(n == (ssize_t)sizeof value ? 0 : 1);
}

/* Called when either half ends; the second one reports and frees. */
static void job_finish(struct ev_loop *loop, struct worker_job *job) {
  if (job->pipe_open || !job->exited)
    return;
  int status = job->result.wait_status;
  job->result.ok = job->got == sizeof job->answer && WIFEXITED(status) &&
                   WEXITSTATUS(status) == 0;
  job->result.value = job->result.ok ? job->answer : 0;
  job->done(loop, &job->result, job->arg);
  free(job); /* libev holds no pointer into it: both watchers are stopped */
}

/* The answer may come in pieces; end of file (or an error) ends the pipe. */
static void pipe_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct worker_job *job = (struct worker_job *)w;
  (void)revents;
  char *into = (char *)&job->answer + job->got;
  size_t room = sizeof job->answer - job->got;
  /* With the answer complete, read into a scrap byte: only end of file
   * (or a worker that wrote too much) can follow. */
  char scrap;
  ssize_t n = room ? read(w->fd, into, room) : read(w->fd, &scrap, 1);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n > 0 && room) {
    job->got += (size_t)n;
    return;
  }
  ev_io_stop(loop, w);
  close(w->fd);
  job->pipe_open = 0;
  if (n > 0)
    job->got = 0; /* more than an answer: not one we can trust */
  job_finish(loop, job);
}

/* The worker exited; libev has already reaped it with waitpid. */
static void exit_cb(struct ev_loop *loop, ev_child *w, int revents) {
  struct worker_job *job =
      (struct worker_job *)((char *)w - offsetof(struct worker_job, exit_watcher));
  (void)revents;
  ev_child_stop(loop, w); /* an ev_child stays active until stopped */
  job->result.wait_status = w->rstatus;
  job->exited = 1;
  job_finish(loop, job);
}

int worker_job_start(struct ev_loop *loop, worker_fn fn, long input,
                     worker_done_cb done, void *arg) {
  int fds[2];
  struct worker_job *job = calloc(1, sizeof *job);
  if (!job)
    goto fail_alloc;
  if (pipe(fds) < 0)
    goto fail_pipe;
  pid_t pid = fork();
  if (pid < 0)
    goto fail_fork;
  if (pid == 0) {
    close(fds[0]);
    worker_main(fn, input, fds[1]); /* never returns */
  }
  /* The parent's copy of the write end must go, or the read end never
   * sees end of file: the pipe would stay open as long as we hold it. */
  close(fds[1]);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  job->done = done;
  job->arg = arg;
  job->pipe_open = 1;
  job->result.pid = pid;
  ev_io_init(&job->pipe_watcher, pipe_cb, fds[0], EV_READ);
  ev_io_start(loop, &job->pipe_watcher);
  ev_child_init(&job->exit_watcher, exit_cb, pid, 0);
  ev_child_start(loop, &job->exit_watcher);
  return 0;

fail_fork:
  close(fds[0]);
  close(fds[1]);
fail_pipe:
  free(job);
fail_alloc:
  return -1;
}
