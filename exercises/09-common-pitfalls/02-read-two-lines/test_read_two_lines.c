/* test_read_two_lines.c - the tests of exercise 09.2 and their points.
 * Data comes from writer threads, which write once read_two_lines has
 * returned (go()), or after 200 ms if it never does: code that waits for
 * the data in place still ends, and is caught, instead of hanging. Every
 * call goes through start(), which checks that read_two_lines returned
 * without calling cb and before any data was written.
 */
#define _GNU_SOURCE /* pipe2, usleep */
#include "read_two_lines.h"
#include "wbtest.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int calls, wrong_loop;
static void *got_arg;
static double called_at;
static char got_a[512], got_b[512];
static unsigned allocs;
static atomic_int written; /* pieces the writer threads have written */
static pthread_mutex_t go_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static int go_flag;

static void on_lines(struct ev_loop *loop, const char *a, const char *b,
                     void *arg) {
  calls++;
  got_arg = arg;
  called_at = wb_elapsed_ms();
  if (loop != wb_loop())
    wrong_loop++;
  snprintf(got_a, sizeof got_a, "%s", a ? a : "(NULL)");
  snprintf(got_b, sizeof got_b, "%s", b ? b : "(NULL)");
}

/* A writer thread: once the test says go (at most 200 ms), and `delay_ms`
 * later, writes each piece, `gap_ms` apart, then closes its descriptor
 * when `close_it` says so. */
struct writer {
  pthread_t thread;
  int fd, close_it;
  unsigned delay_ms, gap_ms;
  const char *pieces[4];
};

static void *writer_main(void *p) {
  struct writer *w = p;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_nsec += 200 * 1000000L;
  until.tv_sec += until.tv_nsec / 1000000000L;
  until.tv_nsec %= 1000000000L;
  pthread_mutex_lock(&go_lock);
  while (!go_flag)
    if (pthread_cond_timedwait(&go_cond, &go_lock, &until) != 0)
      break;
  pthread_mutex_unlock(&go_lock);
  usleep(w->delay_ms * 1000u);
  for (int i = 0; i < 4 && w->pieces[i]; i++) {
    if (i > 0)
      usleep(w->gap_ms * 1000u);
    ssize_t n = write(w->fd, w->pieces[i], strlen(w->pieces[i]));
    (void)n;
    atomic_fetch_add(&written, 1);
  }
  if (w->close_it)
    close(w->fd);
  return NULL;
}

static struct writer writers[4];
static int nwriters;

static void write_later(int fd, unsigned delay_ms, unsigned gap_ms,
                        int close_it, const char *p0, const char *p1,
                        const char *p2) {
  struct writer *w = &writers[nwriters++];
  *w = (struct writer){.fd = fd, .close_it = close_it, .delay_ms = delay_ms,
                       .gap_ms = gap_ms, .pieces = {p0, p1, p2, NULL}};
  ck_assert(pthread_create(&w->thread, NULL, writer_main, w) == 0);
}

static void go(void) {
  pthread_mutex_lock(&go_lock);
  go_flag = 1;
  pthread_cond_broadcast(&go_cond);
  pthread_mutex_unlock(&go_lock);
}

static void join_writers(void) {
  for (int i = 0; i < nwriters; i++)
    pthread_join(writers[i].thread, NULL);
  nwriters = 0;
  go_flag = 0;
}

static void make_pipe(int fds[2]) {
  ck_assert_msg(pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0, "pipe2 failed");
}

static int start(int fd_a, int fd_b) {
  int before = calls, pieces = atomic_load(&written);
  double t0 = wb_elapsed_ms();
  int rc = read_two_lines(wb_loop(), fd_a, fd_b, on_lines, &got_arg);
  double took = wb_elapsed_ms() - t0;
  allocs = wb_allocs();
  wb_fail_alloc(0);
  ck_assert_msg(calls == before || rc != -1,
                "read_two_lines returned -1 (out of memory) but called cb");
  ck_assert_msg(calls == before,
                "read_two_lines called cb before it returned (with \"%s\" and "
                "\"%s\"), after %.0f ms: it waited for the lines itself. It "
                "must start reading both and return at once; the loop calls "
                "cb later, from the watcher whose line completes the pair.",
                got_a, got_b, took);
  ck_assert_msg(atomic_load(&written) == pieces,
                "read_two_lines returned only after %.0f ms, once data had "
                "been written to the descriptors: it waited for the lines "
                "itself, by running the loop or by a blocking read. It must "
                "only start the watchers and return.",
                took);
  return rc;
}

static void check_lines(const char *a, const char *b) {
  wb_assert_calls(calls, 1, "the callback given to read_two_lines");
  ck_assert_msg(wrong_loop == 0, "cb was called with another loop than the "
                                 "one given to read_two_lines");
  ck_assert_msg(strcmp(got_a, a) == 0 && strcmp(got_b, b) == 0,
                "cb got a = \"%s\" and b = \"%s\", expected \"%s\" and \"%s\" "
                "((NULL) stands for NULL)",
                got_a, got_b, a, b);
}

WB_TEST(reads_both_lines, 2) {
  int a[2], b[2];
  make_pipe(a);
  make_pipe(b);
  write_later(a[1], 40, 0, 1, "alpha\n", NULL, NULL);
  write_later(b[1], 10, 0, 1, "beta\n", NULL, NULL);
  ck_assert_msg(start(a[0], b[0]) == 0, "read_two_lines returned an error");
  go();
  wb_run(wb_loop(), 1500);
  join_writers();
  wb_assert_no_block(50);
  check_lines("alpha", "beta");
  ck_assert_msg(got_arg == &got_arg, "cb was called with another arg than "
                                     "the one given: pass it untouched");
  close(a[0]);
  close(b[0]);
}
END_TEST

WB_TEST(lines_in_pieces, 2) {
  int a[2], b[2];
  make_pipe(a);
  make_pipe(b);
  write_later(a[1], 0, 20, 1, "hel", "lo wor", "ld\nand more\n");
  write_later(b[1], 0, 30, 1, "x", "\n", NULL);
  ck_assert_msg(start(a[0], b[0]) == 0, "read_two_lines returned an error");
  go();
  wb_run(wb_loop(), 1500);
  join_writers();
  wb_assert_no_block(50);
  check_lines("hello world", "x");
  close(a[0]);
  close(b[0]);
}
END_TEST

struct from_cb {
  int a, b, rc, ticks_during;
};
static int ticks;

static void tick(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  if (++ticks >= 20 || calls > 0)
    ev_timer_stop(loop, w);
}

static void call_from_callback(int revents, void *arg) {
  struct from_cb *f = arg;
  (void)revents;
  int before = ticks;
  f->rc = start(f->a, f->b);
  f->ticks_during = ticks - before;
  go();
}

WB_TEST(may_be_called_from_a_callback, 2) {
  int a[2], b[2];
  ev_timer heartbeat;
  make_pipe(a);
  make_pipe(b);
  struct from_cb f = {a[0], b[0], -2, 0};
  ev_timer_init(&heartbeat, tick, 0.01, 0.01);
  ev_timer_start(wb_loop(), &heartbeat);
  ev_once(wb_loop(), -1, 0, 0.02, call_from_callback, &f);
  write_later(a[1], 40, 0, 1, "from a\n", NULL, NULL);
  write_later(b[1], 20, 0, 1, "from b\n", NULL, NULL);
  wb_run(wb_loop(), 1500);
  join_writers();
  ck_assert_msg(f.ticks_during == 0,
                "while read_two_lines ran, inside a callback, %d other "
                "callbacks of the loop ran: it ran the loop itself (ev_run "
                "inside a callback). A callback must return to the loop "
                "instead; the loop calls you back when the data is in.",
                f.ticks_during);
  ck_assert_msg(f.rc == 0, "read_two_lines returned an error");
  wb_assert_no_block(50);
  check_lines("from a", "from b");
  close(a[0]);
  close(b[0]);
}
END_TEST

static char pair_got[2][64];
static int pair_calls[2];

static void on_pair(struct ev_loop *loop, const char *a, const char *b,
                    void *arg) {
  int i = arg == &pair_calls[1];
  (void)loop;
  pair_calls[i]++;
  snprintf(pair_got[i], sizeof pair_got[i], "%s+%s", a ? a : "(NULL)",
           b ? b : "(NULL)");
}

WB_TEST(two_calls_at_once, 1) {
  int p[4][2];
  for (int i = 0; i < 4; i++)
    make_pipe(p[i]);
  write_later(p[0][1], 30, 0, 1, "first a\n", NULL, NULL);
  write_later(p[1][1], 0, 0, 1, "first b\n", NULL, NULL);
  write_later(p[2][1], 10, 0, 1, "second a\n", NULL, NULL);
  write_later(p[3][1], 40, 0, 1, "second b\n", NULL, NULL);
  ck_assert_msg(read_two_lines(wb_loop(), p[0][0], p[1][0], on_pair,
                               &pair_calls[0]) == 0 &&
                    read_two_lines(wb_loop(), p[2][0], p[3][0], on_pair,
                                   &pair_calls[1]) == 0,
                "read_two_lines returned an error");
  ck_assert_msg(pair_calls[0] + pair_calls[1] == 0 &&
                    atomic_load(&written) == 0,
                "read_two_lines called back, or waited for the data, before "
                "it returned");
  go();
  wb_run(wb_loop(), 1500);
  join_writers();
  wb_assert_calls(pair_calls[0], 1, "the callback of the first call");
  wb_assert_calls(pair_calls[1], 1, "the callback of the second call");
  ck_assert_msg(strcmp(pair_got[0], "first a+first b") == 0 &&
                    strcmp(pair_got[1], "second a+second b") == 0,
                "two calls in flight at once got \"%s\" and \"%s\", expected "
                "\"first a+first b\" and \"second a+second b\": each call "
                "needs its own state",
                pair_got[0], pair_got[1]);
  for (int i = 0; i < 4; i++)
    close(p[i][0]);
}
END_TEST

WB_TEST(end_of_file_gives_null, 1) {
  int a[2], b[2];
  make_pipe(a);
  make_pipe(b);
  write_later(a[1], 0, 0, 1, "no newline", NULL, NULL);
  write_later(b[1], 20, 0, 1, "ok\n", NULL, NULL);
  ck_assert_msg(start(a[0], b[0]) == 0, "read_two_lines returned an error");
  go();
  wb_run(wb_loop(), 1500);
  join_writers();
  check_lines("(NULL)", "ok");
  close(a[0]);
  close(b[0]);
  /* Both at end of file, with nothing at all. */
  calls = 0;
  make_pipe(a);
  make_pipe(b);
  close(a[1]);
  close(b[1]);
  ck_assert_msg(start(a[0], b[0]) == 0, "read_two_lines returned an error");
  go();
  wb_run(wb_loop(), 1500);
  check_lines("(NULL)", "(NULL)");
  close(a[0]);
  close(b[0]);
}
END_TEST

WB_TEST(empty_and_longest_lines, 1) {
  static char longest[TWO_LINES_MAX + 2], too_long[TWO_LINES_MAX + 3];
  int a[2], b[2];
  memset(longest, 'x', TWO_LINES_MAX);
  longest[TWO_LINES_MAX] = '\n';
  memset(too_long, 'y', TWO_LINES_MAX + 1);
  too_long[TWO_LINES_MAX + 1] = '\n';
  make_pipe(a);
  make_pipe(b);
  write_later(a[1], 0, 0, 1, "\n", NULL, NULL);
  write_later(b[1], 10, 0, 1, longest, NULL, NULL);
  ck_assert_msg(start(a[0], b[0]) == 0, "read_two_lines returned an error");
  go();
  wb_run(wb_loop(), 1500);
  join_writers();
  longest[TWO_LINES_MAX] = 0;
  check_lines("", longest);
  close(a[0]);
  close(b[0]);
  calls = 0;
  make_pipe(a);
  make_pipe(b);
  write_later(a[1], 10, 0, 1, too_long, NULL, NULL);
  write_later(b[1], 0, 0, 1, "short\n", NULL, NULL);
  ck_assert_msg(start(a[0], b[0]) == 0, "read_two_lines returned an error");
  go();
  wb_run(wb_loop(), 1500);
  join_writers();
  check_lines("(NULL)", "short");
  close(a[0]);
  close(b[0]);
}
END_TEST

WB_TEST(out_of_memory_returns_minus_one, 1) {
  int a[2], b[2];
  make_pipe(a);
  make_pipe(b);
  for (unsigned n = 1;; n++) {
    wb_fail_alloc(n);
    int rc = start(a[0], b[0]);
    if (allocs < n) {
      ck_assert_msg(rc == 0, "read_two_lines returned %d; it should return 0",
                    rc);
      write_later(a[1], 0, 0, 1, "one\n", NULL, NULL);
      write_later(b[1], 0, 0, 1, "two\n", NULL, NULL);
      go();
      wb_run(wb_loop(), 1500);
      join_writers();
      check_lines("one", "two");
      break;
    }
    ck_assert_msg(rc == -1,
                  "allocation %u of read_two_lines failed, yet it returned "
                  "%d: when memory runs out it must return -1",
                  n, rc);
    ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                  "allocation %u of read_two_lines failed and it returned -1, "
                  "but it left a watcher started",
                  n);
  }
  close(a[0]);
  close(b[0]);
}
END_TEST

WB_TEST(leaves_nothing_behind, 1) {
  int a[2], b[2];
  make_pipe(a);
  make_pipe(b);
  write_later(a[1], 0, 0, 0, "first\nsecond\n", NULL, NULL);
  write_later(b[1], 10, 0, 0, "third\n", NULL, NULL);
  ck_assert_msg(start(a[0], b[0]) == 0, "read_two_lines returned an error");
  go();
  wb_run(wb_loop(), 1500);
  join_writers();
  check_lines("first", "third");
  ck_assert_msg(fcntl(a[0], F_GETFD) != -1 && fcntl(b[0], F_GETFD) != -1,
                "read_two_lines closed a descriptor it was given: the caller "
                "owns them and closes them");
  close(a[0]);
  close(a[1]);
  close(b[0]);
  close(b[1]);
  wb_assert_no_leaks();
}
END_TEST
