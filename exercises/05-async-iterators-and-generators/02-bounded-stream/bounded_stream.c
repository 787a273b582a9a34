/* bounded_stream.c - exercise 05.2: a timer-driven generator with
 * backpressure. Read README.md in this folder, then replace each TODO.
 */
#include "bounded_stream.h"

#include <errno.h>
#include <stdlib.h>

struct bstream {
  /* TODO: the loop; a repeating ev_timer for the producer; a way to
   *       answer a take from the loop (a 0 s ev_timer); produce and ctx;
   *       the pending take (cb, arg); whether produce has returned 0 and
   *       whether the end was handed over; a ring buffer of `bound`
   *       items (where it starts, how many it holds). */
  int todo;
};

int bstream_new(bstream_t **out, struct ev_loop *loop, unsigned bound,
                unsigned period_ms, bstream_produce_fn produce, void *ctx) {
  /* TODO: refuse bad arguments (-EINVAL); allocate the stream and its
   *       buffer (-ENOMEM, freeing what was allocated); start the
   *       producer's timer: every period_ms, one item into the buffer,
   *       and a pause (the timer stopped) when the buffer is full. */
  (void)out, (void)loop, (void)bound, (void)period_ms, (void)produce,
      (void)ctx;
  return -ENOSYS;
}

int bstream_take(bstream_t *s, bstream_cb cb, void *arg) {
  /* TODO: -EBUSY while a take is pending, -EPIPE after the end; else
   *       remember cb and arg, and answer from the loop: the oldest item
   *       (restarting a paused producer), the end, or wait for the next
   *       tick. */
  (void)s, (void)cb, (void)arg;
  return -ENOSYS;
}

void bstream_free(bstream_t *s) {
  /* TODO: stop both timers, free the buffer and the stream. */
  (void)s;
}
