/* test_report_jobs.c - the tests of exercise 09.1 and their points.
 * Every call goes through start(), which also checks that report_jobs
 * returned without calling cb and without waiting itself.
 */
#include "report_jobs.h"
#include "wbtest.h"

#include <stdio.h>
#include <string.h>

static int calls, wrong_loop;
static void *got_arg;
static double called_at; /* wb_elapsed_ms() at the last call of cb */
static char got[512];    /* the last report, copied */
static unsigned allocs;  /* allocations of the last report_jobs call */

static void on_report(struct ev_loop *loop, const char *report, void *arg) {
  calls++;
  got_arg = arg;
  called_at = wb_elapsed_ms();
  if (loop != wb_loop())
    wrong_loop++;
  snprintf(got, sizeof got, "%s", report ? report : "(NULL)");
}

static int start(const unsigned *delays, size_t n, void *arg) {
  int before = calls;
  double t0 = wb_elapsed_ms();
  int rc = report_jobs(wb_loop(), delays, n, on_report, arg);
  double took = wb_elapsed_ms() - t0;
  allocs = wb_allocs();
  wb_fail_alloc(0);
  ck_assert_msg(calls == before || rc != -1,
                "report_jobs returned -1 (out of memory) but called cb: after "
                "-1, cb must never be called");
  ck_assert_msg(calls == before,
                "report_jobs(loop, delays, %zu, cb, arg) called cb before it "
                "returned, with the report \"%s\". At that moment no job has "
                "ended yet: the report does not exist. cb must be called by "
                "the loop, from the callback of the last job to end (for 0 "
                "jobs: from a watcher that is started, not only initialised).",
                n, got);
  ck_assert_msg(took < 50,
                "report_jobs took %.0f ms to return: it waited itself. It must "
                "only start the jobs' timers and return; the loop does the "
                "waiting while the caller runs it.",
                took);
  return rc;
}

static void check_report(const char *want, size_t n) {
  wb_assert_calls(calls, 1, "the report callback");
  ck_assert_msg(wrong_loop == 0, "cb was called with another loop than the "
                                 "one given to report_jobs");
  ck_assert_msg(strcmp(got, want) == 0,
                "the report of %zu job%s was\n\"%s\"\nexpected\n\"%s\"\n(one "
                "line per job, in the order the jobs ended)",
                n, n == 1 ? "" : "s", got, want);
}

WB_TEST(reports_lines_in_finishing_order, 2) {
  static const unsigned delays[] = {60, 10, 30};
  static int token;
  ck_assert_msg(start(delays, 3, &token) == 0, "report_jobs returned an error");
  wb_run(wb_loop(), 1000);
  wb_assert_no_block(50);
  check_report("job 1: 10 ms\njob 2: 30 ms\njob 0: 60 ms\n", 3);
  ck_assert_msg(got_arg == &token, "cb was called with arg %p, but "
                "report_jobs was given %p: pass arg to cb untouched",
                got_arg, (void *)&token);
}
END_TEST

WB_TEST(no_jobs_reports_empty_from_the_loop, 1) {
  ck_assert_msg(start(NULL, 0, NULL) == 0,
                "report_jobs(loop, NULL, 0, cb, arg) returned an error; zero "
                "jobs is valid and should return 0");
  wb_run(wb_loop(), 1000);
  if (calls == 0)
    ck_abort_msg("the report of 0 jobs never came: cb was never called. Is "
                 "every watcher that report_jobs initialises also started?");
  check_report("", 0);
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "a watcher is still active after the report of 0 jobs");
}
END_TEST

WB_TEST(one_job_of_zero_ms, 1) {
  static const unsigned delays[] = {0};
  ck_assert_msg(start(delays, 1, NULL) == 0, "report_jobs returned an error");
  wb_run(wb_loop(), 1000);
  check_report("job 0: 0 ms\n", 1);
}
END_TEST

WB_TEST(jobs_run_at_once, 2) {
  static const unsigned delays[] = {100, 100, 100, 100, 100};
  ck_assert_msg(start(delays, 5, NULL) == 0, "report_jobs returned an error");
  wb_run(wb_loop(), 1500);
  wb_assert_no_block(50);
  wb_assert_calls(calls, 1, "the report callback");
  ck_assert_msg(called_at >= 90,
                "the report came %.0f ms after report_jobs was called, but "
                "the jobs take 100 ms: it was handed over before they ended",
                called_at);
  wb_assert_overlap(called_at, 100, 5);
  int lines = 0;
  for (const char *p = got; *p; p++)
    lines += *p == '\n';
  ck_assert_msg(lines == 5, "the report of 5 jobs had %d lines:\n%s", lines,
                got);
}
END_TEST

WB_TEST(report_waits_for_the_last_job, 1) {
  static const unsigned delays[] = {0, 200};
  ck_assert_msg(start(delays, 2, NULL) == 0, "report_jobs returned an error");
  wb_run(wb_loop(), 1000);
  wb_assert_no_block(50);
  check_report("job 0: 0 ms\njob 1: 200 ms\n", 2);
  ck_assert_msg(called_at >= 180,
                "the report came %.0f ms after report_jobs was called, before "
                "its last job (200 ms) had ended",
                called_at);
}
END_TEST

WB_TEST(out_of_memory_returns_minus_one, 2) {
  static const unsigned delays[] = {20, 10};
  for (unsigned n = 1;; n++) {
    wb_fail_alloc(n);
    int rc = start(delays, 2, NULL);
    if (allocs < n) { /* nothing failed: the call that succeeds */
      ck_assert_msg(rc == 0, "report_jobs returned %d; it should return 0",
                    rc);
      wb_run(wb_loop(), 1000);
      check_report("job 1: 10 ms\njob 0: 20 ms\n", 2);
      break;
    }
    ck_assert_msg(rc == -1,
                  "allocation %u of report_jobs failed (it returned NULL), "
                  "yet report_jobs returned %d: when memory runs out it must "
                  "return -1",
                  n, rc);
    ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                  "allocation %u of report_jobs failed and it returned -1, but "
                  "it left a watcher started",
                  n);
    wb_run(wb_loop(), 1000);
    ck_assert_msg(calls == 0, "allocation %u of report_jobs failed and it "
                  "returned -1, but cb was called later", n);
  }
}
END_TEST

WB_TEST(leaves_nothing_behind, 1) {
  static const unsigned delays[] = {30, 10, 20};
  ck_assert_msg(start(delays, 3, NULL) == 0, "report_jobs returned an error");
  wb_run(wb_loop(), 1000);
  check_report("job 1: 10 ms\njob 2: 20 ms\njob 0: 30 ms\n", 3);
  calls = 0;
  ck_assert_msg(start(NULL, 0, NULL) == 0, "report_jobs returned an error");
  wb_run(wb_loop(), 1000);
  check_report("", 0);
  wb_assert_no_leaks();
}
END_TEST
