/* risky_gather.c - the guide's risky_task under gather with
 * return_exceptions=True: three tasks wait 100 ms on a timer, the second
 * one fails, and every slot of the result holds either a value or an error.
 * expect: lag_ms < 50, elapsed_ms < 200, errors < 1
 */
#include "op_error.h"
#include "wb_lag.h"
#include "wb_trace.h"

#include <ev.h>
#include <stdio.h>
#include <string.h>

/* One slot of gather's result: a value, or an error. Never both. */
struct slot {
  char value[48];        /* valid when err.code == OP_OK */
  struct op_error err;   /* OP_OK, or what went wrong */
};

/* How risky_task reports: the slot it filled in, read until it returns. */
typedef void (*risky_cb)(struct ev_loop *loop, int index,
                         const struct slot *result, void *arg);

struct risky {
  ev_timer timer; /* first: the ev_timer pointer is the task's pointer */
  int index;
  const char *name;
  int fail;
  risky_cb done;
  void *arg;
};

/* After `await asyncio.sleep(0.1)`: fail or succeed, as a value. */
static void risky_resume(struct ev_loop *loop, ev_timer *w, int revents) {
  struct risky *t = (struct risky *)w;
  struct slot result = {.err = {.code = OP_OK}};
  (void)revents;
  if (t->fail)
    op_error_set(&result.err, OP_EVALUE, 0, "%s failed!", t->name);
  else
    snprintf(result.value, sizeof result.value, "%s succeeded", t->name);
  wb_trace_mark("%s: %s", t->name, t->fail ? "failed" : "succeeded");
  t->done(loop, t->index, &result, t->arg);
}

/* async def risky_task(name, fail): returns at once, answers in 100 ms. */
static void risky_task(struct ev_loop *loop, struct risky *t, risky_cb done,
                       void *arg) {
  t->done = done, t->arg = arg;
  wb_trace_mark("%s: Started", t->name);
  ev_timer_init(&t->timer, risky_resume, 0.1, 0.);
  ev_timer_start(loop, &t->timer);
}

/* gather(..., return_exceptions=True): one slot per task, in input order;
 * an error fills its slot and stops nothing else. */
#define NTASKS 3
struct gather {
  struct ev_loop *loop;
  struct slot results[NTASKS];
  int pending;
};

static void gather_slot_done(struct ev_loop *loop, int index,
                             const struct slot *result, void *arg) {
  struct gather *g = arg;
  (void)loop;
  g->results[index] = *result; /* a copy: the error is a value */
  if (--g->pending > 0)
    return;
  for (int i = 0; i < NTASKS; i++) { /* `for i, result in enumerate(...)` */
    const struct slot *r = &g->results[i];
    if (r->err.code != OP_OK)
      printf("Task %d failed: %s (%s)\n", i + 1, r->err.message,
             op_strerror(r->err.code));
    else
      printf("Task %d: %s\n", i + 1, r->value);
  }
}

static struct risky tasks[NTASKS] = {
    {.index = 0, .name = "Task 1", .fail = 0},
    {.index = 1, .name = "Task 2", .fail = 1},
    {.index = 2, .name = "Task 3", .fail = 0},
};

static void async_main(int revents, void *arg) {
  struct gather *g = arg;
  (void)revents;
  g->pending = NTASKS;
  for (int i = 0; i < NTASKS; i++)
    risky_task(g->loop, &tasks[i], gather_slot_done, g);
}

int main(void) {
  struct gather g = {.pending = -1};
  wb_lag_t lag;
  double t0 = wb_now_ms();
  struct ev_loop *loop = g.loop = ev_loop_new(EVFLAG_AUTO);
  wb_lag_start(loop, &lag);
  ev_once(loop, -1, 0, 0., async_main, &g);
  ev_run(loop, 0);
  wb_lag_stop(loop, &lag);
  ev_loop_destroy(loop);
  /* The run is right when every slot came back: 1 and 3 with a value, 2
   * with an error. Anything else counts as an error of the program. */
  int wrong = g.pending != 0 || g.results[0].err.code != OP_OK ||
              g.results[1].err.code != OP_EVALUE ||
              g.results[2].err.code != OP_OK;
  wb_measured_print(stdout, wb_lag_longest_ms(&lag), wb_now_ms() - t0, wrong);
  return wrong;
}
