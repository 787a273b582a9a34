/* read_two_lines.c - exercise 09.2, the reference solution: both watchers
 * are started and read_two_lines returns; the watcher whose line completes
 * the pair calls back. Nothing waits for anything: the loop does.
 */
#include "read_two_lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pair;

/* One line being read. The watcher comes first: libev's ev_io pointer is
 * the line. */
struct line {
  ev_io io;
  char buf[TWO_LINES_MAX + 2]; /* the line, its '\n', and room for a NUL */
  size_t len;
  int ok;   /* a whole line arrived */
  int done; /* the line is in, or failed */
  struct pair *pair;
};

struct pair {
  struct line a, b;
  int pending; /* lines still being read */
  two_lines_cb cb;
  void *arg;
};

/* Both lines are in: call back, then free. */
static void pair_finish(struct ev_loop *loop, struct pair *p) {
  p->cb(loop, p->a.ok ? p->a.buf : NULL, p->b.ok ? p->b.buf : NULL, p->arg);
  free(p);
}

static void line_readable(struct ev_loop *loop, ev_io *w, int revents) {
  struct line *l = (struct line *)w;
  (void)revents;
  ssize_t n = read(w->fd, l->buf + l->len, TWO_LINES_MAX + 1 - l->len);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return; /* nothing there after all: wait again */
  if (n > 0) {
    l->len += (size_t)n;
    char *nl = memchr(l->buf, '\n', l->len);
    if (nl) {
      *nl = 0;
      l->ok = 1;
    } else if (l->len <= TWO_LINES_MAX) {
      return; /* a piece of the line: wait for the rest */
    }
  }
  /* The line is in, too long, at end of file, or failed. */
  ev_io_stop(loop, w);
  l->done = 1;
  /* The second line to be done completes the pair: the code after
   * `await gather(read_a, read_b)` runs here. */
  if (--l->pair->pending == 0)
    pair_finish(loop, l->pair);
}

static void line_start(struct ev_loop *loop, struct line *l, int fd,
                       struct pair *p) {
  l->pair = p;
  ev_io_init(&l->io, line_readable, fd, EV_READ);
  ev_io_start(loop, &l->io);
}

int read_two_lines(struct ev_loop *loop, int fd_a, int fd_b, two_lines_cb cb,
                   void *arg) {
  struct pair *p = calloc(1, sizeof *p);
  if (!p)
    return -1;
  p->cb = cb;
  p->arg = arg;
  p->pending = 2;
  line_start(loop, &p->a, fd_a, p);
  line_start(loop, &p->b, fd_b, p);
  /* Both reads are under way; the loop finishes them. Return now. */
  return 0;
}
