/* timer_task.c - exercise 03.1, the reference solution: tasks of timed
 * steps that start at once, can be joined any number of times, cancelled
 * and freed, each ending reported exactly once and always from the loop.
 */
#include "timer_task.h"

#include <stdlib.h>

/* One join waiting for the task to end: a singly linked queue keeps the
 * callbacks in the order of the joins. */
struct joiner {
  timer_task_join_cb cb;
  void *arg;
  struct joiner *next;
};

struct timer_task {
  ev_timer step;   /* the wait of the current step */
  ev_timer notify; /* 0 s: calls joins made after the end, from the loop */
  struct ev_loop *loop;
  unsigned steps, step_ms, steps_done;
  enum timer_task_state state;
  struct joiner *head, **tail;
  int dispatching; /* inside call_joins: a free must wait for it to finish */
  int freed;       /* timer_task_free was called during call_joins */
};

static void really_free(timer_task_t *t) {
  ev_timer_stop(t->loop, &t->step);
  ev_timer_stop(t->loop, &t->notify);
  while (t->head) {
    struct joiner *j = t->head;
    t->head = j->next;
    free(j);
  }
  free(t);
}

/* Calls every waiting join, in order, each once. A callback may free the
 * task (then the rest are dropped) or join it again (then that join is
 * called too, in turn): each joiner leaves the queue before it is called,
 * and the task is freed only once no callback of it is running. */
static void call_joins(timer_task_t *t) {
  t->dispatching = 1;
  while (t->head && !t->freed) {
    struct joiner *j = t->head;
    t->head = j->next;
    if (!t->head)
      t->tail = &t->head;
    j->cb(t->loop, t, j->arg);
    free(j);
  }
  t->dispatching = 0;
  if (t->freed)
    really_free(t);
}

static void notify_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  timer_task_t *t = w->data;
  (void)loop, (void)revents;
  call_joins(t);
}

/* One step's wait is over. A task of 0 steps gets here once, from a 0 s
 * timer, so that it too ends from the loop. */
static void step_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  timer_task_t *t = (timer_task_t *)w;
  (void)revents;
  if (t->steps_done < t->steps)
    t->steps_done++;
  if (t->steps_done < t->steps) {
    /* The next step waits from now, as `await asyncio.sleep` in a loop. */
    ev_timer_set(&t->step, t->step_ms / 1000., 0.);
    ev_timer_start(loop, &t->step);
    return;
  }
  t->state = TIMER_TASK_DONE;
  call_joins(t); /* already in the loop: no need to wait an iteration */
}

int timer_task_create(struct ev_loop *loop, unsigned steps, unsigned step_ms,
                      timer_task_t **out) {
  timer_task_t *t = calloc(1, sizeof *t);
  if (!t)
    return -1;
  t->loop = loop;
  t->steps = steps;
  t->step_ms = step_ms;
  t->state = TIMER_TASK_PENDING;
  t->tail = &t->head;
  ev_timer_init(&t->step, step_cb, steps ? step_ms / 1000. : 0., 0.);
  ev_timer_init(&t->notify, notify_cb, 0., 0.);
  t->notify.data = t;
  ev_timer_start(loop, &t->step); /* create_task: the task starts now */
  *out = t;
  return 0;
}

int timer_task_join(timer_task_t *t, timer_task_join_cb cb, void *arg) {
  struct joiner *j = malloc(sizeof *j);
  if (!j)
    return -1;
  j->cb = cb;
  j->arg = arg;
  j->next = NULL;
  *t->tail = j;
  t->tail = &j->next;
  /* Already ended: the loop calls it on its next iteration (or the
   * call_joins running right now does, after the current callback). */
  if (t->state != TIMER_TASK_PENDING && !t->dispatching)
    ev_timer_start(t->loop, &t->notify);
  return 0;
}

int timer_task_cancel(timer_task_t *t) {
  if (t->state != TIMER_TASK_PENDING)
    return 0;
  ev_timer_stop(t->loop, &t->step);
  t->state = TIMER_TASK_CANCELLED;
  if (t->head) /* the joins hear of it from the loop, not from in here */
    ev_timer_start(t->loop, &t->notify);
  return 1;
}

enum timer_task_state timer_task_state(const timer_task_t *t) {
  return t->state;
}

unsigned timer_task_steps(const timer_task_t *t) { return t->steps_done; }

void timer_task_free(timer_task_t *t) {
  if (t->dispatching) {
    /* A join callback of this task is running: call_joins frees it when
     * that callback returns, and calls no other join. */
    t->freed = 1;
    ev_timer_stop(t->loop, &t->step);
    ev_timer_stop(t->loop, &t->notify);
    return;
  }
  really_free(t);
}
