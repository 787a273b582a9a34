/* line_reader.c - exercise 05.1, the reference solution: an async line
 * iterator. Each request is answered from the buffer when a whole line is
 * there, and otherwise after reads that the loop wakes when fd is readable.
 */
#include "line_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct line_reader {
  ev_io io;           /* fd readable: only while a request needs more bytes */
  ev_timer kick;      /* 0 s: answers a request from the loop, never inline */
  struct ev_loop *loop;
  line_read_fn read_fn;
  void *ctx;
  line_reader_cb cb;  /* the pending request, if `pending` */
  void *arg;
  int pending, eof, over;
  size_t max_len;
  size_t cap;         /* max_len + "\r\n": a longer line is an error */
  size_t start, len;  /* bytes not yet handed over: buf[start, start+len) */
  char buf[];         /* cap + 1 bytes: room for the '\0' of a last line */
};

static ssize_t plain_read(int fd, void *buf, size_t len, void *ctx) {
  (void)ctx;
  return read(fd, buf, len);
}

/* Hands the pending request its answer. The line stays in buf (start has
 * already moved past it) until the next read compacts the buffer, so it
 * is valid while cb runs; r is not touched after cb, which may free it. */
static void answer(line_reader_t *r, const char *line, size_t len, int status) {
  line_reader_cb cb = r->cb;
  r->pending = 0;
  if (status <= 0)
    r->over = 1; /* the end or an error: the stream is over */
  cb(r->loop, r, line, len, status, r->arg);
}

/* Answers from the buffer if it can; otherwise waits for fd. */
static void try_answer(line_reader_t *r) {
  char *data = r->buf + r->start;
  char *nl = memchr(data, '\n', r->len);
  if (nl) {
    size_t len = (size_t)(nl - data), used = len + 1;
    if (len > 0 && data[len - 1] == '\r')
      len--; /* CRLF, even when "\r" and "\n" came in different reads */
    if (len > r->max_len) {
      answer(r, NULL, 0, -EMSGSIZE);
      return;
    }
    data[len] = '\0';
    r->start += used, r->len -= used;
    answer(r, data, len, 1);
  } else if (r->len == r->cap) {
    answer(r, NULL, 0, -EMSGSIZE); /* full, and still no end of line */
  } else if (r->eof) {
    if (r->len > r->max_len) {
      answer(r, NULL, 0, -EMSGSIZE);
    } else if (r->len > 0) { /* a last line without "\n" */
      size_t len = r->len;
      data[len] = '\0'; /* start + len < cap + 1: inside buf */
      r->start += len, r->len = 0;
      answer(r, data, len, 1);
    } else {
      answer(r, NULL, 0, 0);
    }
  } else {
    ev_io_start(r->loop, &r->io); /* the await: more bytes, later */
  }
}

static void kick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  line_reader_t *r = w->data;
  (void)loop, (void)revents;
  try_answer(r);
}

/* fd is readable: read until a line is whole, the buffer is full, the
 * file ends, or there is nothing more for now. */
static void io_cb(struct ev_loop *loop, ev_io *w, int revents) {
  line_reader_t *r = w->data;
  (void)revents;
  if (r->start > 0) { /* make room: what was handed over goes */
    memmove(r->buf, r->buf + r->start, r->len);
    r->start = 0;
  }
  for (;;) {
    size_t had = r->len;
    ssize_t n = r->read_fn(w->fd, r->buf + had, r->cap - had, r->ctx);
    int err = errno;
    if (n < 0 && err == EINTR)
      continue; /* nothing was read: read again now */
    if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK))
      return; /* the watcher stays: the loop calls again */
    if (n > 0) {
      r->len += (size_t)n;
      if (!memchr(r->buf + had, '\n', (size_t)n) && r->len < r->cap)
        continue; /* no line yet, and room for more */
    } else if (n == 0) {
      r->eof = 1;
    }
    ev_io_stop(loop, w); /* this request needs no more bytes */
    if (n < 0)
      answer(r, NULL, 0, -err);
    else
      try_answer(r);
    return;
  }
}

int line_reader_new(line_reader_t **out, struct ev_loop *loop, int fd,
                    size_t max_len, line_read_fn read_fn, void *ctx) {
  if (!out || !loop || fd < 0 || max_len == 0 || max_len > (size_t)-1 / 2)
    return -EINVAL;
  line_reader_t *r = malloc(sizeof *r + max_len + 3);
  if (!r)
    return -ENOMEM;
  memset(r, 0, sizeof *r);
  r->loop = loop;
  r->read_fn = read_fn ? read_fn : plain_read;
  r->ctx = ctx;
  r->max_len = max_len;
  r->cap = max_len + 2;
  ev_io_init(&r->io, io_cb, fd, EV_READ);
  r->io.data = r;
  ev_timer_init(&r->kick, kick_cb, 0., 0.);
  r->kick.data = r;
  *out = r;
  return 0;
}

int line_reader_next(line_reader_t *r, line_reader_cb cb, void *arg) {
  if (r->pending)
    return -EBUSY;
  if (r->over)
    return -EPIPE;
  r->pending = 1;
  r->cb = cb;
  r->arg = arg;
  ev_timer_start(r->loop, &r->kick);
  return 0;
}

void line_reader_free(line_reader_t *r) {
  if (!r)
    return;
  ev_io_stop(r->loop, &r->io);
  ev_timer_stop(r->loop, &r->kick);
  free(r);
}
