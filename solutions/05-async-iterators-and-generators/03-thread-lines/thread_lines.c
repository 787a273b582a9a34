/* thread_lines.c - exercise 05.3, the reference solution: a worker thread
 * reads the file with poll and read, queues whole lines (waiting while the
 * queue is full), and wakes the loop with ev_async_send; the loop answers
 * one request at a time from the queue.
 */
#include "thread_lines.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tline {
  struct tline *next;
  size_t len;
  char text[]; /* len bytes and a '\0' */
};

struct tlines {
  ev_async wake;  /* the worker queued a line or finished; started only
                     while a request waits for it */
  ev_timer kick;  /* 0 s: answers a request from the loop, never inline */
  struct ev_loop *loop;
  tlines_cb cb;   /* the pending request, if `pending` (loop's thread) */
  void *arg;
  int pending, over;
  char *path;
  pthread_t thread;
  int stop_fds[2]; /* tlines_free writes a byte: the worker's poll wakes */
  /* Shared by both threads, under `lock`. */
  pthread_mutex_t lock;
  pthread_cond_t room; /* a line was taken, or the worker must stop */
  struct tline *head, **tail;
  unsigned queued, max_queued;
  int finished, error, stopping;
};

/* ---- The worker thread ---------------------------------------------------- */

/* Queues one line (a "\r" before its "\n" dropped), waiting while the queue
 * is full. Returns 0, -ENOMEM, or -ECANCELED when tlines_free stops us. */
static int push_line(tlines_t *t, const char *text, size_t len) {
  if (len > 0 && text[len - 1] == '\r')
    len--;
  struct tline *l = malloc(sizeof *l + len + 1);
  if (!l)
    return -ENOMEM;
  l->next = NULL;
  l->len = len;
  memcpy(l->text, text, len);
  l->text[len] = '\0';
  pthread_mutex_lock(&t->lock);
  while (t->queued == t->max_queued && !t->stopping)
    pthread_cond_wait(&t->room, &t->lock); /* backpressure: the loop is behind */
  if (t->stopping) {
    pthread_mutex_unlock(&t->lock);
    free(l);
    return -ECANCELED;
  }
  *t->tail = l, t->tail = &l->next;
  t->queued++;
  pthread_mutex_unlock(&t->lock);
  ev_async_send(t->loop, &t->wake); /* the one libev call of this thread */
  return 0;
}

/* Waits until fd has something for read() (data, the end, an error), or
 * until tlines_free asks to stop: 1, 0 to stop, or -errno. A blocking read
 * could not be interrupted; poll on both descriptors can. */
static int wait_readable(tlines_t *t, int fd) {
  struct pollfd p[2] = {{fd, POLLIN, 0}, {t->stop_fds[0], POLLIN, 0}};
  for (;;) {
    if (poll(p, 2, -1) >= 0)
      return p[1].revents ? 0 : 1;
    if (errno != EINTR)
      return -errno;
  }
}

static void *tlines_worker(void *arg) {
  tlines_t *t = arg;
  char *buf = NULL;
  size_t cap = 0, len = 0;
  int error = 0;
  /* O_NONBLOCK: opening a FIFO does not wait for a writer, and a read
   * with nothing in it says EAGAIN instead of waiting out of poll's reach. */
  int fd = open(t->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    error = errno;
  while (fd >= 0) {
    if (len == cap) { /* a line may be longer than anything so far */
      char *bigger = realloc(buf, cap ? cap * 2 : 256);
      if (!bigger) {
        error = ENOMEM;
        break;
      }
      buf = bigger, cap = cap ? cap * 2 : 256;
    }
    int ready = wait_readable(t, fd);
    if (ready <= 0) {
      error = -ready; /* 0: stopped, no error */
      break;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      continue;
    if (n < 0) {
      error = errno;
      break;
    }
    if (n == 0) { /* the end: a last line without "\n" still counts */
      if (len > 0)
        error = -push_line(t, buf, len);
      break;
    }
    size_t start = 0, end = len + (size_t)n;
    int rc = 0;
    for (size_t i = len; i < end && rc == 0; i++)
      if (buf[i] == '\n') {
        rc = push_line(t, buf + start, i - start);
        start = i + 1;
      }
    if (rc < 0) {
      error = rc == -ECANCELED ? 0 : -rc;
      break;
    }
    memmove(buf, buf + start, end - start);
    len = end - start;
  }
  if (fd >= 0)
    close(fd);
  free(buf);
  pthread_mutex_lock(&t->lock);
  t->finished = 1, t->error = error;
  pthread_mutex_unlock(&t->lock);
  ev_async_send(t->loop, &t->wake);
  return NULL;
}

/* ---- The loop's side -------------------------------------------------------- */

/* Answers the pending request from the queue, or with the end or the
 * error once the worker has finished; else waits for the worker. */
static void try_answer(tlines_t *t) {
  /* Started before looking: a line queued after the look wakes us. */
  ev_async_start(t->loop, &t->wake);
  pthread_mutex_lock(&t->lock);
  struct tline *l = t->head;
  if (l) {
    t->head = l->next;
    if (!t->head)
      t->tail = &t->head;
    t->queued--;
    pthread_cond_signal(&t->room);
  }
  int finished = t->finished, error = t->error;
  pthread_mutex_unlock(&t->lock);
  if (!l && !finished)
    return; /* the worker wakes us */
  ev_async_stop(t->loop, &t->wake);
  t->pending = 0;
  if (l) {
    t->cb(t->loop, t, l->text, l->len, 1, t->arg); /* may free t, not l */
    free(l);
  } else {
    t->over = 1;
    t->cb(t->loop, t, NULL, 0, error ? -error : 0, t->arg);
  }
}

static void wake_cb(struct ev_loop *loop, ev_async *w, int revents) {
  tlines_t *t = w->data;
  (void)loop, (void)revents;
  if (t->pending)
    try_answer(t);
}

static void kick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  try_answer(w->data);
}

int tlines_open(tlines_t **out, struct ev_loop *loop, const char *path,
                unsigned max_queued) {
  if (!out || !loop || !path || max_queued == 0)
    return -EINVAL;
  int rc = -ENOMEM;
  tlines_t *t = calloc(1, sizeof *t);
  if (!t)
    goto fail_alloc;
  t->path = strdup(path);
  if (!t->path)
    goto fail_path;
  if (pipe2(t->stop_fds, O_CLOEXEC) < 0) {
    rc = -errno;
    goto fail_pipe;
  }
  t->loop = loop;
  t->head = NULL, t->tail = &t->head;
  t->max_queued = max_queued;
  pthread_mutex_init(&t->lock, NULL);
  pthread_cond_init(&t->room, NULL);
  ev_async_init(&t->wake, wake_cb);
  t->wake.data = t;
  /* libev makes the pipe that ev_async_send writes to at the loop's first
   * ev_async_start. Before the worker can send, that must have happened:
   * start the watcher once here, on the loop's thread, then stop it. */
  ev_async_start(loop, &t->wake);
  ev_async_stop(loop, &t->wake);
  ev_timer_init(&t->kick, kick_cb, 0., 0.);
  t->kick.data = t;
  int err = pthread_create(&t->thread, NULL, tlines_worker, t);
  if (err) {
    rc = -err;
    goto fail_thread;
  }
  *out = t;
  return 0;

fail_thread:
  pthread_cond_destroy(&t->room);
  pthread_mutex_destroy(&t->lock);
  close(t->stop_fds[0]);
  close(t->stop_fds[1]);
fail_pipe:
  free(t->path);
fail_path:
  free(t);
fail_alloc:
  return rc;
}

int tlines_next(tlines_t *t, tlines_cb cb, void *arg) {
  if (t->pending)
    return -EBUSY;
  if (t->over)
    return -EPIPE;
  t->pending = 1;
  t->cb = cb;
  t->arg = arg;
  ev_timer_start(t->loop, &t->kick);
  return 0;
}

unsigned tlines_queued(tlines_t *t) {
  pthread_mutex_lock(&t->lock);
  unsigned n = t->queued;
  pthread_mutex_unlock(&t->lock);
  return n;
}

void tlines_free(tlines_t *t) {
  if (!t)
    return;
  ev_timer_stop(t->loop, &t->kick);
  ev_async_stop(t->loop, &t->wake);
  /* Wake the worker wherever it waits: for room, or in poll. */
  pthread_mutex_lock(&t->lock);
  t->stopping = 1;
  pthread_cond_broadcast(&t->room);
  pthread_mutex_unlock(&t->lock);
  (void)!write(t->stop_fds[1], "", 1);
  pthread_join(t->thread, NULL);
  for (struct tline *l = t->head, *next; l; l = next) {
    next = l->next;
    free(l);
  }
  pthread_cond_destroy(&t->room);
  pthread_mutex_destroy(&t->lock);
  close(t->stop_fds[0]);
  close(t->stop_fds[1]);
  free(t->path);
  free(t);
}
