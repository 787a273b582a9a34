/* test_timer_task.c - the tests of exercise 03.1 and their points.
 * Join callbacks record what they saw in static state; `inside` is set
 * while a test is inside a call of the API, to catch callbacks made from
 * there instead of from the loop.
 */
#include "timer_task.h"
#include "wbtest.h"

#include <stddef.h>

#define MAX_JOINS 16

static int inside;       /* 1 while the test is inside an API call */
static int called_inside; /* join callbacks run during an API call */
static int njoined;      /* join callbacks in the order they ran */
static int order[MAX_JOINS];
static int calls[MAX_JOINS];
static enum timer_task_state state_seen[MAX_JOINS];
static unsigned steps_seen[MAX_JOINS];
static timer_task_t *free_in_join; /* a join frees this task when it runs */

static void on_join(struct ev_loop *loop, timer_task_t *task, void *arg) {
  int k = (int)(ptrdiff_t)arg;
  (void)loop;
  called_inside += inside;
  if (njoined < MAX_JOINS)
    order[njoined] = k;
  njoined++;
  if (k >= 0 && k < MAX_JOINS) {
    calls[k]++;
    state_seen[k] = timer_task_state(task);
    steps_seen[k] = timer_task_steps(task);
  }
  if (free_in_join == task) {
    free_in_join = NULL;
    timer_task_free(task);
  }
}

static timer_task_t *create(unsigned steps, unsigned step_ms) {
  timer_task_t *t = NULL;
  double t0 = wb_elapsed_ms();
  inside = 1;
  int rc = timer_task_create(wb_loop(), steps, step_ms, &t);
  inside = 0;
  double took = wb_elapsed_ms() - t0;
  ck_assert_msg(rc == 0 && t != NULL,
                "timer_task_create(loop, %u, %u, &t) returned %d and set t "
                "to %p; expected 0 and a task",
                steps, step_ms, rc, (void *)t);
  ck_assert_msg(steps * step_ms < 40 || took < 0.75 * steps * step_ms,
                "timer_task_create took %.0f ms to return for a task of %u "
                "steps of %u ms: it must start the first step's timer and "
                "return at once; the loop does the waiting (no sleep() or "
                "usleep())",
                took, steps, step_ms);
  return t;
}

static void join(timer_task_t *t, int k) {
  inside = 1;
  int rc = timer_task_join(t, on_join, (void *)(ptrdiff_t)k);
  inside = 0;
  ck_assert_msg(rc == 0, "timer_task_join returned %d; expected 0", rc);
  ck_assert_msg(called_inside == 0,
                "a join callback ran inside timer_task_join: it must come "
                "from the loop, even when the task has already ended (then "
                "on the loop's next iteration)");
}

static const char *state_name(enum timer_task_state s) {
  return s == TIMER_TASK_PENDING     ? "TIMER_TASK_PENDING"
         : s == TIMER_TASK_DONE      ? "TIMER_TASK_DONE"
         : s == TIMER_TASK_CANCELLED ? "TIMER_TASK_CANCELLED"
                                     : "(not a state)";
}

/* A test timer that runs `fn` once, `ms` after now. */
struct probe {
  ev_timer timer;
  void (*fn)(struct probe *p);
  timer_task_t *task;
  unsigned steps;
  int rc, active;
  enum timer_task_state state;
};

static void probe_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct probe *p = (struct probe *)w;
  (void)loop, (void)revents;
  p->fn(p);
}

static void probe_at(struct probe *p, unsigned ms, void (*fn)(struct probe *),
                     timer_task_t *task) {
  p->fn = fn;
  p->task = task;
  ev_timer_init(&p->timer, probe_cb, ms / 1000., 0.);
  ev_timer_start(wb_loop(), &p->timer);
}

static void read_steps(struct probe *p) { p->steps = timer_task_steps(p->task); }

static void cancel_now(struct probe *p) {
  inside = 1;
  p->rc = timer_task_cancel(p->task);
  inside = 0;
  p->steps = timer_task_steps(p->task);
  p->state = timer_task_state(p->task);
  p->active = wb_active_watchers(wb_loop());
}

WB_TEST(tasks_start_at_once_and_overlap, 3) {
  timer_task_t *t[4];
  for (int i = 0; i < 4; i++) {
    t[i] = create(4, 20);
    join(t[i], i);
  }
  ck_assert_msg(njoined == 0, "a join callback ran before the loop did");
  wb_run(wb_loop(), 1500);
  for (int i = 0; i < 4; i++) {
    wb_assert_calls(calls[i], 1, "the join callback of each task");
    ck_assert_msg(state_seen[i] == TIMER_TASK_DONE && steps_seen[i] == 4,
                  "task %d (4 steps of 20 ms) was %s after %u steps when its "
                  "join ran; expected TIMER_TASK_DONE after 4",
                  i, state_name(state_seen[i]), steps_seen[i]);
  }
  wb_assert_no_block(50);
  wb_assert_overlap(wb_elapsed_ms(), 80, 4);
  for (int i = 0; i < 4; i++)
    timer_task_free(t[i]);
}
END_TEST

WB_TEST(steps_wait_one_after_another, 2) {
  struct probe early = {0}, mid = {0};
  timer_task_t *t = create(3, 20);
  join(t, 0);
  probe_at(&early, 10, read_steps, t);
  probe_at(&mid, 30, read_steps, t);
  wb_run(wb_loop(), 1500);
  ck_assert_msg(early.steps == 0,
                "10 ms after the start of a task of 3 steps of 20 ms, %u "
                "steps had run; expected 0: each step first waits step_ms",
                early.steps);
  ck_assert_msg(mid.steps == 1,
                "30 ms after the start of a task of 3 steps of 20 ms, %u "
                "steps had run; expected 1: the steps wait one after the "
                "other, each for step_ms",
                mid.steps);
  wb_assert_calls(calls[0], 1, "the join callback");
  ck_assert_msg(state_seen[0] == TIMER_TASK_DONE && steps_seen[0] == 3,
                "the join callback saw the task %s after %u steps; expected "
                "TIMER_TASK_DONE after 3",
                state_name(state_seen[0]), steps_seen[0]);
  wb_assert_no_block(50);
  timer_task_free(t);
}
END_TEST

WB_TEST(join_before_the_end_runs_once_from_the_loop, 2) {
  timer_task_t *t = create(2, 20);
  join(t, 0);
  ck_assert_msg(timer_task_state(t) == TIMER_TASK_PENDING,
                "right after timer_task_create the task is %s; expected "
                "TIMER_TASK_PENDING",
                state_name(timer_task_state(t)));
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls[0], 1, "the join callback");
  ck_assert_msg(timer_task_state(t) == TIMER_TASK_DONE &&
                    timer_task_steps(t) == 2,
                "after the loop ran, the task is %s after %u steps; expected "
                "TIMER_TASK_DONE after 2",
                state_name(timer_task_state(t)), timer_task_steps(t));
  wb_assert_no_block(50);
  timer_task_free(t);
}
END_TEST

WB_TEST(join_after_the_end_runs_from_the_loop, 2) {
  timer_task_t *t = create(2, 20);
  wb_run(wb_loop(), 1500);
  ck_assert_msg(timer_task_state(t) == TIMER_TASK_DONE,
                "after the loop ran, the task is %s; expected "
                "TIMER_TASK_DONE",
                state_name(timer_task_state(t)));
  join(t, 0);
  ck_assert_msg(calls[0] == 0, "the join callback ran inside timer_task_join");
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls[0], 1,
                  "the join callback of a task that had already ended");
  ck_assert_msg(state_seen[0] == TIMER_TASK_DONE,
                "the join callback saw the task %s; expected "
                "TIMER_TASK_DONE",
                state_name(state_seen[0]));
  timer_task_free(t);
}
END_TEST

WB_TEST(joins_run_in_order_each_once, 2) {
  timer_task_t *t = create(2, 20);
  for (int k = 0; k < 3; k++)
    join(t, k);
  wb_run(wb_loop(), 1500);
  ck_assert_msg(njoined == 3 && order[0] == 0 && order[1] == 1 &&
                    order[2] == 2,
                "three joins of one task ran %d callbacks, in the order "
                "%d, %d, %d; expected 0, 1, 2 (the order of the joins)",
                njoined, order[0], order[1], order[2]);
  join(t, 3);
  join(t, 4);
  wb_run(wb_loop(), 1500);
  ck_assert_msg(njoined == 5 && order[3] == 3 && order[4] == 4,
                "after two more joins of the ended task, %d join callbacks "
                "had run in all (expected 5), the last ones %d, %d "
                "(expected 3, 4): each join is called once, earlier joins "
                "are not called again",
                njoined, order[3], order[4]);
  for (int k = 0; k < 5; k++)
    wb_assert_calls(calls[k], 1, "each join callback");
  timer_task_free(t);
}
END_TEST

WB_TEST(zero_steps_end_from_the_loop, 1) {
  timer_task_t *t = create(0, 20);
  ck_assert_msg(timer_task_state(t) == TIMER_TASK_PENDING,
                "a task of 0 steps was %s when timer_task_create returned; "
                "it must still be TIMER_TASK_PENDING and end from the loop",
                state_name(timer_task_state(t)));
  join(t, 0);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls[0], 1, "the join callback of a task of 0 steps");
  ck_assert_msg(state_seen[0] == TIMER_TASK_DONE && steps_seen[0] == 0,
                "the task of 0 steps was %s after %u steps; expected "
                "TIMER_TASK_DONE after 0",
                state_name(state_seen[0]), steps_seen[0]);
  timer_task_free(t);
}
END_TEST

WB_TEST(cancel_stops_the_task_at_once, 3) {
  struct probe p = {0};
  timer_task_t *t = create(5, 20);
  probe_at(&p, 30, cancel_now, t);
  wb_run(wb_loop(), 1500);
  ck_assert_msg(p.rc == 1,
                "timer_task_cancel of a pending task returned %d; expected 1",
                p.rc);
  ck_assert_msg(p.state == TIMER_TASK_CANCELLED,
                "right after timer_task_cancel the task was %s; expected "
                "TIMER_TASK_CANCELLED",
                state_name(p.state));
  ck_assert_msg(p.active == 0,
                "right after timer_task_cancel, %d watcher(s) of the task "
                "were still active: stop its timer before returning",
                p.active);
  ck_assert_msg(p.steps == 1 && timer_task_steps(t) == 1 &&
                    timer_task_state(t) == TIMER_TASK_CANCELLED,
                "cancelled 30 ms into its 20 ms steps, the task had run %u "
                "steps; after the loop it is %s after %u steps; expected "
                "TIMER_TASK_CANCELLED after 1: no step may run after a "
                "cancel",
                p.steps, state_name(timer_task_state(t)), timer_task_steps(t));
  timer_task_free(t);
}
END_TEST

WB_TEST(cancel_tells_each_join_once_from_the_loop, 2) {
  struct probe p = {0};
  timer_task_t *t = create(5, 20);
  join(t, 0);
  join(t, 1);
  probe_at(&p, 30, cancel_now, t);
  wb_run(wb_loop(), 1500);
  ck_assert_msg(called_inside == 0,
                "a join callback ran inside timer_task_cancel: the joins "
                "hear of the cancel from the loop, afterwards");
  for (int k = 0; k < 2; k++) {
    wb_assert_calls(calls[k], 1, "each join callback of a cancelled task");
    ck_assert_msg(state_seen[k] == TIMER_TASK_CANCELLED,
                  "join %d saw the task %s; expected TIMER_TASK_CANCELLED",
                  k, state_name(state_seen[k]));
  }
  ck_assert_msg(order[0] == 0 && order[1] == 1,
                "the joins of the cancelled task ran in the order %d, %d; "
                "expected 0, 1",
                order[0], order[1]);
  timer_task_free(t);
}
END_TEST

WB_TEST(cancel_after_the_end_changes_nothing, 1) {
  timer_task_t *t = create(2, 20);
  join(t, 0);
  wb_run(wb_loop(), 1500);
  inside = 1;
  int rc = timer_task_cancel(t);
  inside = 0;
  ck_assert_msg(rc == 0,
                "timer_task_cancel of a task that had ended returned %d; "
                "expected 0",
                rc);
  ck_assert_msg(timer_task_state(t) == TIMER_TASK_DONE,
                "after a cancel that came too late, the task is %s; it had "
                "ended: it stays TIMER_TASK_DONE",
                state_name(timer_task_state(t)));
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls[0], 1, "the join callback (cancel after the end)");
  timer_task_free(t);
}
END_TEST

WB_TEST(free_from_inside_a_join, 2) {
  timer_task_t *t = create(2, 20);
  join(t, 0);
  join(t, 1);
  free_in_join = t;
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls[0], 1, "the join callback that frees the task");
  ck_assert_msg(calls[1] == 0,
                "the task was freed inside its first join callback, yet its "
                "second join was called: after timer_task_free nothing of "
                "the task runs");
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(free_stops_a_pending_task, 1) {
  timer_task_t *t = create(3, 20);
  join(t, 0);
  timer_task_free(t);
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "after timer_task_free of a pending task, %d watcher(s) "
                "were still active: stop them before freeing",
                wb_active_watchers(wb_loop()));
  wb_run(wb_loop(), 1500);
  ck_assert_msg(njoined == 0,
                "a join of a task freed while pending was called: after "
                "timer_task_free nothing of the task runs");
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(out_of_memory_fails_cleanly, 2) {
  timer_task_t *t = (timer_task_t *)&t; /* a value create must not touch */
  timer_task_t *const sentinel = t;
  wb_fail_alloc(1);
  int rc = timer_task_create(wb_loop(), 2, 20, &t);
  unsigned used = wb_allocs();
  wb_fail_alloc(0);
  ck_assert_msg(used >= 1, "timer_task_create allocated nothing: where does "
                           "the task live once it has returned?");
  ck_assert_msg(rc == -1 && t == sentinel,
                "when its allocation failed, timer_task_create returned %d "
                "and %s *out; expected -1 and *out left alone",
                rc, t == sentinel ? "left alone" : "changed");
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "timer_task_create failed, yet left a watcher active");
  t = create(2, 20);
  join(t, 0);
  wb_fail_alloc(1);
  rc = timer_task_join(t, on_join, (void *)(ptrdiff_t)1);
  wb_fail_alloc(0);
  ck_assert_msg(rc == -1,
                "when its allocation failed, timer_task_join returned %d; "
                "expected -1",
                rc);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls[0], 1, "the join callback made before the failure");
  ck_assert_msg(calls[1] == 0,
                "the join that failed for lack of memory was called anyway");
  ck_assert_msg(timer_task_state(t) == TIMER_TASK_DONE,
                "after a failed join the task is %s; it must go on and end "
                "TIMER_TASK_DONE",
                state_name(timer_task_state(t)));
  timer_task_free(t);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(leaves_nothing_behind, 1) {
  struct probe p = {0};
  timer_task_t *a = create(2, 20), *b = create(5, 20), *c = create(0, 10);
  join(a, 0);
  join(b, 1);
  join(b, 2);
  probe_at(&p, 30, cancel_now, b);
  wb_run(wb_loop(), 1500);
  join(c, 3);
  wb_run(wb_loop(), 1500);
  timer_task_free(a);
  timer_task_free(b);
  timer_task_free(c);
  wb_assert_no_leaks();
}
END_TEST
