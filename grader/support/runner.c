/* runner.c - main() of every exercise test binary.
 *
 *   test-binary                 run every test with Check (fork mode) and
 *                               print Check's summary: for authors by hand
 *   test-binary --list          one line per test: NAME POINTS LINE
 *   test-binary --run NAME      (the grader) run one test in this process
 *
 * With --run the verdict travels to the grader on descriptor 4 as a record
 * that starts with a secret the grader sent on descriptor 3. The secret is
 * read and the descriptor closed from .preinit_array, which runs before
 * every constructor (this object is linked first, and its entry comes
 * first), so code under test cannot read it there; a record without it is
 * ignored: printing "ok" or exiting early with status 0 earns nothing.
 */
#define _GNU_SOURCE
#include "wbtest.h"
#include "wbtest_internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define SECRET_FD 3
#define RESULT_FD 4
#define SECRET_LEN 32

extern const struct wb_test __start_wb_tests[];
extern const struct wb_test __stop_wb_tests[];

static char secret[SECRET_LEN + 1];
static const char *run_name;

/* Runs before any constructor: glibc calls .preinit_array entries first, in
 * link order, with argc and argv. */
static void wb__read_secret(int argc, char **argv, char **envp) {
  (void)envp;
  if (argc < 3 || strcmp(argv[1], "--run") != 0)
    return;
  size_t got = 0;
  while (got < SECRET_LEN) {
    ssize_t n = read(SECRET_FD, secret + got, SECRET_LEN - got);
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(SECRET_FD);
  if (got != SECRET_LEN)
    secret[0] = 0; /* no secret, no verdict: the grader sees "no result" */
}

__attribute__((used, section(".preinit_array"))) static void (
    *const wb__preinit)(int, char **, char **) = wb__read_secret;

static const struct wb_test *find_test(const char *name) {
  for (const struct wb_test *t = __start_wb_tests; t < __stop_wb_tests; t++)
    if (strcmp(t->test->name, name) == 0)
      return t;
  return NULL;
}

static void on_alarm(int sig);

/* Armed here, inside srunner_run: Check installs a SIGALRM handler of its
 * own when a run starts, which would replace one installed earlier. */
static void setup(void) {
  wb__test_begin();
  const char *ms = getenv("WB_ALARM_MS");
  if (run_name && ms && atoi(ms) > 0) {
    struct itimerval it = {{0, 0}, {atoi(ms) / 1000, (atoi(ms) % 1000) * 1000}};
    signal(SIGALRM, on_alarm);
    setitimer(ITIMER_REAL, &it, NULL);
  }
}
static void teardown(void) { wb__test_end(); }

static Suite *suite_of(const struct wb_test *only) {
  Suite *s = suite_create("exercise");
  TCase *tc = tcase_create("tests");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 10);
  for (const struct wb_test *t = __start_wb_tests; t < __stop_wb_tests; t++)
    if (!only || t == only)
      _tcase_add_test(tc, t->test, 0, 0, 0, 1);
  suite_add_tcase(s, tc);
  return s;
}

/* Writes the whole record, retrying short writes; then leaves at once with
 * _exit, so no atexit handler of the code under test runs after it. */
static void report(const char *status, const char *msg) {
  char head[256];
  size_t len = strlen(msg);
  int n = snprintf(head, sizeof head, "WB1 %s %s %s %zu\n", secret, run_name,
                   status, len);
  const char *parts[2] = {head, msg};
  size_t sizes[2] = {(size_t)n, len};
  for (int i = 0; i < 2; i++)
    for (size_t off = 0; off < sizes[i];) {
      ssize_t w = write(RESULT_FD, parts[i] + off, sizes[i] - off);
      if (w <= 0)
        _exit(3);
      off += (size_t)w;
    }
  _exit(0);
}

/* Shortly before the grader's hard time limit, say where the test was. */
static void on_alarm(int sig) {
  static char msg[4096];
  (void)sig;
  wb__describe_stuck(msg, sizeof msg);
  report("timeout", msg);
}

static int run_one(const char *name) {
  run_name = name;
  const struct wb_test *t = find_test(name);
  if (!secret[0])
    return 2;
  if (!t)
    report("error", "no such test in this binary");
  SRunner *sr = srunner_create(suite_of(t));
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, CK_SILENT);
  TestResult **res = srunner_results(sr);
  if (srunner_ntests_run(sr) != 1)
    report("error", "the test did not run");
  TestResult *r = res[0];
  if (tr_rtype(r) == CK_PASS)
    report("pass", "");
  char msg[8192];
  snprintf(msg, sizeof msg, "%s:%d: %s", tr_lfile(r) ? tr_lfile(r) : "?",
           tr_lno(r), tr_msg(r) ? tr_msg(r) : "");
  report(tr_rtype(r) == CK_FAILURE ? "fail" : "error", msg);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "--run") == 0)
    return run_one(argv[2]);
  if (argc >= 2 && strcmp(argv[1], "--list") == 0) {
    for (const struct wb_test *t = __start_wb_tests; t < __stop_wb_tests; t++)
      printf("%s %d %d\n", t->test->name, t->points, t->test->line);
    return 0;
  }
  SRunner *sr = srunner_create(suite_of(NULL));
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
