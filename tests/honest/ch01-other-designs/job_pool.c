/* An honest alternative: one ev_child for any child (pid 0), a table of
 * running workers searched by pid, the answer read in exit order, plain
 * global helper names, separate allocations, ev_once for "later". */
#include "job_pool.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

struct slot {
  ev_io io;
  pid_t pid;
  size_t index;
  long answer;
  size_t got;
  int open, exited, status;
};

struct pool {
  struct ev_loop *loop;
  pool_fn fn;
  pool_done_cb done;
  void *arg;
  long *inputs;
  struct pool_result *results;
  struct slot *slots; /* max_workers of them; pid 0: free */
  size_t n, next, over;
  unsigned max, running;
  ev_child any;
};

void finish(struct pool *p) {
  p->done(p->loop, p->results, p->n, p->arg);
  free(p->inputs);
  free(p->results);
  free(p->slots);
  free(p);
}

void finish_later(int revents, void *arg) {
  (void)revents;
  finish(arg);
}

void fill(struct pool *p);

void slot_over(struct pool *p, struct slot *s) {
  if (s->open || !s->exited)
    return;
  struct pool_result *r = &p->results[s->index];
  r->wait_status = s->status;
  r->ok = s->got == sizeof s->answer && WIFEXITED(s->status) &&
          WEXITSTATUS(s->status) == 0;
  r->value = r->ok ? s->answer : 0;
  s->pid = 0;
  p->running--;
  p->over++;
  fill(p);
  if (p->running == 0)
    ev_child_stop(p->loop, &p->any);
  if (p->over == p->n)
    finish(p);
}

void readable(struct ev_loop *loop, ev_io *w, int revents) {
  struct slot *s = (struct slot *)w;
  struct pool *p = w->data;
  (void)revents;
  char buf[16];
  ssize_t n = read(w->fd, buf, sizeof buf);
  if (n > 0) {
    for (ssize_t i = 0; i < n; i++, s->got++)
      if (s->got < sizeof s->answer)
        ((char *)&s->answer)[s->got] = buf[i];
    return;
  }
  if (s->got != sizeof s->answer)
    s->got = 0;
  ev_io_stop(loop, w);
  close(w->fd);
  s->open = 0;
  slot_over(p, s);
}

void exited(struct ev_loop *loop, ev_child *w, int revents) {
  struct pool *p = w->data;
  (void)loop, (void)revents;
  for (unsigned i = 0; i < p->max; i++)
    if (p->slots[i].pid == w->rpid && !p->slots[i].exited) {
      p->slots[i].exited = 1;
      p->slots[i].status = w->rstatus;
      slot_over(p, &p->slots[i]);
      return;
    }
}

void fill(struct pool *p) {
  for (unsigned i = 0; i < p->max && p->next < p->n; i++) {
    struct slot *s = &p->slots[i];
    if (s->pid)
      continue;
    size_t index = p->next++;
    int fds[2];
    pid_t pid = -1;
    if (pipe(fds) == 0 && (pid = fork()) < 0)
      close(fds[0]), close(fds[1]);
    if (pid < 0) {
      p->results[index].wait_status = -1;
      p->over++;
      i--; /* this place is still free */
      continue;
    }
    if (pid == 0) {
      long v = p->fn(p->inputs[index]);
      _exit(write(fds[1], &v, sizeof v) == sizeof v ? 0 : 1);
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    *s = (struct slot){.pid = pid, .index = index, .open = 1};
    ev_io_init(&s->io, readable, fds[0], EV_READ);
    s->io.data = p;
    ev_io_start(p->loop, &s->io);
    if (p->running++ == 0)
      ev_child_start(p->loop, &p->any);
  }
}

int pool_map(struct ev_loop *loop, pool_fn fn, const long *inputs, size_t n,
             unsigned max_workers, pool_done_cb done, void *arg) {
  if (!max_workers)
    return -1;
  struct pool *p = calloc(1, sizeof *p);
  if (!p)
    return -1;
  p->slots = calloc(max_workers, sizeof *p->slots);
  p->inputs = n ? malloc(n * sizeof *p->inputs) : NULL;
  p->results = n ? calloc(n, sizeof *p->results) : NULL;
  if (!p->slots || (n && (!p->inputs || !p->results))) {
    free(p->slots), free(p->inputs), free(p->results), free(p);
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    p->inputs[i] = inputs[i];
  *p = (struct pool){.loop = loop, .fn = fn, .done = done, .arg = arg,
                     .inputs = p->inputs, .results = p->results,
                     .slots = p->slots, .n = n, .max = max_workers};
  ev_child_init(&p->any, exited, 0, 0);
  p->any.data = p;
  fill(p);
  if (p->running == 0)
    ev_once(loop, -1, 0, 0., finish_later, p);
  return 0;
}
