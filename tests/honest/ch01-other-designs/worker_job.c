/* An honest alternative: a socketpair instead of a pipe, no ev_io at all
 * (the answer is read once the worker has exited), global helpers. */
#include "worker_job.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  ev_child child;
  int fd;
  worker_done_cb done;
  void *arg;
} job_t;

void on_exit_cb(struct ev_loop *loop, ev_child *w, int revents) {
  job_t *job = (job_t *)w;
  struct worker_result r = {0};
  long v = 0;
  size_t got = 0;
  ssize_t n;
  (void)revents;
  ev_child_stop(loop, w);
  /* the worker is gone: all it wrote is there, then end of file */
  while ((n = read(job->fd, (char *)&v + got, sizeof v - got)) > 0 &&
         (got += (size_t)n) < sizeof v)
    ;
  char extra;
  if (got == sizeof v && read(job->fd, &extra, 1) != 0)
    got = 0;
  close(job->fd);
  r.pid = w->rpid;
  r.wait_status = w->rstatus;
  r.ok = got == sizeof v && WIFEXITED(r.wait_status) &&
         WEXITSTATUS(r.wait_status) == 0;
  r.value = r.ok ? v : 0;
  worker_done_cb done = job->done;
  void *arg = job->arg;
  free(job);
  done(loop, &r, arg);
}

int worker_job_start(struct ev_loop *loop, worker_fn fn, long input,
                     worker_done_cb done, void *arg) {
  int sv[2];
  job_t *job = malloc(sizeof *job);
  if (!job)
    return -1;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    free(job);
    return -1;
  }
  pid_t pid = fork();
  switch (pid) {
  case -1:
    close(sv[0]), close(sv[1]);
    free(job);
    return -1;
  case 0: {
    close(sv[0]);
    long v = fn(input);
    _exit(write(sv[1], &v, sizeof v) == sizeof v ? 0 : 1);
  }
  default:
    close(sv[1]);
    job->fd = sv[0];
    job->done = done;
    job->arg = arg;
    ev_child_init(&job->child, on_exit_cb, pid, 0);
    ev_child_start(loop, &job->child);
    return 0;
  }
}
