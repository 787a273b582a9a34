/* engine.c - runs the grader's jobs (compiles, links, tests) as child
 * processes, at most N at a time, on one libev loop: each job's output is
 * read as it comes (keeping the head up to a cap), its result pipe too, a
 * timer kills it when its time is up, and ev_child tells when it ended.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SLOTS 64

struct gr_job_priv {
  pid_t pid;
  int slot;
  ev_io out_io, res_io;
  ev_child child;
  ev_timer timer;
  double start;
  int started; /* its program said so on the result channel */
};

/* A test's time counts from when its program has started: before that,
 * the sandbox is being made, which on a machine busy making and tearing
 * down namespaces can take seconds. Making it may take this much more
 * than the job's own limit; a test that has not started by then is tried
 * again (grade.c). */
#define START_GRACE_S 5.0

static struct ev_loop *loop;
static int max_jobs = 1, running;
static int waiting; /* jobs to be submitted later (gr_engine_submit_after) */
static int cancelled;

static void job_free(gr_job_t *job);
static gr_job_t **queue;
static size_t qhead, qlen, qcap;
static int slot_busy[MAX_SLOTS];
static gr_job_t *in_slot[MAX_SLOTS]; /* the job running in each slot */

void gr_engine_init(int n) {
  loop = EV_DEFAULT;
  /* Whatever a job leaves behind when it is killed (bubblewrap's inner
   * processes, say) becomes our child, and libev reaps every child: no
   * zombie lingers to count against the next job's process limit. */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  max_jobs = n < 1 ? 1 : n > MAX_SLOTS ? MAX_SLOTS : n;
  /* A test that closes its end of a pipe must not kill the grader. */
  signal(SIGPIPE, SIG_IGN);
}

void gr_group_release(gr_group_t *g) {
  if (g && --g->pending == 0 && g->done)
    g->done(g);
}


/* Calls the job's callback, then tells its group. */
static void job_ended(gr_job_t *job) {
  gr_group_t *g = job->group;
  if (job->done)
    job->done(job);
  if (job->engine_frees)
    job_free(job);
  gr_group_release(g);
}

static void job_free(gr_job_t *job) {
  for (int i = 0; job->argv[i]; i++)
    free(job->argv[i]);
  for (int i = 0; job->env[i]; i++)
    free(job->env[i]);
  gr_buf_free(&job->out);
  gr_buf_free(&job->result);
  free(job);
}

void gr_engine_submit(gr_job_t *job) {
  if (cancelled) { /* a stopped engine starts nothing more */
    if (job->engine_frees)
      job_free(job);
    return;
  }
  if (job->group)
    job->group->pending++;
  if (qlen == qcap) {
    size_t old = qcap;
    qcap = old ? old * 2 : 64;
    gr_job_t **q = gr_xmalloc(qcap * sizeof *q);
    for (size_t i = 0; i < qlen; i++)
      q[i] = queue[(qhead + i) % old];
    free(queue);
    queue = q;
    qhead = 0;
  }
  queue[(qhead + qlen++) % qcap] = job;
}

/* Reads what is there; keeps at most `cap` bytes, counts the rest. Returns
 * 0 at end of file or error, 1 if the pipe may have more. */
static int pump(int fd, gr_buf_t *buf, size_t cap, size_t *dropped) {
  char chunk[16384];
  for (int i = 0; i < 64; i++) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno == EAGAIN;
    if (n == 0)
      return 0;
    size_t keep = buf->len < cap ? cap - buf->len : 0;
    if (keep > (size_t)n)
      keep = (size_t)n;
    if (keep)
      gr_buf_add(buf, chunk, keep);
    if (dropped)
      *dropped += (size_t)n - keep;
  }
  return 1;
}

static void out_cb(struct ev_loop *l, ev_io *w, int revents) {
  gr_job_t *job = w->data;
  (void)revents;
  if (!pump(w->fd, &job->out, job->out_cap, &job->out_dropped)) {
    ev_io_stop(l, w);
    close(w->fd);
    w->fd = -1;
  }
}

static void res_cb(struct ev_loop *l, ev_io *w, int revents) {
  gr_job_t *job = w->data;
  struct gr_job_priv *p = job->priv;
  size_t dropped = 0;
  (void)revents;
  int more = pump(w->fd, &job->result, 1 << 20, &dropped);
  if (!p->started && job->result.len > 0) {
    /* The program runs: from now on, the job's own limit. */
    p->started = 1;
    ev_timer_stop(l, &p->timer);
    ev_timer_set(&p->timer, job->sb.timeout_s > 0 ? job->sb.timeout_s : 60, 0.);
    ev_timer_start(l, &p->timer);
  }
  if (!more) {
    ev_io_stop(l, w);
    close(w->fd);
    w->fd = -1;
  }
}

static void kill_job(gr_job_t *job) {
  kill(-job->priv->pid, SIGKILL);
  kill(job->priv->pid, SIGKILL);
}

static void timer_cb(struct ev_loop *l, ev_timer *w, int revents) {
  gr_job_t *job = w->data;
  (void)l, (void)revents;
  job->timed_out = 1;
  kill_job(job);
}

static void start_more(void);

static void finish_pipe(ev_io *io, gr_buf_t *buf, size_t cap, size_t *dropped) {
  if (io->fd < 0)
    return;
  ev_io_stop(loop, io);
  /* The job and everything it started are dead now: what is left in the
   * pipe can be read without waiting. */
  pump(io->fd, buf, cap, dropped);
  close(io->fd);
  io->fd = -1;
}

static void child_cb(struct ev_loop *l, ev_child *w, int revents) {
  gr_job_t *job = w->data;
  struct gr_job_priv *p = job->priv;
  size_t ignored = 0;
  (void)revents;
  ev_child_stop(l, w);
  ev_timer_stop(l, &p->timer);
  job->status = w->rstatus;
  job->secs = gr_now() - p->start;
  /* libev reaped the job before this callback: its pid, free again, may
   * already lead the process group of a job started since. That group is
   * not this job's to kill. */
  int reused = 0;
  for (int i = 0; i < MAX_SLOTS; i++)
    reused |= in_slot[i] && in_slot[i] != job && in_slot[i]->priv &&
              in_slot[i]->priv->pid == p->pid;
  gr_sandbox_cleanup(&job->sb, reused ? 0 : p->pid);
  finish_pipe(&p->out_io, &job->out, job->out_cap, &job->out_dropped);
  finish_pipe(&p->res_io, &job->result, 1 << 20, &ignored);
  slot_busy[p->slot] = 0;
  in_slot[p->slot] = NULL;
  running--;
  free(p);
  job->priv = NULL;
  job_ended(job);
  start_more();
}

static void fail_start(gr_job_t *job, const char *what) {
  job->status = -1;
  gr_buf_printf(&job->out, "grader: could not start %s: %s\n", what,
                strerror(errno));
  job_ended(job);
}

static void spawn(gr_job_t *job) {
  int out[2], res[2] = {-1, -1}, sec[2] = {-1, -1};
  struct gr_job_priv *p = gr_xmalloc(sizeof *p);
  memset(p, 0, sizeof *p);
  for (p->slot = 0; slot_busy[p->slot]; p->slot++)
    ;
  job->sb.slot = p->slot;
  if (job->out_cap == 0)
    job->out_cap = 64 << 10;
  if (pipe2(out, O_CLOEXEC) < 0) {
    free(p);
    fail_start(job, "a pipe");
    return;
  }
  if (job->secret && (pipe2(res, O_CLOEXEC) < 0 || pipe2(sec, O_CLOEXEC) < 0)) {
    close(out[0]);
    close(out[1]);
    free(p);
    fail_start(job, "a pipe");
    return;
  }
  if (job->secret) {
    /* 32 bytes always fit in an empty pipe: no blocking. */
    if (write(sec[1], job->secret, strlen(job->secret)) < 0) {
      /* the runner will report "no secret" and the test fails as no result */
    }
    close(sec[1]);
  }
  /* The slot's uid is leased here, before the fork, once per slot. */
  if (gr_sandbox_own_uid())
    gr_sandbox_uid(p->slot);
  /* A compile job writes into its work folder as the slot's uid. */
  if (job->sb.compile && job->sb.workdir && gr_sandbox_own_uid() && !job->sb.trusted)
    if (chown(job->sb.workdir, (uid_t)gr_sandbox_uid(p->slot),
              (gid_t)gr_sandbox_uid(p->slot)) < 0) {
      /* the compile will fail to write and say so */
    }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    close(out[0]);
    close(out[1]);
    if (job->secret) {
      close(res[0]);
      close(res[1]);
      close(sec[0]);
    }
    free(p);
    fail_start(job, "a process");
    return;
  }
  if (pid == 0) {
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    if (job->secret) {
      dup2(sec[0], 3);
      dup2(res[1], 4);
    }
    /* Nothing else of the grader's reaches the job. */
    close_range(job->secret ? 5 : 3, ~0U, 0);
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (job->sb.trusted) {
      setpgid(0, 0);
      if (job->sb.workdir && chdir(job->sb.workdir) < 0)
        _exit(126);
      execvpe(job->argv[0], job->argv, job->env);
      fprintf(stderr, "grader: could not start %s: %s\n", job->argv[0],
              strerror(errno));
      _exit(127);
    }
    gr_sandbox_exec(&job->sb, job->argv, job->env);
  }
  close(out[1]);
  if (job->secret) {
    close(res[1]);
    close(sec[0]);
  }
  slot_busy[p->slot] = 1;
  in_slot[p->slot] = job;
  running++;
  p->pid = pid;
  p->start = gr_now();
  job->priv = p;
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  ev_io_init(&p->out_io, out_cb, out[0], EV_READ);
  p->out_io.data = job;
  ev_io_start(loop, &p->out_io);
  p->res_io.fd = -1;
  if (job->secret) {
    fcntl(res[0], F_SETFL, O_NONBLOCK);
    ev_io_init(&p->res_io, res_cb, res[0], EV_READ);
    p->res_io.data = job;
    ev_io_start(loop, &p->res_io);
  }
  ev_child_init(&p->child, child_cb, pid, 0);
  p->child.data = job;
  ev_child_start(loop, &p->child);
  ev_timer_init(&p->timer, timer_cb,
                (job->sb.timeout_s > 0 ? job->sb.timeout_s : 60) +
                    (job->secret ? START_GRACE_S : 0), 0.);
  p->timer.data = job;
  ev_timer_start(loop, &p->timer);
}

static void start_more(void) {
  while (running < max_jobs && qlen > 0) {
    gr_job_t *job = queue[qhead];
    qhead = (qhead + 1) % qcap;
    qlen--;
    spawn(job);
  }
}

struct ev_loop *gr_engine_loop(void) { return loop; }

/* Holds the job's group open while it waits, so that its submission
 * cannot end in between. */
struct later {
  ev_timer timer;
  gr_job_t *job;
};

static void later_cb(struct ev_loop *l, ev_timer *w, int revents) {
  struct later *lt = (struct later *)w;
  gr_job_t *job = lt->job;
  gr_group_t *g = job->group;
  (void)revents;
  ev_timer_stop(l, w);
  free(lt);
  waiting--;
  gr_engine_submit(job); /* dropped (and freed) if the engine was stopped */
  gr_group_release(g);
  start_more();
}

void gr_engine_submit_after(gr_job_t *job, double secs) {
  struct later *lt = gr_xmalloc(sizeof *lt);
  lt->job = job;
  if (job->group)
    job->group->pending++;
  ev_timer_init(&lt->timer, later_cb, secs, 0.);
  ev_timer_start(loop, &lt->timer);
  waiting++;
}

void gr_engine_cancel(void) {
  qhead = qlen = 0; /* queued jobs never start; their callbacks never run */
  cancelled = 1;    /* nor do those waiting to be submitted */
  for (int i = 0; i < MAX_SLOTS; i++)
    if (in_slot[i])
      kill_job(in_slot[i]);
}

void gr_engine_run(void) {
  start_more();
  while (running > 0 || qlen > 0 || waiting > 0) {
    ev_run(loop, EVRUN_ONCE);
    start_more();
  }
}
