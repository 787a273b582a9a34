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
 * Code under test may define functions of the C library itself (write,
 * read, strcmp...): the program's own definition wins over the library's,
 * for the runner's calls too. So the secret and the record never pass
 * through the C library: they are read, kept and written with system calls
 * made here, and kept in a page of their own that is unreadable while the
 * test runs.
 * In the sanitizer build a test passes only if LeakSanitizer, run after
 * the test and its teardown, finds nothing leaked.
 */
#define _GNU_SOURCE
#include "wbtest.h"
#include "wbtest_internal.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

/* The sanitizer build (GCC says __SANITIZE_ADDRESS__, clang __has_feature). */
#if defined(__SANITIZE_ADDRESS__)
#define WB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WB_ASAN 1
#endif
#endif
#ifdef WB_ASAN
#include <sanitizer/lsan_interface.h>
#endif

#define SECRET_FD 3
#define RESULT_FD 4
#define SECRET_LEN 32

extern const struct wb_test __start_wb_tests[];
extern const struct wb_test __stop_wb_tests[];

static const char *run_name;

/* ---- System calls the code under test cannot intercept: wb_sys.h ------ */
#include "wb_sys.h"
#include <sys/syscall.h>

/* The secret: 16 raw bytes (not the hex the grader sent, so a search for
 * a hex string finds nothing) at a random place in a region of random
 * size and random content, unreadable between reading and reporting. The
 * runner's own names are stripped from the program (see the Makefile).
 * NULL when there is no secret: then no verdict is given. */
static unsigned char *vault;
static size_t vault_size, vault_at;

static void vault_open(int on) {
  if (vault)
    wb_sys(SYS_mprotect, (long)vault, (long)vault_size,
           on ? PROT_READ | PROT_WRITE : PROT_NONE, 0, 0, 0);
}

/* The table of tests as it was before any code under test ran: copied
 * from .preinit_array into a region of the runner's own, read-only from
 * then on. The runner looks tests up, runs them and judges them from this
 * copy only, so rewriting the program's table later changes nothing. */
#define MAX_TESTS 256
struct test_copy {
  TTest t;        /* name and file point into this copy */
  int points;
  char name[128];
  char file[256];
};
static struct test_copy *tests;
static int ntests;

static void copy_str(char *to, size_t cap, const char *from) {
  size_t i = 0;
  for (; from && from[i] && i + 1 < cap; i++)
    to[i] = from[i];
  to[i] = 0;
}

static void copy_tests(void) {
  long n = __stop_wb_tests - __start_wb_tests;
  if (n <= 0 || n > MAX_TESTS)
    return;
  long size = (long)((sizeof(struct test_copy) * (size_t)n + 4095) & ~(size_t)4095);
  long page = wb_sys(SYS_mmap, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
  if ((unsigned long)page > -4096UL)
    return;
  struct test_copy *c = (struct test_copy *)page;
  for (long i = 0; i < n; i++) {
    const struct wb_test *w = &__start_wb_tests[i];
    copy_str(c[i].name, sizeof c[i].name, w->test->name);
    copy_str(c[i].file, sizeof c[i].file, w->test->file);
    c[i].t.name = c[i].name;
    c[i].t.file = c[i].file;
    c[i].t.fn = w->test->fn;
    c[i].t.line = w->test->line;
    c[i].points = w->points;
  }
  wb_sys(SYS_mprotect, page, size, PROT_READ, 0, 0, 0);
  tests = c;
  ntests = (int)n;
}

/* Whether the test's body ran to its end: WB_TEST's wrapper calls this
 * right after the body returns. A call from anywhere else (code under test
 * calling it, say) does not count. */
static int body_done;
static uintptr_t running_fn; /* the wrapper of the test being run */
__attribute__((noinline)) void wb__body_done(void) {
  uintptr_t from = (uintptr_t)__builtin_return_address(0);
  if (running_fn && from > running_fn && from - running_fn < 512)
    body_done = 1;
}

static int hexval(unsigned char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Runs before any constructor: glibc calls .preinit_array entries first, in
 * link order, with argc and argv. No C library call comes before the
 * secret is safe. */
static void wb__read_secret(int argc, char **argv, char **envp) {
  static const char run[] = "--run";
  (void)envp;
  if (argc < 3)
    return;
  for (int i = 0; i < (int)sizeof run; i++)
    if (argv[1][i] != run[i])
      return;
  unsigned char hex[SECRET_LEN];
  long got = 0;
  while (got < SECRET_LEN) {
    long n = wb_sys(SYS_read, SECRET_FD, (long)(hex + got), SECRET_LEN - got, 0, 0, 0);
    if (n <= 0)
      break;
    got += n;
  }
  wb_sys(SYS_close, SECRET_FD, 0, 0, 0, 0, 0);
  unsigned int r[2] = {0, 0};
  wb_sys(SYS_getrandom, (long)r, sizeof r, 0, 0, 0, 0);
  size_t size = (size_t)(16 + r[0] % 48) << 12; /* 64 to 252 KiB */
  long page = wb_sys(SYS_mmap, 0, (long)size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (got != SECRET_LEN || (unsigned long)page > -4096UL)
    return; /* no secret, no verdict: the grader sees "no result" */
  unsigned char *v = (unsigned char *)page;
  for (size_t off = 0; off < size;) { /* random all through */
    long n = wb_sys(SYS_getrandom, (long)(v + off), (long)(size - off), 0, 0, 0, 0);
    if (n <= 0)
      break;
    off += (size_t)n;
  }
  size_t at = r[1] % (size - SECRET_LEN / 2);
  for (int i = 0; i < SECRET_LEN / 2; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return;
    v[at + (size_t)i] = (unsigned char)(hi << 4 | lo);
  }
  for (int i = 0; i < SECRET_LEN; i++)
    ((volatile unsigned char *)hex)[i] = 0;
  vault = v;
  vault_size = size;
  vault_at = at;
  vault_open(0);
  copy_tests();
  /* Tells the grader the program did start: without this line, a missing
   * verdict is the machine's fault (the program could not be run), not
   * the learner's. Learner code runs only after it. */
  static const char started[] = "WB0 started\n";
  wb_sys(SYS_write, RESULT_FD, (long)started, sizeof started - 1, 0, 0, 0);
}

__attribute__((used, section(".preinit_array"))) static void (
    *const wb__preinit)(int, char **, char **) = wb__read_secret;

/* Test binaries do not link lib/wb_http (see the Makefile): an exercise
 * may ask the learner to write that glue. A learner's call to it fails to
 * link, and the linker prints these words (a .gnu.warning section) next to
 * "undefined reference", so the learner knows why. */
#define WB_NOT_IN_TESTS(sym)                                                   \
  __attribute__((used, section(".gnu.warning." #sym))) static const char       \
      wb__warn_##sym[] =                                                       \
          #sym " belongs to the workbook's chapters (lib/wb_http), not to "   \
          "the exercises: the exercise asks you to write this part yourself "  \
          "(its README shows how), so the tests do not link it.";
WB_NOT_IN_TESTS(wb_http_get)
WB_NOT_IN_TESTS(wb_http_cancel)

/* Names are compared here, not with strcmp: nothing the runner decides on
 * goes through a function code under test could have replaced. */
static int same_name(const char *a, const char *b) {
  while (*a && *a == *b)
    a++, b++;
  return *a == *b;
}

static const struct test_copy *find_test(const char *name) {
  for (int i = 0; i < ntests; i++)
    if (same_name(tests[i].name, name))
      return &tests[i];
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

/* A suite of one test (the grader's run), or of the whole table. */
static Suite *suite_of(const TTest *only) {
  Suite *s = suite_create("exercise");
  TCase *tc = tcase_create("tests");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 10);
  if (only)
    _tcase_add_test(tc, only, 0, 0, 0, 1);
  else
    for (const struct wb_test *t = __start_wb_tests; t < __stop_wb_tests; t++)
      _tcase_add_test(tc, t->test, 0, 0, 0, 1);
  suite_add_tcase(s, tc);
  return s;
}

/* Writes the whole record, retrying short writes; then leaves at once, so
 * no atexit handler of the code under test runs after it. The record is
 * put together here, byte by byte, and written with system calls: no
 * function the code under test could replace ever sees the secret. */
static void put(char *buf, size_t cap, size_t *n, const char *s) {
  while (*s && *n < cap)
    buf[(*n)++] = *s++;
}

static void write_all(const char *p, size_t len) {
  while (len > 0) {
    long w = wb_sys(SYS_write, RESULT_FD, (long)p, (long)len, 0, 0, 0);
    if (w <= 0)
      wb_sys(SYS_exit_group, 3, 0, 0, 0, 0, 0);
    p += w;
    len -= (size_t)w;
  }
}

static void report(const char *status, const char *msg) {
  static const char digits[] = "0123456789abcdef";
  char head[256];
  size_t n = 0, len = 0;
  while (msg[len])
    len++;
  if (!vault)
    wb_sys(SYS_exit_group, 2, 0, 0, 0, 0, 0);
  put(head, sizeof head, &n, "WB1 ");
  vault_open(1);
  for (int i = 0; i < SECRET_LEN / 2 && n + 2 < sizeof head; i++) {
    head[n++] = digits[vault[vault_at + (size_t)i] >> 4];
    head[n++] = digits[vault[vault_at + (size_t)i] & 15];
  }
  vault_open(0);
  put(head, sizeof head, &n, " ");
  put(head, 160, &n, run_name);
  put(head, sizeof head, &n, " ");
  put(head, sizeof head, &n, status);
  put(head, sizeof head, &n, " ");
  char num[24];
  int d = 0;
  size_t v = len;
  do {
    num[d++] = digits[v % 10];
    v /= 10;
  } while (v && d < 23);
  while (d > 0 && n < sizeof head)
    head[n++] = num[--d];
  if (n < sizeof head)
    head[n++] = '\n';
  write_all(head, n);
  for (volatile char *p = head; p < head + n; p++)
    *p = 0;
  write_all(msg, len);
  wb_sys(SYS_exit_group, 0, 0, 0, 0, 0, 0);
  __builtin_unreachable();
}

/* A fixture of the support library could not do its part (the local
 * server or redis-server did not start): the grader's fault, reported as
 * "could not grade", never as the learner's failure. Learner code cannot
 * call it (the grader refuses files that use wb__ names). */
void wb__grader_fault(const char *msg) {
  report("grader", msg);
  __builtin_unreachable();
}

/* Shortly before the grader's hard time limit, say where the test was. */
static void on_alarm(int sig) {
  static char msg[4096];
  (void)sig;
  wb__describe_stuck(msg, sizeof msg);
  report("timeout", msg);
}

#ifdef WB_ASAN
/* ---- Leaks (sanitizer build) ---------------------------------------------
 * The runner leaves with _exit, so LeakSanitizer's own check at exit never
 * runs. It runs here instead, once the test and its teardown are over (the
 * loop destroyed, the server stopped): whatever the code under test
 * allocated and can no longer reach is a leak. Its report goes to the
 * output as usual; the verdict names the learner's line. */

/* One "Direct leak of 48 byte(s) in 1 object(s) allocated from:" block of
 * the report, with the frame that is the learner's (or the first with a
 * source line). */
struct leak {
  int direct;
  unsigned long bytes, objects;
  char where[256]; /* "async_sleep.c:23" */
  char func[128];  /* "async_sleep" */
  char frame[16];  /* "#1": the frame of the report that names `where` */
  int learner;     /* `where` is in a file of the test's own folder */
};

/* Whether a frame's file is one of the learner's. The grader copies the
 * learner's files into the folder the test runs in (their objects may have
 * been compiled in another such folder, which the debug information still
 * names), so a source file of that name next to the test is the learner's;
 * the test's own file is not. */
static int learner_file(const char *base, const char *test_file) {
  const char *test_base = strrchr(test_file, '/');
  test_base = test_base ? test_base + 1 : test_file;
  return strcmp(base, test_base) != 0 && access(base, F_OK) == 0;
}

/* Reads a frame line "    #1 0x55d1 in async_sleep /w/async_sleep.c:23:5"
 * into l when it is a better place to name than what l has. */
static void leak_frame(struct leak *l, const char *line, const char *test_file) {
  const char *hash = strchr(line, '#');
  const char *in = strstr(line, " in ");
  if (!hash || !in || l->learner)
    return;
  char func[128], loc[512];
  if (sscanf(in + 4, "%127s %511s", func, loc) != 2 || loc[0] == '(')
    return;
  /* loc is FILE:LINE or FILE:LINE:COLUMN: keep FILE:LINE. */
  char *colon = strchr(loc, ':');
  if (!colon || !strstr(loc, ".c:"))
    return; /* the sanitizer's own C++ files, or no line */
  char *col = strchr(colon + 1, ':');
  if (col)
    *col = 0;
  *colon = 0;
  const char *base = strrchr(loc, '/');
  base = base ? base + 1 : loc;
  int mine = learner_file(base, test_file);
  *colon = ':';
  if (l->where[0] && !mine)
    return;
  snprintf(l->where, sizeof l->where, "%s", mine ? base : loc);
  snprintf(l->func, sizeof l->func, "%s", func);
  snprintf(l->frame, sizeof l->frame, "%.*s", (int)strcspn(hash, " "), hash);
  l->learner = mine;
}

/* LeakSanitizer names the places where leaked blocks were allocated. By
 * default it finds them by following frame pointers, which libraries such
 * as libcurl do not keep: the learner's call to curl_easy_init would then
 * be skipped, and the leak blamed on the test that called the learner's
 * function. The slower, exact unwinder costs about 25 ms a test. The
 * grader's ASAN_OPTIONS come on top of these defaults. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "fast_unwind_on_malloc=0"; }

/* Turns LeakSanitizer's report into sentences for the learner: the first
 * leak in the learner's code, then the other direct leaks. Indirect leaks
 * (blocks reachable only from a leaked block) are only counted: they are
 * freed along with the block that holds them. */
static void describe_leaks(const char *rep, const char *test_file, char *msg,
                           size_t len) {
  enum { MAX_LEAKS = 16, MAX_LISTED = 4 };
  static struct leak leaks[MAX_LEAKS];
  int n = 0, skipped = 0;
  struct leak *cur = NULL;
  for (const char *s = rep; *s;) {
    size_t ll = strcspn(s, "\n");
    char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)(ll < sizeof line ? ll : sizeof line - 1), s);
    s += ll + (s[ll] == '\n');
    unsigned long bytes, objects;
    const char *lk = strstr(line, "leak of ");
    if (lk && sscanf(lk, "leak of %lu byte(s) in %lu object(s)", &bytes, &objects) == 2) {
      cur = NULL;
      if (n == MAX_LEAKS) {
        skipped++;
        continue;
      }
      cur = &leaks[n++];
      *cur = (struct leak){!strncmp(line, "Direct", 6), bytes, objects, "", "", "", 0};
    } else if (cur && strchr(line, '#')) {
      leak_frame(cur, line, test_file);
    } else if (!ll) {
      cur = NULL;
    }
  }
  /* The one to name: the learner's own leaks first, direct ones first. */
  const struct leak *first = NULL;
  for (int pass = 0; pass < 4 && !first; pass++)
    for (int i = 0; i < n && !first; i++)
      if (leaks[i].learner == !(pass & 2) && leaks[i].direct == !(pass & 1))
        first = &leaks[i];
  size_t used = 0;
  if (first && first->where[0])
    used += (size_t)snprintf(msg, len,
                             "memory allocated at %s, in %s(), was never "
                             "freed: %lu bytes in %lu block%s that nothing "
                             "pointed to any more when the test ended (frame "
                             "%s of LeakSanitizer's report in the output; the "
                             "frames below it are its callers).",
                             first->where, first->func, first->bytes,
                             first->objects, first->objects == 1 ? "" : "s",
                             first->frame);
  else
    used += (size_t)snprintf(msg, len,
                             "memory was allocated and never freed (see "
                             "LeakSanitizer's report in the output).");
  int listed = 0, indirect = 0;
  for (int i = 0; i < n && used < len; i++) {
    if (&leaks[i] == first)
      continue;
    if (!leaks[i].direct) {
      indirect++;
      continue;
    }
    if (listed++ == MAX_LISTED) {
      skipped++;
      continue;
    }
    used += (size_t)snprintf(
        msg + used, len - used, "\nAlso never freed: %lu bytes in %lu block%s allocated at %s, in %s().",
        leaks[i].bytes, leaks[i].objects, leaks[i].objects == 1 ? "" : "s",
        leaks[i].where[0] ? leaks[i].where : "a place the report does not name",
        leaks[i].func[0] ? leaks[i].func : "an unknown function");
  }
  if ((skipped || indirect) && used < len)
    used += (size_t)snprintf(msg + used, len - used,
                             "\n(%d more leak%s in the report%s.)",
                             skipped + indirect, skipped + indirect == 1 ? "" : "s",
                             indirect ? ", some only reachable from a block "
                                        "above and freed with it" : "");
  if (used < len)
    snprintf(msg + used, len - used,
             "\nFree every block once nothing needs it any more (a watcher's "
             "struct: after the watcher is stopped, e.g. at the end of its "
             "last callback; curl and jansson objects: with their own "
             "cleanup functions).");
}

/* Where the report is caught while the check runs: a memory file in
 * place of stderr, and stderr itself, put back afterwards. */
static int leak_mem = -1, leak_saved = -1;
static char leak_rep[64 << 10];

/* Puts stderr back, reads the caught report into leak_rep and copies it
 * to stderr, where it would have gone. */
static void leak_report_restore(void) {
  dup2(leak_saved, 2);
  close(leak_saved);
  size_t got = 0;
  if (lseek(leak_mem, 0, SEEK_SET) == 0)
    for (ssize_t r; got < sizeof leak_rep - 1 &&
                    (r = read(leak_mem, leak_rep + got, sizeof leak_rep - 1 - got)) > 0;)
      got += (size_t)r;
  leak_rep[got] = 0;
  close(leak_mem);
  for (size_t off = 0; off < got;) {
    ssize_t w = write(2, leak_rep + off, got - off);
    if (w <= 0)
      break;
    off += (size_t)w;
  }
}

/* LeakSanitizer ends the process when it cannot look at its memory ("has
 * encountered a fatal error"): it stops every thread from a helper process
 * that traces them, which fails when the process limit is reached or
 * tracing is forbidden. Say so, instead of a silent exit. */
static void leak_check_died(void) {
  leak_report_restore();
  report("error", "the test passed, but the memory leak check could not "
                  "run: LeakSanitizer must start a helper process and trace "
                  "this one, and it could not (its message is in the "
                  "output). If your code leaves threads or child processes "
                  "running, end them; otherwise tell your instructor: the "
                  "grading machine does not allow the check.");
}

/* Runs LeakSanitizer now. Returns 1, with a message, when something
 * leaked. */
static int leaked(const char *test_file, char *msg, size_t len) {
  fflush(stderr);
  leak_saved = dup(2);
  leak_mem = memfd_create("wb-leaks", 0);
  if (leak_saved < 0 || leak_mem < 0 || dup2(leak_mem, 2) < 0) {
    /* No descriptor to spare: check anyway, without a place to name. */
    if (leak_saved >= 0)
      close(leak_saved);
    if (leak_mem >= 0)
      close(leak_mem);
    if (!__lsan_do_recoverable_leak_check())
      return 0;
    snprintf(msg, len, "memory was allocated and never freed (see "
                       "LeakSanitizer's report in the output).");
    return 1;
  }
  __sanitizer_set_death_callback(leak_check_died);
  int found = __lsan_do_recoverable_leak_check();
  __sanitizer_set_death_callback(NULL);
  leak_report_restore();
  if (!found)
    return 0;
  describe_leaks(leak_rep, test_file, msg, len);
  return 1;
}
#endif

static int run_one(const char *name) {
  run_name = name;
  const struct test_copy *t = find_test(name);
  if (!vault)
    return 2;
  if (!t)
    report("error", "no such test in this binary");
  running_fn = (uintptr_t)t->t.fn;
  SRunner *sr = srunner_create(suite_of(&t->t));
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, CK_SILENT);
  TestResult **res = srunner_results(sr);
  if (srunner_ntests_run(sr) != 1)
    report("error", "the test did not run");
  TestResult *r = res[0];
  free(res); /* the array is ours, the results are the runner's */
  char msg[8192];
  if (tr_rtype(r) == CK_PASS && !body_done)
    report("error", "the test ended before its last line, without a failed "
                    "check: did code under test jump out of it (longjmp)?");
  if (tr_rtype(r) == CK_PASS) {
#ifdef WB_ASAN
    if (leaked(t->file, msg, sizeof msg))
      report("fail", msg);
#endif
    report("pass", "");
  }
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
