/* generate_numbers.c - the guide's async generator in C: numbers_next asks
 * for the next number and returns; a timer makes it (the guide's "work")
 * and calls back with it, or with the end. process_stream asks again from
 * each callback: `async for` as a chain of requests.
 * expect: lag_ms < 50, elapsed_ms < 700, errors < 1
 */
#include "wb_lag.h"
#include "wb_trace.h"

#include <ev.h>
#include <stdio.h>

/* ---- async def generate_numbers(count) --------------------------------- */

struct numbers;

/* Status 1: `value` is the next number. Status 0: the end, no value
 * (StopAsyncIteration). Always called by the loop, never by numbers_next. */
typedef void (*numbers_cb)(struct ev_loop *loop, struct numbers *g, int value,
                           int status);

/* The generator's frame: where it stands between two requests. */
struct numbers {
  ev_timer timer; /* the `await asyncio.sleep(...)` of the request */
  int next, count;
  numbers_cb cb;
  void *data; /* the caller's */
};

static void numbers_resume(struct ev_loop *loop, ev_timer *w, int revents) {
  struct numbers *g = (struct numbers *)w;
  (void)revents;
  if (g->next < g->count)
    g->cb(loop, g, g->next++, 1); /* yield i */
  else
    g->cb(loop, g, 0, 0); /* the loop of the generator ran out */
}

/* Asks for one more number: 40 ms of "work", then cb. One request at a
 * time; the end also comes from the loop, after a timer of 0 s. */
static void numbers_next(struct ev_loop *loop, struct numbers *g,
                         numbers_cb cb) {
  g->cb = cb;
  ev_timer_init(&g->timer, numbers_resume, g->next < g->count ? 0.04 : 0., 0.);
  ev_timer_start(loop, &g->timer);
}

/* ---- async def process_stream(stream) ------------------------------------ */

static void process_one(struct ev_loop *loop, struct numbers *g, int value,
                        int status) {
  if (status == 0) {
    printf("stream: the end\n");
    return; /* nothing asks again: the loop has nothing left to do */
  }
  printf("Processing: %d\n", value);
  wb_trace_mark("stream: got %d", value);
  numbers_next(loop, g, process_one); /* the next turn of `async for` */
}

static void async_main(int revents, void *arg) {
  struct numbers *g = arg;
  (void)revents;
  numbers_next(g->data, g, process_one); /* await process_stream(numbers) */
}

int main(void) {
  struct numbers g = {.count = 5};
  wb_lag_t lag;
  double t0 = wb_now_ms();
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  g.data = loop;
  wb_lag_start(loop, &lag);
  ev_once(loop, -1, 0, 0., async_main, &g);
  ev_run(loop, 0);
  wb_lag_stop(loop, &lag);
  ev_loop_destroy(loop);
  wb_measured_print(stdout, wb_lag_longest_ms(&lag), wb_now_ms() - t0,
                    g.next != g.count);
  return g.next != g.count;
}
