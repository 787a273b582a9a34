/* An honest alternative: a ring of strings, an eventfd to stop the worker,
 * an ev_idle to answer, the async primed in open. */
#include "thread_lines.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct tlines {
  ev_async async;
  ev_idle idle;
  struct ev_loop *loop;
  tlines_cb cb;
  void *arg;
  int waiting, over;
  pthread_t th;
  int efd;
  char *path;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  char **ring;
  unsigned cap, first, count;
  int done, err, quit;
};

static int put(tlines_t *t, char *s) {
  pthread_mutex_lock(&t->mu);
  while (t->count == t->cap && !t->quit)
    pthread_cond_wait(&t->cv, &t->mu);
  if (t->quit) { pthread_mutex_unlock(&t->mu); free(s); return -1; }
  t->ring[(t->first + t->count++) % t->cap] = s;
  pthread_mutex_unlock(&t->mu);
  ev_async_send(t->loop, &t->async);
  return 0;
}

static char *dup_line(const char *p, size_t n) {
  if (n && p[n - 1] == '\r') n--;
  char *s = malloc(n + 1);
  if (s) { memcpy(s, p, n); s[n] = 0; }
  return s;
}

static void *work(void *arg) {
  tlines_t *t = arg;
  char chunk[512], *acc = NULL;
  size_t alen = 0;
  int err = 0;
  int fd = open(t->path, O_RDONLY | O_NONBLOCK);
  if (fd < 0) err = errno;
  while (fd >= 0) {
    struct pollfd p[2] = {{fd, POLLIN, 0}, {t->efd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) { if (errno == EINTR) continue; err = errno; break; }
    if (p[1].revents) break;
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0) { if (errno == EAGAIN || errno == EINTR) continue; err = errno; break; }
    if (n == 0) {
      if (alen) { char *s = dup_line(acc, alen); if (!s) err = ENOMEM; else put(t, s); }
      break;
    }
    char *more = realloc(acc, alen + (size_t)n);
    if (!more) { err = ENOMEM; break; }
    acc = more; memcpy(acc + alen, chunk, (size_t)n); alen += (size_t)n;
    char *nl; int stop = 0;
    while ((nl = memchr(acc, '\n', alen))) {
      size_t k = (size_t)(nl - acc);
      char *s = dup_line(acc, k);
      if (!s) { err = ENOMEM; stop = 1; break; }
      memmove(acc, nl + 1, alen - k - 1); alen -= k + 1;
      if (put(t, s) < 0) { stop = 1; break; }
    }
    if (stop) break;
  }
  if (fd >= 0) close(fd);
  free(acc);
  pthread_mutex_lock(&t->mu);
  t->done = 1; t->err = err;
  pthread_mutex_unlock(&t->mu);
  ev_async_send(t->loop, &t->async);
  return NULL;
}

static void answer(tlines_t *t) {
  char *s = NULL;
  pthread_mutex_lock(&t->mu);
  int done = t->done, err = t->err;
  if (t->count) {
    s = t->ring[t->first]; t->first = (t->first + 1) % t->cap; t->count--;
    pthread_cond_signal(&t->cv);
  }
  pthread_mutex_unlock(&t->mu);
  if (!s && !done) { ev_async_start(t->loop, &t->async); return; }
  ev_async_stop(t->loop, &t->async);
  t->waiting = 0;
  if (s) { t->cb(t->loop, t, s, strlen(s), 1, t->arg); free(s); return; }
  t->over = 1;
  t->cb(t->loop, t, NULL, 0, err ? -err : 0, t->arg);
}

static void async_cb(struct ev_loop *l, ev_async *w, int re) { (void)l, (void)re; tlines_t *t = w->data; if (t->waiting) answer(t); }
static void idle_cb(struct ev_loop *l, ev_idle *w, int re) { (void)re; ev_idle_stop(l, w); tlines_t *t = w->data; ev_async_start(l, &t->async); answer(t); }

int tlines_open(tlines_t **out, struct ev_loop *loop, const char *path, unsigned max_queued) {
  if (!out || !loop || !path || !max_queued) return -EINVAL;
  tlines_t *t = calloc(1, sizeof *t);
  if (!t) return -ENOMEM;
  t->ring = calloc(max_queued, sizeof *t->ring);
  t->path = strdup(path);
  if (!t->ring || !t->path) { free(t->ring); free(t->path); free(t); return -ENOMEM; }
  t->efd = eventfd(0, EFD_CLOEXEC);
  if (t->efd < 0) { int e = errno; free(t->ring); free(t->path); free(t); return -e; }
  t->cap = max_queued; t->loop = loop;
  pthread_mutex_init(&t->mu, NULL); pthread_cond_init(&t->cv, NULL);
  ev_async_init(&t->async, async_cb); t->async.data = t;
  ev_idle_init(&t->idle, idle_cb); t->idle.data = t;
  ev_async_start(loop, &t->async); ev_async_stop(loop, &t->async);
  int e = pthread_create(&t->th, NULL, work, t);
  if (e) { close(t->efd); pthread_mutex_destroy(&t->mu); pthread_cond_destroy(&t->cv); free(t->ring); free(t->path); free(t); return -e; }
  *out = t;
  return 0;
}

int tlines_next(tlines_t *t, tlines_cb cb, void *arg) {
  if (t->waiting) return -EBUSY;
  if (t->over) return -EPIPE;
  t->waiting = 1; t->cb = cb; t->arg = arg;
  ev_idle_start(t->loop, &t->idle);
  return 0;
}

unsigned tlines_queued(tlines_t *t) {
  pthread_mutex_lock(&t->mu); unsigned n = t->count; pthread_mutex_unlock(&t->mu); return n;
}

void tlines_free(tlines_t *t) {
  if (!t) return;
  ev_idle_stop(t->loop, &t->idle);
  ev_async_stop(t->loop, &t->async);
  pthread_mutex_lock(&t->mu); t->quit = 1; pthread_cond_broadcast(&t->cv); pthread_mutex_unlock(&t->mu);
  uint64_t one = 1;
  (void)!write(t->efd, &one, sizeof one);
  pthread_join(t->th, NULL);
  while (t->count) { free(t->ring[t->first]); t->first = (t->first + 1) % t->cap; t->count--; }
  close(t->efd);
  pthread_mutex_destroy(&t->mu); pthread_cond_destroy(&t->cv);
  free(t->ring); free(t->path); free(t);
}
