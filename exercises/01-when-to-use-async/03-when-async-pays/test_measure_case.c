/* test_measure_case.c - the tests of exercise 01.3 and their points.
 * The tests check the report against facts and against the tests' own
 * measurements of the same things, with wide margins; and the verdict on
 * cases where it is clear by a factor of three or more.
 */
#define _GNU_SOURCE /* clock_gettime */
#include "measure_case.h"
#include "wbtest.h"

#include <math.h>
#include <time.h>

#define MAX_TASKS 16

static int done_calls;
static struct case_report got;
static double returned_ms, done_ms; /* wb_elapsed_ms() at those moments */
static double call_ms;             /* ... just before measure_case */
static int computed[MAX_TASKS], computes_before_return;
static double computed_ms[MAX_TASKS]; /* each compute call, as it saw it */
static unsigned burn_ms_of[MAX_TASKS];

static void on_done(struct ev_loop *loop, const struct case_report *r,
                    void *arg) {
  (void)loop, (void)arg;
  done_calls++;
  got = *r;
  done_ms = wb_elapsed_ms();
}

static double thread_cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Computes for burn_ms_of[index] ms of CPU time. */
static void burn(unsigned index) {
  double t0 = wb_elapsed_ms(), c0 = thread_cpu_ms();
  if (index < MAX_TASKS) {
    while (thread_cpu_ms() - c0 < burn_ms_of[index])
      ;
    computed[index]++;
    computed_ms[index] += wb_elapsed_ms() - t0;
  }
}

static void run_case(unsigned n, unsigned wait_ms, compute_fn compute) {
  struct case_spec spec = {n, wait_ms, compute};
  call_ms = wb_elapsed_ms();
  int rc = measure_case(wb_loop(), &spec, on_done, NULL);
  returned_ms = wb_elapsed_ms();
  ck_assert_msg(rc == 0, "measure_case returned %d; it must return 0 once "
                "the tasks are started", rc);
  ck_assert_msg(done_calls == 0, "done was called before measure_case "
                "returned: it must come from the loop");
  ck_assert_msg(n == 0 || wb_active_watchers(wb_loop()) == (int)n,
                "when measure_case returned, %d timer%s waiting; all %u "
                "tasks should have started their wait: start every timer "
                "in measure_case",
                wb_active_watchers(wb_loop()),
                wb_active_watchers(wb_loop()) == 1 ? " was" : "s were", n);
  computes_before_return = 0;
  for (unsigned i = 0; i < n && i < MAX_TASKS; i++)
    computes_before_return += computed[i];
  ck_assert_msg(computes_before_return == 0,
                "compute was called before measure_case returned: each "
                "task computes from its timer's callback, after its wait");
  wb_run(wb_loop(), 1500);
  wb_assert_calls(done_calls, 1, "the done callback");
  for (unsigned i = 0; compute && i < n && i < MAX_TASKS; i++)
    ck_assert_msg(computed[i] == 1, "compute(%u) was called %d times; "
                  "expected once", i, computed[i]);
  ck_assert_msg(got.tasks == n, "report.tasks is %u; %u tasks completed",
                got.tasks, n);
}

/* The fields that follow from the others, and the facts of any case. */
static void check_report(unsigned n, unsigned wait_ms) {
  double test_elapsed = done_ms - call_ms;
  ck_assert_msg(got.most_waiting == n,
                "report.most_waiting is %u; all %u waits should have been "
                "under way at the same moment: start every timer in "
                "measure_case, and count how many wait at once",
                got.most_waiting, n);
  ck_assert_msg(got.wait_ms == (double)n * wait_ms,
                "report.wait_ms is %.1f; %u tasks of %u ms wait %u ms in "
                "all",
                got.wait_ms, n, wait_ms, n * wait_ms);
  ck_assert_msg(got.elapsed_ms <= test_elapsed + 25 &&
                    got.elapsed_ms >= 0.5 * test_elapsed - 5,
                "report.elapsed_ms is %.1f, but from the call to "
                "measure_case until done ran, %.1f ms passed: measure from "
                "the call until just before you call done, with a "
                "monotonic clock, in milliseconds",
                got.elapsed_ms, test_elapsed);
  ck_assert_msg(got.elapsed_ms >= 0.9 * wait_ms,
                "report.elapsed_ms is %.1f, shorter than one wait of %u "
                "ms: start the clock when measure_case is called",
                got.elapsed_ms, wait_ms);
  ck_assert_msg(fabs(got.serial_ms - (got.wait_ms + got.compute_ms)) < 1e-6,
                "report.serial_ms is %.3f; it is wait_ms + compute_ms = "
                "%.3f",
                got.serial_ms, got.wait_ms + got.compute_ms);
  ck_assert_msg(got.elapsed_ms > 0 &&
                    fabs(got.speedup - got.serial_ms / got.elapsed_ms) <
                        1e-6 * got.speedup + 1e-9,
                "report.speedup is %.3f; it is serial_ms / elapsed_ms = "
                "%.3f",
                got.speedup, got.serial_ms / got.elapsed_ms);
  ck_assert_msg(got.pays == (got.speedup >= 2.0),
                "report.pays is %d with a speedup of %.2f; it is 1 exactly "
                "when the speedup is at least 2",
                got.pays, got.speedup);
}

/* compute_ms and the longest call, against what the computes saw. */
static void check_compute(unsigned n) {
  double sum = 0, longest = 0;
  for (unsigned i = 0; i < n; i++) {
    sum += computed_ms[i];
    if (computed_ms[i] > longest)
      longest = computed_ms[i];
  }
  ck_assert_msg(got.compute_ms >= 0.95 * sum - 1 &&
                    got.compute_ms <= sum + 5.0 * n + 10,
                "report.compute_ms is %.1f, but the compute calls took "
                "%.1f ms in all: time each call, from just before it to "
                "just after it, and add them up",
                got.compute_ms, sum);
  ck_assert_msg(got.longest_compute_ms >= 0.95 * longest - 1 &&
                    got.longest_compute_ms <= longest + 10,
                "report.longest_compute_ms is %.1f, but the longest compute "
                "call took %.1f ms: keep the largest single duration",
                got.longest_compute_ms, longest);
}

WB_TEST(waits_overlap_so_async_pays, 3) {
  run_case(10, 100, NULL);
  check_report(10, 100);
  ck_assert_msg(got.compute_ms == 0 && got.longest_compute_ms == 0,
                "with no compute function, compute_ms and "
                "longest_compute_ms are 0; they are %.1f and %.1f",
                got.compute_ms, got.longest_compute_ms);
  ck_assert_msg(got.pays == 1,
                "ten waits of 100 ms overlapped, so the case took %.0f ms "
                "instead of 1000: async pays here (speedup %.1f), but the "
                "report says pays = %d",
                got.elapsed_ms, got.speedup, got.pays);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(computing_does_not_pay, 3) {
  for (int i = 0; i < 4; i++)
    burn_ms_of[i] = 30;
  run_case(4, 0, burn);
  check_report(4, 0);
  check_compute(4);
  ck_assert_msg(got.pays == 0 && got.speedup < 1.5,
                "four tasks that only compute ran one after another on the "
                "loop, so nothing overlapped: the speedup is about 1 and "
                "async does not pay; the report says speedup %.2f, pays %d",
                got.speedup, got.pays);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(longest_compute_is_the_loops_longest_stall, 2) {
  burn_ms_of[0] = 40;
  for (int i = 1; i < 5; i++)
    burn_ms_of[i] = 4;
  run_case(5, 20, burn);
  check_report(5, 20);
  check_compute(5);
  ck_assert_msg(got.longest_compute_ms >= 0.5 * wb_lag_max_ms() - 5,
                "the loop stood still for %.0f ms in one go, but the report "
                "says the longest compute took %.1f ms",
                wb_lag_max_ms(), got.longest_compute_ms);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(mostly_waiting_still_pays, 2) {
  for (int i = 0; i < 5; i++)
    burn_ms_of[i] = 5;
  run_case(5, 150, burn);
  check_report(5, 150);
  check_compute(5);
  ck_assert_msg(got.pays == 1,
                "five tasks that wait 150 ms and compute 5 ms each took "
                "%.0f ms together instead of about 775: async pays here, "
                "but the report says pays = %d (speedup %.2f)",
                got.elapsed_ms, got.pays, got.speedup);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(no_tasks_reports_zeros_later, 1) {
  run_case(0, 50, burn);
  ck_assert_msg(got.most_waiting == 0 && got.wait_ms == 0 &&
                    got.compute_ms == 0 && got.longest_compute_ms == 0 &&
                    got.elapsed_ms == 0 && got.serial_ms == 0 &&
                    got.speedup == 0 && got.pays == 0,
                "with no tasks every field of the report is 0; got "
                "most_waiting %u, wait_ms %.1f, compute_ms %.1f, elapsed_ms "
                "%.1f, speedup %.2f, pays %d",
                got.most_waiting, got.wait_ms, got.compute_ms, got.elapsed_ms,
                got.speedup, got.pays);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(out_of_memory_returns_minus_one, 1) {
  struct case_spec spec = {3, 10, burn};
  for (unsigned n = 1;; n++) {
    wb_fail_alloc(n);
    int rc = measure_case(wb_loop(), &spec, on_done, NULL);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < n) {
      ck_assert_msg(rc == 0, "measure_case returned %d", rc);
      break;
    }
    ck_assert_msg(rc == -1, "allocation %u of measure_case failed, yet it "
                  "returned %d; it must return -1", n, rc);
    ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                  "allocation %u of measure_case failed and it returned -1, "
                  "but it left a timer running", n);
  }
  wb_run(wb_loop(), 1000);
  wb_assert_calls(done_calls, 1, "the done callback");
  for (int i = 0; i < 3; i++)
    ck_assert_msg(computed[i] == 1, "compute(%d) was called %d times", i,
                  computed[i]);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(a_little_overlap_is_not_enough, 1) {
  burn_ms_of[0] = burn_ms_of[1] = 5;
  run_case(2, 500, burn);
  check_report(2, 500);
  check_compute(2);
  ck_assert_msg(got.pays == 0,
                "two tasks that wait 500 ms and compute 5 ms each: the waits "
                "overlap, the computing does not, so the case takes at least "
                "500 ms plus both compute calls and the speedup stays under "
                "2 (about 1.98 at best); the report says speedup %.2f, pays "
                "%d, but async pays only from a speedup of 2",
                got.speedup, got.pays);
  wb_assert_no_leaks();
}
END_TEST
