/* test_gather_tasks.c - the tests of exercise 02.2 and their points.
 * The callbacks copy what they see into static state; nothing of the code
 * under test is read after its callback has returned.
 */
#include "gather_tasks.h"
#include "wbtest.h"

#define MAX_EVENTS 32
#define MAX_RESULTS 8

/* What on_event saw, in order. The tests pass their specs array as arg, so
 * an event's task index is `task - specs`. */
static long started[MAX_EVENTS], completed[MAX_EVENTS]; /* task indexes */
static double completed_at_ms[MAX_EVENTS];
static int nevents, nstarted, ncompleted;
static int completed_per_task[MAX_RESULTS];

/* What on_done saw. A result's name is kept as the index of the spec whose
 * name pointer it is (NAME_NULL, NAME_OTHER when it is none of them). */
enum { NAME_NULL = -1, NAME_OTHER = -2 };
static int done_calls;
static size_t done_n = 99;
static int done_results_null = -1;
static int done_name[MAX_RESULTS];
static unsigned done_finished_as[MAX_RESULTS];
static int completed_when_done = -1;
static size_t specs_len; /* how many specs the running test passed */

static void on_event(struct ev_loop *loop, const struct task_spec *task,
                     enum task_event event, void *arg) {
  const struct task_spec *specs = arg;
  long i = task - specs;
  (void)loop;
  nevents++;
  if (event == TASK_STARTED) {
    if (nstarted < MAX_EVENTS)
      started[nstarted] = i;
    nstarted++;
  } else {
    if (ncompleted < MAX_EVENTS) {
      completed[ncompleted] = i;
      completed_at_ms[ncompleted] = wb_elapsed_ms();
    }
    ncompleted++;
    if (i >= 0 && i < MAX_RESULTS)
      completed_per_task[i]++;
  }
}

static void on_done(struct ev_loop *loop, const struct task_result *results,
                    size_t n, void *arg) {
  const struct task_spec *specs = arg;
  (void)loop;
  done_calls++;
  done_n = n;
  done_results_null = results == NULL;
  completed_when_done = ncompleted;
  for (size_t i = 0; results && i < n && i < MAX_RESULTS; i++) {
    done_name[i] = results[i].name ? NAME_OTHER : NAME_NULL;
    for (size_t j = 0; specs && j < specs_len; j++)
      if (results[i].name == specs[j].name) {
        done_name[i] = (int)j;
        break;
      }
    done_finished_as[i] = results[i].finished_as;
  }
}

/* Starts the gather with the test's callbacks and the specs as arg. */
static void gather(const struct task_spec *specs, size_t n, task_event_cb cb) {
  specs_len = n;
  int rc = gather_tasks(wb_loop(), specs, n, cb, on_done, (void *)specs);
  ck_assert_msg(rc == 0,
                "gather_tasks returned %d for %zu task%s; it must return 0 "
                "once it has started them (-1 is only for running out of "
                "memory)",
                rc, n, n == 1 ? "" : "s");
}

static void assert_names_in_input_order(const struct task_spec *specs, int n) {
  for (int i = 0; i < n; i++) {
    ck_assert_msg(done_name[i] != NAME_NULL,
                  "results[%d].name is NULL; set it to specs[%d].name when "
                  "you start the task",
                  i, i);
    ck_assert_msg(done_name[i] != NAME_OTHER,
                  "results[%d].name is not the pointer specs[%d].name but "
                  "some other pointer (a copy?): store specs[%d].name itself, "
                  "the header says the same pointer",
                  i, i, i);
    ck_assert_msg(done_name[i] == i,
                  "results[%d] has the name of specs[%d] (\"%s\"), but "
                  "results[%d] belongs to specs[%d] (\"%s\"): write each "
                  "result into its task's own slot, whatever order the "
                  "tasks finish in",
                  i, done_name[i], specs[done_name[i]].name, i, i,
                  specs[i].name);
  }
}

WB_TEST(starts_every_task_before_returning, 2) {
  /* Delays long enough that a busy machine's stall (100 ms and more have
   * been seen) cannot pass for waiting them out one after another. */
  static const struct task_spec specs[] = {
      {"Task 1", 300}, {"Task 2", 100}, {"Task 3", 200}};
  gather(specs, 3, on_event);
  double returned_ms = wb_elapsed_ms();
  ck_assert_msg(nstarted == 3,
                "when gather_tasks returned, %d of the 3 tasks had reported "
                "TASK_STARTED: report each task's start before returning",
                nstarted);
  for (int i = 0; i < 3; i++)
    ck_assert_msg(started[i] == i,
                  "the tasks reported TASK_STARTED in the order %ld, %ld, "
                  "%ld; expected 0, 1, 2 (the order of specs)",
                  started[0], started[1], started[2]);
  ck_assert_msg(ncompleted == 0,
                "a task reported TASK_COMPLETED before gather_tasks returned: "
                "completion must come from the loop, after the task's delay");
  ck_assert_msg(done_calls == 0,
                "done was called before gather_tasks returned: it must come "
                "from the loop, after the last task has completed");
  ck_assert_msg(returned_ms < 0.9 * (300 + 100 + 200),
                "gather_tasks took %.0f ms to return, as long as its tasks' "
                "delays added up (600 ms): it must only start the timers and "
                "return; the loop does the waiting (no sleep() or usleep())",
                returned_ms);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(done_calls, 1, "the done callback");
  wb_assert_no_block(50);
}
END_TEST

WB_TEST(completes_in_delay_order_after_each_delay, 2) {
  static const struct task_spec specs[] = {
      {"Task 1", 30}, {"Task 2", 10}, {"Task 3", 20}};
  gather(specs, 3, on_event);
  wb_run(wb_loop(), 1000);
  wb_assert_calls(ncompleted, 3, "on_event with TASK_COMPLETED");
  for (int i = 0; i < 3; i++)
    ck_assert_msg(completed_per_task[i] == 1,
                  "specs[%d] reported TASK_COMPLETED %d times; expected "
                  "once",
                  i, completed_per_task[i]);
  ck_assert_msg(completed[0] == 1 && completed[1] == 2 && completed[2] == 0,
                "the tasks (delays 30, 10, 20 ms) completed in the order "
                "%ld, %ld, %ld; expected 1, 2, 0 (shortest delay first): "
                "start every timer in gather_tasks, each with its own delay",
                completed[0], completed[1], completed[2]);
  for (int k = 0; k < 3; k++) {
    unsigned delay = specs[completed[k]].delay_ms;
    ck_assert_msg(completed_at_ms[k] >= delay * 0.9,
                  "the task with a delay of %u ms completed after %.0f ms: "
                  "each task must sleep its own delay_ms (delay_ms / 1000.0 "
                  "seconds for ev_timer)",
                  delay, completed_at_ms[k]);
  }
  wb_assert_no_block(50);
}
END_TEST

WB_TEST(done_once_with_results_in_input_order, 3) {
  static const struct task_spec specs[] = {
      {"Task 1", 30}, {"Task 2", 10}, {"Task 3", 20}};
  gather(specs, 3, on_event);
  wb_run(wb_loop(), 1000);
  wb_assert_calls(done_calls, 1, "the done callback");
  ck_assert_msg(done_n == 3, "done was called with n = %zu; expected 3",
                done_n);
  ck_assert_msg(!done_results_null,
                "done was called with results = NULL for 3 tasks");
  ck_assert_msg(completed_when_done == 3,
                "done was called when %d of the 3 tasks had reported "
                "TASK_COMPLETED: call it after the last one has",
                completed_when_done);
  assert_names_in_input_order(specs, 3);
  ck_assert_msg(done_finished_as[0] == 3 && done_finished_as[1] == 1 &&
                    done_finished_as[2] == 2,
                "finished_as was %u, %u, %u for delays 30, 10, 20 ms; "
                "expected 3, 1, 2: the tasks sleep side by side, so the 10 "
                "ms one finishes first (1), and each task gets the count of "
                "tasks finished so far, itself included, when it completes",
                done_finished_as[0], done_finished_as[1], done_finished_as[2]);
  wb_assert_no_block(50);
}
END_TEST

WB_TEST(tasks_overlap_without_blocking, 3) {
  static const struct task_spec specs[] = {
      {"A", 80}, {"B", 80}, {"C", 80}, {"D", 80}};
  gather(specs, 4, on_event);
  wb_run(wb_loop(), 1500);
  wb_assert_calls(done_calls, 1, "the done callback");
  wb_assert_no_block(50);
  wb_assert_overlap(wb_elapsed_ms(), 80, 4);
}
END_TEST

WB_TEST(equal_delays_finish_one_by_one, 2) {
  static const struct task_spec specs[] = {
      {"Task 1", 30}, {"Task 2", 30}, {"Task 3", 10}};
  gather(specs, 3, on_event);
  wb_run(wb_loop(), 1000);
  wb_assert_calls(done_calls, 1, "the done callback");
  for (int i = 0; i < 3; i++)
    ck_assert_msg(completed_per_task[i] == 1,
                  "specs[%d] (delay %u ms) reported TASK_COMPLETED %d "
                  "times; expected once",
                  i, specs[i].delay_ms, completed_per_task[i]);
  ck_assert_msg(completed_when_done == 3,
                "with two tasks of equal delay, done was called when %d of "
                "the 3 tasks had reported TASK_COMPLETED: count the "
                "completions and call done after the one that brings the "
                "count to n has been reported (the task with the longest "
                "delay need not be the last)",
                completed_when_done);
  unsigned a = done_finished_as[0], b = done_finished_as[1];
  ck_assert_msg(done_finished_as[2] == 1 &&
                    ((a == 2 && b == 3) || (a == 3 && b == 2)),
                "finished_as was %u, %u, %u for delays 30, 30, 10 ms; "
                "expected 1 for the 10 ms task and 2 and 3 (in either order) "
                "for the two 30 ms tasks: equal delays still finish one "
                "after the other, so count completions as they happen",
                a, b, done_finished_as[2]);
  wb_assert_no_block(50);
}
END_TEST

WB_TEST(zero_delay_completes_from_the_loop, 1) {
  static const struct task_spec specs[] = {{"Slow", 20}, {"Zero", 0}};
  gather(specs, 2, on_event);
  ck_assert_msg(ncompleted == 0 && done_calls == 0,
                "the task with a delay of 0 ms reported TASK_COMPLETED "
                "before gather_tasks returned: a 0 ms task is no exception, "
                "arm its timer like the others and let the loop complete it");
  wb_run(wb_loop(), 1000);
  wb_assert_calls(done_calls, 1, "the done callback");
  ck_assert_msg(done_finished_as[1] == 1 && done_finished_as[0] == 2,
                "finished_as was %u for the 20 ms task and %u for the 0 ms "
                "task; expected 2 and 1: the 0 ms task finishes first",
                done_finished_as[0], done_finished_as[1]);
  wb_assert_no_block(50);
}
END_TEST

WB_TEST(single_task, 1) {
  static const struct task_spec specs[] = {{"Only", 10}};
  gather(specs, 1, on_event);
  ck_assert_msg(nstarted == 1 && ncompleted == 0 && done_calls == 0,
                "when gather_tasks returned with one task, it had reported "
                "%d TASK_STARTED, %d TASK_COMPLETED and called done %d "
                "times; expected 1, 0 and 0",
                nstarted, ncompleted, done_calls);
  wb_run(wb_loop(), 1000);
  wb_assert_calls(done_calls, 1, "the done callback (with one task)");
  ck_assert_msg(done_n == 1,
                "with one task, done was called with n = %zu; "
                "expected 1",
                done_n);
  ck_assert_msg(completed_when_done == 1,
                "with one task, done was called before the task reported "
                "TASK_COMPLETED: report the completion first, then call "
                "done");
  assert_names_in_input_order(specs, 1);
  ck_assert_msg(done_finished_as[0] == 1,
                "the only task has finished_as = %u; expected 1 (the first "
                "task to finish gets 1)",
                done_finished_as[0]);
}
END_TEST

WB_TEST(no_tasks_calls_done_once_later, 1) {
  static const struct task_spec none[1] = {{"unused", 0}};
  gather(none, 0, on_event);
  ck_assert_msg(done_calls == 0,
                "with no tasks, done was called from inside gather_tasks; it "
                "must come later, from the loop (ev_once or a 0 ms timer)");
  wb_run(wb_loop(), 1000);
  wb_assert_calls(done_calls, 1, "the done callback (with no tasks)");
  ck_assert_msg(done_n == 0, "done was called with n = %zu; expected 0",
                done_n);
  ck_assert_msg(done_results_null == 1,
                "with no tasks, done was called with results pointing to "
                "memory; the header says results is NULL when n is 0");
  ck_assert_msg(nevents == 0,
                "with no tasks, on_event was called %d times; expected never",
                nevents);
}
END_TEST

WB_TEST(event_callback_is_optional, 1) {
  static const struct task_spec specs[] = {{"Task 1", 20}, {"Task 2", 10}};
  gather(specs, 2, NULL);
  wb_run(wb_loop(), 1000);
  wb_assert_calls(done_calls, 1, "the done callback (with on_event NULL)");
  ck_assert_msg(done_finished_as[0] == 2 && done_finished_as[1] == 1,
                "with on_event NULL, finished_as was %u, %u for delays 20, "
                "10 ms; expected 2, 1: the tasks run the same, only nothing "
                "is reported",
                done_finished_as[0], done_finished_as[1]);
}
END_TEST

WB_TEST(out_of_memory_returns_minus_one, 2) {
  static const struct task_spec specs[] = {{"Task 1", 10}, {"Task 2", 5}};
  specs_len = 2;
  for (unsigned k = 1;; k++) {
    nevents = nstarted = ncompleted = done_calls = 0;
    wb_fail_alloc(k);
    int rc =
        gather_tasks(wb_loop(), specs, 2, on_event, on_done, (void *)specs);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < k) { /* nothing failed: the gather must simply work */
      ck_assert_msg(rc == 0,
                    "gather_tasks returned %d with no allocation "
                    "failing; expected 0",
                    rc);
      wb_run(wb_loop(), 1000);
      wb_assert_calls(done_calls, 1, "the done callback");
      break;
    }
    ck_assert_msg(rc == -1,
                  "allocation number %u of gather_tasks failed (malloc or "
                  "calloc returned NULL), but gather_tasks returned %d; "
                  "expected -1: check every allocation and return -1 when "
                  "one fails, after freeing what you had allocated",
                  k, rc);
    ck_assert_msg(done_calls == 0,
                  "allocation number %u of gather_tasks failed and it "
                  "returned -1, but it had called done as well: after -1 no "
                  "callback is ever called (the -1 is how the caller learns "
                  "of the failure)",
                  k);
    ck_assert_msg(nevents == 0,
                  "allocation number %u of gather_tasks failed and it "
                  "returned -1, but it had already reported %d event%s "
                  "through on_event: after -1 no callback is ever called, so "
                  "allocate everything before reporting anything",
                  k, nevents, nevents == 1 ? "" : "s");
    wb_run(wb_loop(), 1000);
    ck_assert_msg(nevents == 0 && done_calls == 0,
                  "allocation number %u of gather_tasks failed and it "
                  "returned -1, but then the loop called on_event %d time(s) "
                  "and done %d time(s): after -1 no callback is ever called, "
                  "so stop every watcher you started before returning -1",
                  k, nevents, done_calls);
  }
}
END_TEST

WB_TEST(leaves_nothing_behind, 1) {
  static const struct task_spec specs[] = {
      {"Task 1", 10}, {"Task 2", 20}, {"Task 3", 5}};
  gather(specs, 3, on_event);
  wb_run(wb_loop(), 1000);
  wb_assert_calls(done_calls, 1, "the done callback");
  wb_assert_no_leaks();
}
END_TEST
