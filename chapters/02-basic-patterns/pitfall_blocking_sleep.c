/* pitfall_blocking_sleep.c - the same three tasks as sleep_gather.c, with
 * the classic mistake: each task waits with usleep() (Python's time.sleep)
 * instead of a timer. The loop is frozen while it sleeps, and the tasks run
 * one after another: 300 ms instead of 150.
 * symptom: lag_ms > 200, elapsed_ms > 270 (a blocked loop)
 */
#define _DEFAULT_SOURCE /* usleep */
#include "wb_lag.h"
#include "wb_trace.h"

#include <ev.h>
#include <stdio.h>
#include <unistd.h>

struct gather {
  struct ev_loop *loop;
  int pending;
};

struct task {
  const char *name;
  unsigned delay_ms;
  struct gather *gather;
};

static void main_resume(struct gather *g) {
  (void)g;
  printf("main: all tasks completed\n");
}

/* WRONG: usleep blocks the whole thread, and with it the loop: no other
 * task, timer or socket is served until it returns. It looks like a task
 * that waits; it is a task that stops everything else. */
static void task_start(struct ev_loop *loop, struct task *t) {
  (void)loop;
  printf("%s: Started\n", t->name);
  wb_trace_mark("%s: Started", t->name);
  usleep(t->delay_ms * 1000);
  printf("%s: Completed after %u ms\n", t->name, t->delay_ms);
  wb_trace_mark("%s: Completed", t->name);
  if (--t->gather->pending == 0)
    main_resume(t->gather);
}

static struct task tasks[] = {
    {.name = "Task 1", .delay_ms = 100},
    {.name = "Task 2", .delay_ms = 50},
    {.name = "Task 3", .delay_ms = 150},
};
#define NTASKS (int)(sizeof tasks / sizeof tasks[0])

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
  ev_run(g.loop, 0);
  wb_lag_stop(g.loop, &lag);
  ev_loop_destroy(g.loop);
  wb_measured_print(stdout, wb_lag_longest_ms(&lag), wb_now_ms() - t0,
                    g.pending);
  return g.pending ? 1 : 0;
}
