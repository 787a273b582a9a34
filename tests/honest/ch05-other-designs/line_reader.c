/* An honest alternative: one read per wake-up, an ev_idle for answers,
 * the line copied out before the callback. */
#include "line_reader.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct line_reader {
  ev_io io;
  ev_idle idle;
  struct ev_loop *loop;
  line_read_fn rd;
  void *ctx;
  line_reader_cb cb;
  void *arg;
  int pending, eof, done;
  size_t max, len;
  char *buf;  /* max + 2 */
  char *line; /* max + 1 */
};

static void finish(line_reader_t *r, int status, size_t n) {
  line_reader_cb cb = r->cb;
  void *arg = r->arg;
  ev_idle_stop(r->loop, &r->idle);
  ev_io_stop(r->loop, &r->io);
  r->pending = 0;
  if (status <= 0)
    r->done = 1;
  cb(r->loop, r, status == 1 ? r->line : NULL, status == 1 ? n : 0, status, arg);
}

/* 1 if answered */
static int from_buffer(line_reader_t *r) {
  char *nl = memchr(r->buf, '\n', r->len);
  size_t n;
  if (!nl) {
    if (r->len >= r->max + 2) { finish(r, -EMSGSIZE, 0); return 1; }
    if (!r->eof) return 0;
    if (r->len == 0) { finish(r, 0, 0); return 1; }
    if (r->len > r->max) { finish(r, -EMSGSIZE, 0); return 1; }
    n = r->len;
    memcpy(r->line, r->buf, n);
    r->len = 0;
  } else {
    n = (size_t)(nl - r->buf);
    size_t used = n + 1;
    if (n && r->buf[n - 1] == '\r') n--;
    if (n > r->max) { finish(r, -EMSGSIZE, 0); return 1; }
    memcpy(r->line, r->buf, n);
    memmove(r->buf, r->buf + used, r->len - used);
    r->len -= used;
  }
  r->line[n] = 0;
  finish(r, 1, n);
  return 1;
}

static void idle_cb(struct ev_loop *loop, ev_idle *w, int revents) {
  line_reader_t *r = w->data;
  (void)revents;
  ev_idle_stop(loop, w);
  if (!from_buffer(r))
    ev_io_start(loop, &r->io);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents) {
  line_reader_t *r = w->data;
  (void)loop, (void)revents;
  ssize_t n = r->rd(w->fd, r->buf + r->len, r->max + 2 - r->len, r->ctx);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    finish(r, -errno, 0);
    return;
  }
  if (n == 0) r->eof = 1;
  r->len += (size_t)n;
  from_buffer(r);
}

static ssize_t plain(int fd, void *b, size_t l, void *c) { (void)c; return read(fd, b, l); }

int line_reader_new(line_reader_t **out, struct ev_loop *loop, int fd,
                    size_t max_len, line_read_fn read_fn, void *ctx) {
  if (!out || !loop || fd < 0 || !max_len) return -EINVAL;
  line_reader_t *r = calloc(1, sizeof *r);
  if (!r) return -ENOMEM;
  r->buf = malloc(max_len + 2);
  r->line = malloc(max_len + 1);
  if (!r->buf || !r->line) { free(r->buf); free(r->line); free(r); return -ENOMEM; }
  r->loop = loop; r->rd = read_fn ? read_fn : plain; r->ctx = ctx; r->max = max_len;
  ev_io_init(&r->io, io_cb, fd, EV_READ); r->io.data = r;
  ev_idle_init(&r->idle, idle_cb); r->idle.data = r;
  *out = r;
  return 0;
}

int line_reader_next(line_reader_t *r, line_reader_cb cb, void *arg) {
  if (r->pending) return -EBUSY;
  if (r->done) return -EPIPE;
  r->pending = 1; r->cb = cb; r->arg = arg;
  ev_idle_start(r->loop, &r->idle);
  return 0;
}

void line_reader_free(line_reader_t *r) {
  if (!r) return;
  ev_io_stop(r->loop, &r->io);
  ev_idle_stop(r->loop, &r->idle);
  free(r->buf); free(r->line); free(r);
}
