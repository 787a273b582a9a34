/* pipe_feed.h - what read_lines.c and its pitfall both read: seven lines,
 * CRLF and an empty line among them, the last without a newline, written
 * into a pipe a few bytes at a time by a timer on the same loop, the way
 * data arrives from a slow peer. Also the count of lines that got lost.
 */
#ifndef PIPE_FEED_H
#define PIPE_FEED_H

#include <errno.h>
#include <ev.h>
#include <string.h>
#include <unistd.h>

static const char feed_text[] = "first line\n"
                                "second line, CRLF\r\n"
                                "third\n"
                                "\n"
                                "a longer line that comes in many pieces\n"
                                "sixth\r\n"
                                "last line, no newline";

/* The lines a correct reader hands over, without "\n" or "\r\n". */
static const char *const feed_lines[] = {
    "first line", "second line, CRLF", "third", "",
    "a longer line that comes in many pieces", "sixth",
    "last line, no newline"};
#define FEED_NLINES (int)(sizeof feed_lines / sizeof feed_lines[0])

/* Bytes per write, in turn: pieces that end anywhere in a line. */
static const unsigned feed_pieces[] = {1, 5, 2, 9, 3, 13, 4, 7};
#define FEED_NPIECES (sizeof feed_pieces / sizeof feed_pieces[0])

/* The writing end of the pipe and where the text is. */
struct pipe_feed {
  ev_timer timer; /* one piece every 2 ms */
  int fd;
  size_t off;
  unsigned turn;
};

/* Writes the next piece; after the last one, closes the pipe (the reader
 * sees the end of the file) and stops. */
static inline void feed_tick(struct ev_loop *loop, ev_timer *w, int revents) {
  struct pipe_feed *f = (struct pipe_feed *)w;
  size_t left = sizeof feed_text - 1 - f->off;
  size_t piece = feed_pieces[f->turn++ % FEED_NPIECES];
  ssize_t n = write(f->fd, feed_text + f->off, piece < left ? piece : left);
  (void)revents;
  if (n > 0)
    f->off += (size_t)n;
  if (f->off == sizeof feed_text - 1 || (n < 0 && errno != EAGAIN)) {
    ev_timer_stop(loop, w);
    close(f->fd);
    f->fd = -1;
  }
}

static inline void feed_start(struct ev_loop *loop, struct pipe_feed *f,
                              int fd) {
  f->fd = fd;
  f->off = 0;
  f->turn = 0;
  ev_timer_init(&f->timer, feed_tick, 0.002, 0.002);
  ev_timer_start(loop, &f->timer);
}

/* How many of feed_lines are missing from `got` (n lines, in order): a
 * line split in two or merged with the next one counts as lost. */
static inline int feed_lines_lost(char got[][64], int n) {
  int found = 0;
  for (int i = 0, j = 0; i < FEED_NLINES && j < n; j++)
    if (strcmp(got[j], feed_lines[i]) == 0)
      found++, i++;
  return FEED_NLINES - found;
}

#endif /* PIPE_FEED_H */
