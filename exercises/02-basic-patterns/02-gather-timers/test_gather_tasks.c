/* test_gather_tasks.c - the tests of exercise 02.2 and their points. */
#include "gather_tasks.h"
#include "wbtest.h"

#define MAX_EVENTS 32

/* What the callbacks saw, in the order they saw it. The tests pass their
 * specs array as arg, so an event's task index is `task - specs`. */
struct seen {
  long index;
  enum task_event event;
  double at_ms;
};
static struct seen events[MAX_EVENTS];
static int nevents, nstarted, ncompleted;
static int done_calls;
static size_t done_n = 99;
static struct task_result done_results[8];
static int completed_when_done = -1;

static void on_event(struct ev_loop *loop, const struct task_spec *task,
                     enum task_event event, void *arg) {
  const struct task_spec *specs = arg;
  (void)loop;
  if (nevents < MAX_EVENTS)
    events[nevents++] = (struct seen){task - specs, event, wb_elapsed_ms()};
  if (event == TASK_STARTED)
    nstarted++;
  else
    ncompleted++;
}

static void on_done(struct ev_loop *loop, const struct task_result *results,
                    size_t n, void *arg) {
  (void)loop, (void)arg;
  done_calls++;
  done_n = n;
  completed_when_done = ncompleted;
  for (size_t i = 0; i < n && i < 8; i++)
    done_results[i] = results[i];
}

WB_TEST(starts_every_task_at_once_in_order, 2) {
  static const struct task_spec specs[] = {
      {"Task 1", 60}, {"Task 2", 20}, {"Task 3", 40}};
  ck_assert_msg(gather_tasks(wb_loop(), specs, 3, on_event, on_done,
                             (void *)specs) == 0,
                "gather_tasks returned -1 for three tasks; it must return 0 "
                "once it has started them");
  ck_assert_msg(wb_elapsed_ms() < 50,
                "gather_tasks took %.0f ms to return: it must start the "
                "timers and return, the loop does the waiting",
                wb_elapsed_ms());
  ck_assert_msg(nstarted == 3,
                "when gather_tasks returned, %d of the 3 tasks had reported "
                "TASK_STARTED: report each task's start before returning",
                nstarted);
  ck_assert_msg(ncompleted == 0,
                "a task reported TASK_COMPLETED before gather_tasks returned: "
                "completion must come from the loop, after the task's delay");
  for (int i = 0; i < 3; i++)
    ck_assert_msg(events[i].index == i,
                  "the tasks reported TASK_STARTED in the order %ld, %ld, %ld; "
                  "expected 0, 1, 2 (the order of specs)",
                  events[0].index, events[1].index, events[2].index);
  wb_run(wb_loop(), 2000);
}
END_TEST

WB_TEST(completes_in_delay_order_after_each_delay, 2) {
  static const struct task_spec specs[] = {
      {"Task 1", 150}, {"Task 2", 30}, {"Task 3", 90}};
  gather_tasks(wb_loop(), specs, 3, on_event, on_done, (void *)specs);
  wb_run(wb_loop(), 2000);
  wb_assert_calls(ncompleted, 3, "on_event with TASK_COMPLETED");
  ck_assert_msg(nevents == 6 && events[3].index == 1 && events[4].index == 2 &&
                    events[5].index == 0,
                "the tasks (delays 150, 30, 90 ms) completed in the order "
                "%ld, %ld, %ld; expected 1, 2, 0 (shortest delay first)",
                events[3].index, events[4].index, events[5].index);
  for (int i = 3; i < 6; i++) {
    unsigned delay = specs[events[i].index].delay_ms;
    ck_assert_msg(events[i].at_ms >= delay * 0.9,
                  "the task with a delay of %u ms completed after %.0f ms: "
                  "each task must sleep its own delay_ms (delay_ms / 1000.0 "
                  "seconds for ev_timer)",
                  delay, events[i].at_ms);
  }
}
END_TEST

WB_TEST(done_once_with_results_in_input_order, 3) {
  static const struct task_spec specs[] = {
      {"Task 1", 150}, {"Task 2", 30}, {"Task 3", 90}};
  gather_tasks(wb_loop(), specs, 3, on_event, on_done, (void *)specs);
  wb_run(wb_loop(), 2000);
  wb_assert_calls(done_calls, 1, "the done callback");
  ck_assert_msg(done_n == 3, "done was called with n = %zu; expected 3",
                done_n);
  ck_assert_msg(completed_when_done == 3,
                "done was called when %d of the 3 tasks had completed: call "
                "it after the last one",
                completed_when_done);
  for (int i = 0; i < 3; i++)
    ck_assert_msg(done_results[i].name == specs[i].name,
                  "results[%d] has the name \"%s\", but specs[%d] is \"%s\": "
                  "results[i] must belong to specs[i], whatever order the "
                  "tasks finished in",
                  i, done_results[i].name ? done_results[i].name : "(null)",
                  i, specs[i].name);
  ck_assert_msg(done_results[0].finished_as == 3 &&
                    done_results[1].finished_as == 1 &&
                    done_results[2].finished_as == 2,
                "finished_as was %u, %u, %u for delays 150, 30, 90 ms; "
                "expected 3, 1, 2: the tasks sleep side by side, so the 30 "
                "ms one finishes first, and each result goes into its own "
                "task's slot when that task completes",
                done_results[0].finished_as, done_results[1].finished_as,
                done_results[2].finished_as);
}
END_TEST

WB_TEST(tasks_overlap_without_blocking, 2) {
  static const struct task_spec specs[] = {
      {"A", 100}, {"B", 100}, {"C", 100}, {"D", 100}};
  gather_tasks(wb_loop(), specs, 4, on_event, on_done, (void *)specs);
  wb_run(wb_loop(), 3000);
  wb_assert_calls(done_calls, 1, "the done callback");
  wb_assert_no_block(50);
  wb_assert_overlap(wb_elapsed_ms(), 100, 4);
}
END_TEST

WB_TEST(no_tasks_calls_done_once_later, 1) {
  static const struct task_spec none[1] = {{"unused", 0}};
  ck_assert_msg(gather_tasks(wb_loop(), none, 0, on_event, on_done,
                             (void *)none) == 0,
                "gather_tasks returned an error for zero tasks; gathering "
                "nothing is not an error");
  ck_assert_msg(done_calls == 0,
                "with no tasks, done was called from inside gather_tasks; it "
                "must come later, from the loop (a 0 ms timer or ev_once)");
  wb_run(wb_loop(), 2000);
  wb_assert_calls(done_calls, 1, "the done callback (with no tasks)");
  ck_assert_msg(done_n == 0, "done was called with n = %zu; expected 0",
                done_n);
  ck_assert_msg(nevents == 0,
                "with no tasks, on_event was called %d times; expected never",
                nevents);
}
END_TEST

WB_TEST(event_callback_is_optional, 1) {
  static const struct task_spec specs[] = {{"Task 1", 20}, {"Task 2", 10}};
  gather_tasks(wb_loop(), specs, 2, NULL, on_done, NULL);
  wb_run(wb_loop(), 2000);
  wb_assert_calls(done_calls, 1, "the done callback (with on_event NULL)");
}
END_TEST

WB_TEST(leaves_nothing_behind, 1) {
  static const struct task_spec specs[] = {
      {"Task 1", 10}, {"Task 2", 30}, {"Task 3", 20}};
  gather_tasks(wb_loop(), specs, 3, on_event, on_done, (void *)specs);
  wb_run(wb_loop(), 2000);
  wb_assert_calls(done_calls, 1, "the done callback");
  wb_assert_no_leaks();
}
END_TEST
