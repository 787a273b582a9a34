/* job_pool.c - reference solution of exercise 01.2: ProcessPoolExecutor.map
 * on libev. Each input gets a worker process of its own; a queue (the index
 * of the next input) keeps at most max_workers of them alive, and results
 * land in their input's slot whatever order the workers finish in.
 */
#include "job_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

struct pool;

/* One input's job and, while it runs, its worker. */
struct job {
  ev_io pipe_watcher;
  ev_child exit_watcher;
  struct pool *pool;
  size_t index;
  long input;
  long answer;
  size_t got;    /* bytes of the answer read so far */
  int pipe_open; /* the read end is still open */
  int exited;    /* ev_child has reported the worker's exit */
};

struct pool {
  struct ev_loop *loop;
  pool_fn fn;
  pool_done_cb done;
  void *arg;
  size_t n, next; /* next: the first input still in the queue */
  size_t over;    /* jobs whose result is final */
  unsigned running, max_workers;
  struct pool_result *results; /* n of them; NULL when n is 0 */
  ev_timer later; /* calls done from the loop when no worker is left */
  struct job jobs[];
};

/* The whole pool is over: hand the results over, then free everything.
 * Every watcher has stopped, so nothing in the loop points into it. */
static void pool_end(struct pool *p) {
  p->done(p->loop, p->results, p->n, p->arg);
  free(p->results);
  free(p);
}

static void later_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct pool *p = (struct pool *)((char *)w - offsetof(struct pool, later));
  (void)loop, (void)revents;
  pool_end(p);
}

/* In the worker: compute, answer, leave without running atexit handlers. */
static void worker_main(pool_fn fn, long input, int fd) {
  long value = fn(input);
  ssize_t n = write(fd, &value, sizeof value);
  _exit(n == (ssize_t)sizeof value ? 0 : 1);
}

static void start_next(struct pool *p);

/* Either half of a job ended; when both have, its result is final. */
static void job_finish(struct job *j) {
  struct pool *p = j->pool;
  if (j->pipe_open || !j->exited)
    return;
  struct pool_result *r = &p->results[j->index];
  int st = r->wait_status;
  r->ok = j->got == sizeof j->answer && WIFEXITED(st) && WEXITSTATUS(st) == 0;
  r->value = r->ok ? j->answer : 0;
  p->running--;
  p->over++;
  start_next(p); /* a worker's place is free: the queue moves on */
  if (p->over == p->n)
    pool_end(p);
}

static void pipe_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct job *j = (struct job *)w;
  (void)revents;
  char scrap;
  size_t room = sizeof j->answer - j->got;
  ssize_t n = room ? read(w->fd, (char *)&j->answer + j->got, room)
                   : read(w->fd, &scrap, 1);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n > 0 && room) {
    j->got += (size_t)n;
    return;
  }
  if (n > 0)
    j->got = 0; /* more than one answer: not to be trusted */
  ev_io_stop(loop, w);
  close(w->fd);
  j->pipe_open = 0;
  job_finish(j);
}

static void exit_cb(struct ev_loop *loop, ev_child *w, int revents) {
  struct job *j = (struct job *)((char *)w - offsetof(struct job, exit_watcher));
  (void)revents;
  ev_child_stop(loop, w);
  j->pool->results[j->index].wait_status = w->rstatus;
  j->exited = 1;
  job_finish(j);
}

/* Starts job j's worker. 0, or -1 when no pipe or process could be had. */
static int job_start(struct pool *p, struct job *j) {
  int fds[2];
  if (pipe(fds) < 0)
    return -1;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    close(fds[0]);
    worker_main(p->fn, j->input, fds[1]); /* never returns */
  }
  close(fds[1]); /* or the pipe never reaches end of file */
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  j->pipe_open = 1;
  ev_io_init(&j->pipe_watcher, pipe_cb, fds[0], EV_READ);
  ev_io_start(p->loop, &j->pipe_watcher);
  ev_child_init(&j->exit_watcher, exit_cb, pid, 0);
  ev_child_start(p->loop, &j->exit_watcher);
  return 0;
}

/* Fills the free places with queued inputs, in their order. An input
 * whose worker cannot start is over at once, with wait_status -1. */
static void start_next(struct pool *p) {
  while (p->running < p->max_workers && p->next < p->n) {
    struct job *j = &p->jobs[p->next++];
    if (job_start(p, j) == 0) {
      p->running++;
    } else {
      p->results[j->index].wait_status = -1;
      p->over++;
    }
  }
}

int pool_map(struct ev_loop *loop, pool_fn fn, const long *inputs, size_t n,
             unsigned max_workers, pool_done_cb done, void *arg) {
  if (max_workers == 0)
    return -1;
  struct pool *p = calloc(1, sizeof *p + n * sizeof p->jobs[0]);
  if (!p)
    return -1;
  if (n > 0 && !(p->results = calloc(n, sizeof *p->results))) {
    free(p);
    return -1;
  }
  p->loop = loop;
  p->fn = fn;
  p->done = done;
  p->arg = arg;
  p->n = n;
  p->max_workers = max_workers;
  for (size_t i = 0; i < n; i++) { /* copied: the caller may free inputs */
    p->jobs[i].pool = p;
    p->jobs[i].index = i;
    p->jobs[i].input = inputs[i];
  }
  start_next(p);
  /* No worker running (no inputs, or none could start): nothing would
   * ever call done, and it must not be called from here. */
  if (p->running == 0) {
    ev_timer_init(&p->later, later_cb, 0., 0.);
    ev_timer_start(loop, &p->later);
  }
  return 0;
}
