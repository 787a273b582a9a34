/* timer_task.c - exercise 03.1: a small task API over libev timers.
 * Read README.md in this folder, then replace each TODO.
 */
#include "timer_task.h"

#include <stdlib.h>

/* TODO: a struct for one join waiting for the task to end (its callback,
 *       its arg), kept in a queue in the order of the joins. */

/* TODO: the task: the ev_timer of its current step, the loop, its steps,
 *       step_ms and the steps run so far, its state, its queue of joins,
 *       and what you need to call joins from the loop after the end. */

int timer_task_create(struct ev_loop *loop, unsigned steps, unsigned step_ms,
                      timer_task_t **out) {
  /* TODO: allocate the task, start its first step's timer (a task of 0
   *       steps still ends from the loop), set *out, return 0. */
  (void)loop, (void)steps, (void)step_ms, (void)out;
  return -1;
}

int timer_task_join(timer_task_t *task, timer_task_join_cb cb, void *arg) {
  /* TODO: queue the join; if the task has already ended, make the loop
   *       call it on its next iteration. */
  (void)task, (void)cb, (void)arg;
  return -1;
}

int timer_task_cancel(timer_task_t *task) {
  /* TODO: stop a pending task's timer, mark it cancelled, and make the
   *       loop call its joins; return 1. An ended task: return 0. */
  (void)task;
  return 0;
}

enum timer_task_state timer_task_state(const timer_task_t *task) {
  (void)task;
  return TIMER_TASK_PENDING; /* TODO */
}

unsigned timer_task_steps(const timer_task_t *task) {
  (void)task;
  return 0; /* TODO */
}

void timer_task_free(timer_task_t *task) {
  /* TODO: stop every watcher, free the joins and the task; from inside a
   *       join callback, leave the freeing to the code that called it. */
  (void)task;
}
