/* create_task.c - asyncio.create_task: three tasks start at once, main does
 * other work meanwhile, then joins them. The guide's 1.0, 0.5 and 1.5 s are
 * 100, 50 and 150 ms; its other work (0.3 s) is 75 ms here, so that Task 2
 * has already finished when main joins it: that join completes at once,
 * but still from the loop.
 * expect: lag_ms < 50, elapsed_ms < 260, errors < 1
 */
#include "wb_lag.h"
#include "wb_trace.h"

#include <ev.h>
#include <stdio.h>

/* A task: its sleep, its result once it has one, and who waits for it. */
struct task;
typedef void (*task_join_cb)(struct ev_loop *loop, struct task *t, void *arg);

struct task {
  ev_timer timer; /* first: the ev_timer pointer is the task pointer */
  struct ev_loop *loop;
  const char *name;
  unsigned ms;
  int finished;
  char result[64];
  task_join_cb joiner; /* NULL until someone joins */
  void *joiner_arg;
};

static void task_resume(struct ev_loop *loop, ev_timer *w, int revents) {
  struct task *t = (struct task *)w;
  (void)revents;
  snprintf(t->result, sizeof t->result, "%s completed after %u ms", t->name,
           t->ms);
  t->finished = 1;
  wb_trace_mark("%s: completed", t->name);
  if (t->joiner) /* someone is already waiting: resume them */
    t->joiner(loop, t, t->joiner_arg);
}

/* asyncio.create_task(background_task(name, ms)): the task starts now. */
static void task_create(struct ev_loop *loop, struct task *t, const char *name,
                        unsigned ms) {
  *t = (struct task){.loop = loop, .name = name, .ms = ms};
  wb_trace_mark("%s: created", name);
  ev_timer_init(&t->timer, task_resume, ms / 1000., 0.);
  ev_timer_start(loop, &t->timer);
}

/* `await task`, written as "call me when it is done". A task that already
 * finished is not an exception to "never call back from inside the call":
 * its joiner still runs from the loop, on its next iteration. */
static void joined_later(int revents, void *arg) {
  struct task *t = arg;
  (void)revents;
  t->joiner(t->loop, t, t->joiner_arg);
}

static void task_join(struct ev_loop *loop, struct task *t, task_join_cb cb,
                      void *arg) {
  t->joiner = cb;
  t->joiner_arg = arg;
  if (t->finished)
    ev_once(loop, -1, 0, 0., joined_later, t);
}

/* ---- async def main() ------------------------------------------------------ */

struct app {
  struct ev_loop *loop;
  struct task tasks[3];
  ev_timer other_work;
  int joined;
};

static void main_joined(struct ev_loop *loop, struct task *t, void *arg) {
  struct app *app = arg;
  (void)loop;
  printf("joined %s: %s\n", t->name, t->result);
  if (++app->joined == 3) /* results = await asyncio.gather(t1, t2, t3) */
    printf("Results: [%s, %s, %s]\n", app->tasks[0].result,
           app->tasks[1].result, app->tasks[2].result);
}

/* After `await asyncio.sleep(0.3)`: the other work is done; join. */
static void main_resume(struct ev_loop *loop, ev_timer *w, int revents) {
  struct app *app = w->data;
  (void)revents;
  printf("Other work done; Task 2 finished: %s\n",
         app->tasks[1].finished ? "yes" : "no");
  for (int i = 0; i < 3; i++)
    task_join(loop, &app->tasks[i], main_joined, app);
}

static void async_main(int revents, void *arg) {
  struct app *app = arg;
  (void)revents;
  task_create(app->loop, &app->tasks[0], "Task 1", 100);
  task_create(app->loop, &app->tasks[1], "Task 2", 50);
  task_create(app->loop, &app->tasks[2], "Task 3", 150);
  printf("Tasks started, doing other work...\n");
  wb_trace_mark("main: other work");
  ev_timer_init(&app->other_work, main_resume, 0.075, 0.);
  app->other_work.data = app;
  ev_timer_start(app->loop, &app->other_work);
}

int main(void) {
  static struct app app;
  wb_lag_t lag;
  double t0 = wb_now_ms();
  app.loop = ev_loop_new(EVFLAG_AUTO);
  wb_lag_start(app.loop, &lag);
  ev_once(app.loop, -1, 0, 0., async_main, &app);
  ev_run(app.loop, 0);
  wb_lag_stop(app.loop, &lag);
  ev_loop_destroy(app.loop);
  wb_measured_print(stdout, wb_lag_longest_ms(&lag), wb_now_ms() - t0,
                    3 - app.joined);
  return app.joined == 3 ? 0 : 1;
}
