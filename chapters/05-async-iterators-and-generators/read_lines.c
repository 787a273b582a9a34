/* read_lines.c - `async for line in read_lines(...)` over a non-blocking
 * pipe: a line reader that keeps what a read brought until its line is
 * whole, however the bytes are cut. A timer writes the lines into the pipe
 * a few bytes at a time; the reader hands over each line, then the end.
 * expect: lag_ms < 50, elapsed_ms < 1000, errors < 1, lines_lost < 1
 */
#define _GNU_SOURCE /* pipe2 */
#include "pipe_feed.h"
#include "wb_lag.h"
#include "wb_trace.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_LEN 63 /* the longest line accepted, in bytes */

struct line_reader;

/* The iterator's protocol: status 1 for each line (NUL-terminated, without
 * its "\n" or "\r\n"), then exactly once either 0 (the end) or a negative
 * errno value (-EMSGSIZE: a line longer than LINE_MAX_LEN). */
typedef void (*line_cb)(struct ev_loop *loop, struct line_reader *r,
                        const char *line, size_t len, int status);

struct line_reader {
  ev_io io;                     /* readable: the only wait */
  char buf[LINE_MAX_LEN + 2];   /* a line, its "\r\n" fits: nothing more */
  size_t len;                   /* bytes in buf not yet handed over */
  line_cb cb;
  void *data;                   /* the caller's */
};

/* The end or an error: stop waiting, then say so once. */
static void reader_finish(struct ev_loop *loop, struct line_reader *r,
                          int status) {
  ev_io_stop(loop, &r->io);
  r->cb(loop, r, NULL, 0, status);
}

/* Hands over every whole line in buf and keeps the rest for the next read.
 * Returns -1 once the reader has finished with an error. */
static int reader_split(struct ev_loop *loop, struct line_reader *r) {
  char *nl;
  while ((nl = memchr(r->buf, '\n', r->len)) != NULL) {
    size_t len = (size_t)(nl - r->buf), used = len + 1;
    if (len > 0 && r->buf[len - 1] == '\r')
      len--; /* CRLF: the '\r' may have come in an earlier read */
    if (len > LINE_MAX_LEN) {
      reader_finish(loop, r, -EMSGSIZE);
      return -1;
    }
    r->buf[len] = '\0';
    r->cb(loop, r, r->buf, len, 1);
    memmove(r->buf, r->buf + used, r->len - used);
    r->len -= used;
  }
  /* A full buffer with no '\n' holds more than LINE_MAX_LEN bytes of one
   * line: an error, never a write past the end. */
  if (r->len == sizeof r->buf) {
    reader_finish(loop, r, -EMSGSIZE);
    return -1;
  }
  return 0;
}

/* The descriptor is readable: read until it has nothing more for now. */
static void reader_io_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct line_reader *r = (struct line_reader *)w;
  (void)revents;
  for (;;) {
    ssize_t n = read(w->fd, r->buf + r->len, sizeof r->buf - r->len);
    if (n < 0 && errno == EINTR)
      continue; /* a signal came first: nothing was read, try again */
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return; /* nothing more now: the loop calls again when there is */
    if (n < 0) {
      reader_finish(loop, r, -errno);
      return;
    }
    if (n == 0) { /* end of file: a last line without '\n' still counts */
      if (r->len > LINE_MAX_LEN) {
        reader_finish(loop, r, -EMSGSIZE);
        return;
      }
      if (r->len > 0) {
        r->buf[r->len] = '\0';
        r->cb(loop, r, r->buf, r->len, 1);
        r->len = 0;
      }
      reader_finish(loop, r, 0);
      return;
    }
    r->len += (size_t)n;
    if (reader_split(loop, r) < 0)
      return;
  }
}

/* Starts reading `fd`, which must be non-blocking: cb gets each line. */
static void line_reader_start(struct ev_loop *loop, struct line_reader *r,
                              int fd, line_cb cb, void *data) {
  r->len = 0;
  r->cb = cb;
  r->data = data;
  ev_io_init(&r->io, reader_io_cb, fd, EV_READ);
  ev_io_start(loop, &r->io);
}

/* ---- async def main(): async for line in read_lines(...): print(line) --- */

struct app {
  struct ev_loop *loop;
  struct line_reader reader;
  struct pipe_feed feed;
  char got[16][64]; /* what the reader handed over, to count what was lost */
  int ngot, errors;
};

static void print_line(struct ev_loop *loop, struct line_reader *r,
                       const char *line, size_t len, int status) {
  struct app *app = r->data;
  (void)loop, (void)len;
  if (status == 1) {
    printf("line %d: \"%s\"\n", app->ngot + 1, line);
    wb_trace_mark("reader: line %d", app->ngot + 1);
    if (app->ngot < 16)
      snprintf(app->got[app->ngot++], sizeof app->got[0], "%s", line);
    return;
  }
  if (status < 0) {
    printf("read_lines: %s\n", strerror(-status));
    app->errors++;
  } else {
    printf("the end\n");
  }
  wb_trace_mark("reader: %s", status ? "error" : "the end");
  close(r->io.fd);
}

static void async_main(int revents, void *arg) {
  struct app *app = arg;
  struct ev_loop *loop = app->loop;
  int fds[2];
  (void)revents;
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
    perror("pipe2");
    app->errors++;
    return;
  }
  line_reader_start(loop, &app->reader, fds[0], print_line, app);
  feed_start(loop, &app->feed, fds[1]);
}

int main(void) {
  static struct app app;
  wb_lag_t lag;
  double t0 = wb_now_ms();
  struct ev_loop *loop = app.loop = ev_loop_new(EVFLAG_AUTO);
  wb_lag_start(loop, &lag);
  ev_once(loop, -1, 0, 0., async_main, &app);
  ev_run(loop, 0);
  wb_lag_stop(loop, &lag);
  ev_loop_destroy(loop);
  int lost = feed_lines_lost(app.got, app.ngot);
  printf("measured: lag_ms=%.0f elapsed_ms=%.0f open_fds=%d errors=%d "
         "lines=%d lines_lost=%d\n",
         wb_lag_longest_ms(&lag), wb_now_ms() - t0, wb_open_fds(), app.errors,
         app.ngot, lost);
  return app.errors || lost ? 1 : 0;
}
