/* sleep_gather.c - three tasks that each wait with an ev_timer, all at
 * once: asyncio.sleep and asyncio.gather in C. The guide's delays of 1.0,
 * 0.5 and 1.5 s are 100, 50 and 150 ms here, so together they take 150 ms.
 * expect: lag_ms < 50, elapsed_ms < 260, errors < 1
 */
#include "wb_lag.h"
#include "wb_trace.h"

#include <ev.h>
#include <stdio.h>

/* What gather waits for: the number of tasks still sleeping. */
struct gather {
  struct ev_loop *loop;
  int pending;
};

/* One task. The timer comes first, so the ev_timer pointer that libev hands
 * to the callback is also a pointer to the task. */
struct task {
  ev_timer timer;
  const char *name;
  unsigned delay_ms;
  struct gather *gather;
};

/* The part of main that comes after `await asyncio.gather(...)`. */
static void main_resume(struct gather *g) {
  (void)g;
  printf("main: all tasks completed\n");
}

/* The part of task() that comes after `await asyncio.sleep(delay)`. */
static void task_resume(struct ev_loop *loop, ev_timer *w, int revents) {
  struct task *t = (struct task *)w;
  (void)loop, (void)revents;
  printf("%s: Completed after %u ms\n", t->name, t->delay_ms);
  wb_trace_mark("%s: Completed", t->name); /* for the timeline */
  /* gather is a countdown: the last task to finish resumes main. */
  if (--t->gather->pending == 0)
    main_resume(t->gather);
}

/* async def task(name, delay): print, then sleep without blocking. */
static void task_start(struct ev_loop *loop, struct task *t) {
  printf("%s: Started\n", t->name);
  wb_trace_mark("%s: Started", t->name);
  ev_timer_init(&t->timer, task_resume, t->delay_ms / 1000., 0.);
  ev_timer_start(loop, &t->timer); /* the await: arm a timer, return */
}

static struct task tasks[] = {
    {.name = "Task 1", .delay_ms = 100},
    {.name = "Task 2", .delay_ms = 50},
    {.name = "Task 3", .delay_ms = 150},
};
#define NTASKS (int)(sizeof tasks / sizeof tasks[0])

/* async def main(): start every task, then wait for all of them. */
static void async_main(int revents, void *arg) {
  struct gather *g = arg;
  (void)revents;
  g->pending = NTASKS;
  for (int i = 0; i < NTASKS; i++) {
    tasks[i].gather = g;
    task_start(g->loop, &tasks[i]);
  }
}

int main(void) {
  struct gather g = {0};
  wb_lag_t lag;
  double t0 = wb_now_ms();
  g.loop = ev_loop_new(EVFLAG_AUTO);
  wb_lag_start(g.loop, &lag);
  ev_once(g.loop, -1, 0, 0., async_main, &g);
  ev_run(g.loop, 0); /* returns when the last timer has fired */
  wb_lag_stop(g.loop, &lag);
  ev_loop_destroy(g.loop);
  wb_measured_print(stdout, wb_lag_longest_ms(&lag), wb_now_ms() - t0,
                    g.pending);
  return g.pending ? 1 : 0;
}
