/* An honest alternative: workers wake the loop through a pipe watched by
 * an ev_io (not ev_async), and done is called before the count drops. */
#include "thread_executor.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct jb { executor_work_fn w; executor_done_cb d; void *a; int st; struct jb *nx; } jb;

struct executor {
  struct ev_loop *loop;
  ev_io io;
  int p[2];
  unsigned out;
  pthread_mutex_t m;
  pthread_cond_t c;
  jb *q, *qt, *r, *rt;
  int stop;
  unsigned nt;
  pthread_t *t;
};

static void *run(void *arg) {
  executor_t *x = arg;
  pthread_mutex_lock(&x->m);
  while (1) {
    while (!x->q && !x->stop)
      pthread_cond_wait(&x->c, &x->m);
    jb *j = x->q;
    if (!j)
      break;
    x->q = j->nx;
    if (!x->q) x->qt = NULL;
    pthread_mutex_unlock(&x->m);
    j->w(j->a);
    pthread_mutex_lock(&x->m);
    j->nx = NULL;
    if (x->rt) x->rt->nx = j; else x->r = j;
    x->rt = j;
    char b = 1;
    ssize_t rc = write(x->p[1], &b, 1);
    (void)rc;
  }
  pthread_mutex_unlock(&x->m);
  return NULL;
}

static void give(executor_t *x, jb *j) {
  j->d(x->loop, j->a, j->st);
  free(j);
  if (--x->out == 0)
    ev_io_stop(x->loop, &x->io);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents) {
  executor_t *x = w->data;
  char buf[256];
  (void)loop, (void)revents;
  while (read(x->p[0], buf, sizeof buf) > 0)
    ;
  pthread_mutex_lock(&x->m);
  jb *j = x->r;
  x->r = x->rt = NULL;
  pthread_mutex_unlock(&x->m);
  while (j) {
    jb *n = j->nx;
    give(x, j);
    j = n;
  }
}

int executor_new(executor_t **out, struct ev_loop *loop, unsigned nthreads) {
  if (!nthreads || nthreads > EXECUTOR_MAX_THREADS)
    return -EINVAL;
  executor_t *x = calloc(1, sizeof *x);
  pthread_t *t = calloc(nthreads, sizeof *t);
  if (!x || !t) {
    free(x); free(t);
    return -ENOMEM;
  }
  x->t = t;
  if (pipe(x->p) < 0) {
    free(x); free(t);
    return -ENOMEM;
  }
  fcntl(x->p[0], F_SETFL, O_NONBLOCK);
  x->loop = loop;
  pthread_mutex_init(&x->m, NULL);
  pthread_cond_init(&x->c, NULL);
  ev_io_init(&x->io, io_cb, x->p[0], EV_READ);
  x->io.data = x;
  for (x->nt = 0; x->nt < nthreads; x->nt++)
    if (pthread_create(&t[x->nt], NULL, run, x)) {
      executor_free(x);
      return -EAGAIN;
    }
  *out = x;
  return 0;
}

int executor_submit(executor_t *x, executor_work_fn work, executor_done_cb done,
                    void *arg) {
  jb *j = calloc(1, sizeof *j);
  if (!j)
    return -ENOMEM;
  j->w = work; j->d = done; j->a = arg;
  if (x->out++ == 0)
    ev_io_start(x->loop, &x->io);
  pthread_mutex_lock(&x->m);
  if (x->qt) x->qt->nx = j; else x->q = j;
  x->qt = j;
  pthread_cond_signal(&x->c);
  pthread_mutex_unlock(&x->m);
  return 0;
}

void executor_free(executor_t *x) {
  if (!x)
    return;
  pthread_mutex_lock(&x->m);
  jb *drop = x->q;
  x->q = x->qt = NULL;
  x->stop = 1;
  pthread_cond_broadcast(&x->c);
  pthread_mutex_unlock(&x->m);
  for (unsigned i = 0; i < x->nt; i++)
    pthread_join(x->t[i], NULL);
  for (jb *j = x->r, *n; j; j = n) {
    n = j->nx;
    give(x, j);
  }
  for (jb *j = drop, *n; j; j = n) {
    n = j->nx;
    j->st = -ECANCELED;
    give(x, j);
  }
  ev_io_stop(x->loop, &x->io);
  close(x->p[0]);
  close(x->p[1]);
  pthread_cond_destroy(&x->c);
  pthread_mutex_destroy(&x->m);
  free(x->t);
  free(x);
}
