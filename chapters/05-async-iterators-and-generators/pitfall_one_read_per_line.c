/* pitfall_one_read_per_line.c - read_lines.c with the classic mistake: it
 * takes what one read() returns for one line. The same seven lines arrive
 * a few bytes at a time, so one read holds a piece of a line, or the end
 * of one line and the start of the next: lines are cut up and merged, and
 * the program counts the lines that never came out whole.
 * symptom: lines_lost > 3, lag_ms < 50 (lines cut up or merged)
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

struct app {
  struct ev_loop *loop;
  ev_io io;
  struct pipe_feed feed;
  char got[64][64]; /* what the reader handed over as lines */
  int ngot, errors;
};

/* WRONG: a read returns whatever has arrived so far, not a line. Nothing
 * is kept between reads, so a line that comes in three pieces becomes
 * three "lines", and a read that spans a '\n' glues two lines together. */
static void reader_io_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct app *app = w->data;
  char buf[256];
  (void)revents;
  ssize_t n = read(w->fd, buf, sizeof buf - 1);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) { /* the end (or an error) */
    printf("the end\n");
    ev_io_stop(loop, w);
    close(w->fd);
    return;
  }
  buf[n] = '\0';
  buf[strcspn(buf, "\r\n")] = '\0'; /* "strip" the line */
  printf("line %d: \"%s\"\n", app->ngot + 1, buf);
  wb_trace_mark("reader: line %d", app->ngot + 1);
  if (app->ngot < 64)
    snprintf(app->got[app->ngot++], sizeof app->got[0], "%s", buf);
}

static void async_main(int revents, void *arg) {
  struct app *app = arg;
  int fds[2];
  (void)revents;
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
    perror("pipe2");
    app->errors++;
    return;
  }
  ev_io_init(&app->io, reader_io_cb, fds[0], EV_READ);
  app->io.data = app;
  ev_io_start(app->loop, &app->io);
  feed_start(app->loop, &app->feed, fds[1]);
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
  printf("measured: lag_ms=%.0f elapsed_ms=%.0f open_fds=%d errors=%d "
         "lines=%d lines_lost=%d\n",
         wb_lag_longest_ms(&lag), wb_now_ms() - t0, wb_open_fds(), app.errors,
         app.ngot, feed_lines_lost(app.got, app.ngot));
  return app.errors ? 1 : 0;
}
