/* line_reader.c - exercise 05.1: an async line iterator over a
 * non-blocking descriptor. Read README.md in this folder, then replace
 * each TODO.
 */
#include "line_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct line_reader {
  /* TODO: what a reader keeps between calls: the loop, an ev_io on fd,
   *       a way to answer from the loop (a 0 s ev_timer), the read
   *       function and its ctx, the pending request (cb, arg), whether
   *       the file has ended or the stream is over, and a buffer of
   *       max_len + 2 bytes (a line and its "\r\n") plus its fill. */
  int todo;
};

int line_reader_new(line_reader_t **out, struct ev_loop *loop, int fd,
                    size_t max_len, line_read_fn read_fn, void *ctx) {
  /* TODO: refuse bad arguments with -EINVAL; allocate the reader and its
   *       buffer (-ENOMEM); initialise its watchers without starting them;
   *       use read(2) when read_fn is NULL. */
  (void)out, (void)loop, (void)fd, (void)max_len, (void)read_fn, (void)ctx;
  return -ENOSYS;
}

int line_reader_next(line_reader_t *r, line_reader_cb cb, void *arg) {
  /* TODO: -EBUSY while a request is pending, -EPIPE once the stream is
   *       over; otherwise remember cb and arg and answer from the loop:
   *       from the buffer if it holds a whole line, else after reads. */
  (void)r, (void)cb, (void)arg;
  return -ENOSYS;
}

void line_reader_free(line_reader_t *r) {
  /* TODO: stop every watcher, free the reader; leave fd open. */
  (void)r;
}
