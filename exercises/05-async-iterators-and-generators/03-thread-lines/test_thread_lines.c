/* test_thread_lines.c - the tests of exercise 05.3 and their points.
 * Sources are regular files and FIFOs in the test's own /tmp folder; a
 * FIFO is fed by a writer thread that starts late and writes in pieces,
 * so a loop that waited for the file would be caught blocked.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, usleep, O_CLOEXEC */
#endif
#include "thread_lines.h"
#include "wbtest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Files, FIFOs and their writer ------------------------------------------ */

static char dir[64];

static const char *path_of(const char *name) {
  static char buf[8][128];
  static int turn;
  char *p = buf[turn++ % 8];
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/tlines-XXXXXX");
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp failed");
  }
  snprintf(p, sizeof buf[0], "%s/%s", dir, name);
  return p;
}

static const char *make_file(const char *name, const char *text, size_t len) {
  const char *p = path_of(name);
  FILE *f = fopen(p, "w");
  ck_assert_msg(f != NULL, "cannot write %s", p);
  ck_assert(fwrite(text, 1, len, f) == len);
  fclose(f);
  return p;
}

/* A FIFO and the thread that writes into it: it waits `delay_ms`, writes
 * `text` in pieces of 3 bytes 5 ms apart, then closes (the end). */
struct feeder {
  pthread_t thread;
  int fd;
  const char *text;
  unsigned delay_ms;
  int started;
  int wrote, closed; /* set by the thread (atomics) */
};

static void *feeder_main(void *arg) {
  struct feeder *f = arg;
  usleep(f->delay_ms * 1000);
  for (const char *p = f->text; *p;) {
    size_t n = strnlen(p, 3);
    if (write(f->fd, p, n) != (ssize_t)n)
      break;
    __atomic_store_n(&f->wrote, 1, __ATOMIC_SEQ_CST);
    p += n;
    usleep(5000);
  }
  close(f->fd);
  __atomic_store_n(&f->closed, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

/* Makes the FIFO `name` and opens its writing end (O_RDWR: never waits
 * for a reader), so the reader's open does not wait either. */
static const char *make_fifo(struct feeder *f, const char *name,
                             const char *text, unsigned delay_ms) {
  const char *p = path_of(name);
  ck_assert_msg(mkfifo(p, 0600) == 0, "mkfifo %s failed", p);
  memset(f, 0, sizeof *f);
  f->fd = open(p, O_RDWR | O_CLOEXEC);
  ck_assert_msg(f->fd >= 0, "cannot open the FIFO %s", p);
  f->text = text;
  f->delay_ms = delay_ms;
  return p;
}

static void feeder_start(struct feeder *f) {
  ck_assert(pthread_create(&f->thread, NULL, feeder_main, f) == 0);
  f->started = 1;
}

static void feeder_join(struct feeder *f) {
  if (f->started)
    pthread_join(f->thread, NULL);
  f->started = 0;
}

static int threads_now(void) {
  char line[128];
  int n = -1;
  FILE *f = fopen("/proc/self/status", "r");
  if (!f)
    return -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "Threads: %d", &n) == 1)
      break;
  fclose(f);
  return n;
}

/* The thread count, once it has settled back to `want` (a joined thread
 * may linger in /proc for a moment), or what it is after 300 ms. */
static int threads_settled(int want) {
  int n = threads_now();
  for (int i = 0; i < 300 && n != want; i++) {
    usleep(1000);
    n = threads_now();
  }
  return n;
}

/* ---- What must be left: nothing ------------------------------------------- */

/* wb_assert_no_leaks counts every descriptor opened during the test, and
 * libev opens one of its own (an eventfd) at the loop's first
 * ev_async_start. begin() makes the loop open it now, then notes the open
 * descriptors and the threads; nothing_left() compares with that. */
static unsigned char fd_base[1024];
static int threads_base, skip_eventfd;

static void dummy_cb(struct ev_loop *loop, ev_async *w, int revents) {
  (void)loop, (void)w, (void)revents;
}

static void take_baseline(void) {
  for (int fd = 0; fd < 1024; fd++)
    fd_base[fd] = fcntl(fd, F_GETFD) != -1;
  threads_base = threads_now();
}

static void begin(void) {
  ev_async a;
  ev_async_init(&a, dummy_cb);
  ev_async_start(wb_loop(), &a);
  ev_async_stop(wb_loop(), &a);
  take_baseline();
}

/* For a test where the code under test must start the loop's first
 * ev_async itself: then the loop's eventfd is not counted as a leak. */
static void begin_unprimed(void) {
  take_baseline();
  skip_eventfd = 1;
}

static void nothing_left(void) {
  int n = threads_settled(threads_base);
  ck_assert_msg(n == threads_base,
                "%d thread(s) still run after tlines_free: the worker must "
                "be joined",
                n - threads_base);
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "%d watcher(s) are still active after tlines_free",
                wb_active_watchers(wb_loop()));
  for (int fd = 0; fd < 1024; fd++)
    if (!fd_base[fd] && fcntl(fd, F_GETFD) != -1) {
      char link[64], target[256] = "?";
      snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
      ssize_t len = readlink(link, target, sizeof target - 1);
      target[len > 0 ? len : 1] = 0;
      if (skip_eventfd && strstr(target, "eventfd"))
        continue; /* the loop's own */
      ck_abort_msg("descriptor %d (%s) was left open after tlines_free: "
                   "the worker closes the file, tlines_free closes the rest",
                   fd, target);
    }
}

/* ---- What the reader handed over ---------------------------------------- */

#define MAXGOT 600
static char got[MAXGOT][24];
static size_t got_len[MAXGOT];
static int ngot, nends, nerrs, last_err, sync_calls, wrong_arg, off_thread;
static int in_call, ask_again = 1, free_at = -1, free_at_end;
static pthread_t test_thread;
static tlines_t *reader;
static int token;

static void collect_cb(struct ev_loop *loop, tlines_t *t, const char *line,
                       size_t len, int status, void *arg);

static int ask(tlines_t *t) {
  in_call++;
  int rc = tlines_next(t, collect_cb, &token);
  in_call--;
  return rc;
}

static void collect_cb(struct ev_loop *loop, tlines_t *t, const char *line,
                       size_t len, int status, void *arg) {
  (void)loop;
  if (!pthread_equal(pthread_self(), test_thread))
    off_thread++;
  if (in_call)
    sync_calls++;
  if (arg != &token)
    wrong_arg++;
  if (status == 1) {
    ck_assert_msg(line && strlen(line) == len,
                  "a line came with len %zu that does not match strlen(line)",
                  len);
    if (ngot < MAXGOT) {
      snprintf(got[ngot], sizeof got[0], "%s", line);
      got_len[ngot] = len;
    }
    ngot++;
    if (free_at >= 0 && ngot >= free_at) {
      tlines_free(t);
      reader = NULL;
      return;
    }
  } else if (status == 0) {
    nends++;
  } else {
    nerrs++;
    last_err = status;
  }
  if (status <= 0 && free_at_end) {
    tlines_free(t);
    reader = NULL;
    return;
  }
  if (status == 1 && ask_again)
    ck_assert_msg(ask(t) == 0,
                  "tlines_next, called from the callback right after a line, "
                  "did not return 0: a request counts as answered once its "
                  "callback runs");
}

static void reset_got(void) {
  ngot = nends = nerrs = last_err = sync_calls = wrong_arg = off_thread = 0;
  ask_again = 1, free_at = -1, free_at_end = 0;
  test_thread = pthread_self();
}

static const char *got_text(void) {
  static char buf[400];
  size_t used = 0;
  buf[0] = 0;
  for (int i = 0; i < ngot && i < MAXGOT && used < sizeof buf - 40; i++)
    used += (size_t)snprintf(buf + used, sizeof buf - used, "%s\"%s\"",
                             i ? ", " : "", got[i]);
  return ngot ? buf : "no line";
}

/* The checks every run ends with: `n` lines as `want` says (NULL: "line
 * 0", "line 1", ...), then the end once, all from the loop's thread. */
static void expect_lines(const char *const *want, int n, const char *how) {
  char name[24];
  for (int i = 0; i < n && i < ngot; i++) {
    const char *w = want ? want[i] : (snprintf(name, sizeof name, "line %d", i), name);
    ck_assert_msg(strcmp(got[i], w) == 0,
                  "%s: line %d should be \"%s\" but was \"%s\" (lines: %s)",
                  how, i + 1, w, got[i], got_text());
  }
  ck_assert_msg(ngot == n, "%s: %d lines came (%s), expected %d", how, ngot,
                got_text(), n);
  ck_assert_msg(nerrs == 0, "%s: an error came (%s); there was none", how,
                strerror(-last_err));
  ck_assert_msg(nends == 1,
                "%s: after the last line the end (status 0) should come "
                "once; it came %d times",
                how, nends);
  ck_assert_msg(off_thread == 0,
                "%s: the callback ran on another thread than the loop's: "
                "only ev_async_send may be called from the worker, and the "
                "loop calls back",
                how);
  ck_assert_msg(sync_calls == 0,
                "%s: the callback ran before tlines_next returned; it must "
                "always come from the loop",
                how);
  ck_assert_msg(wrong_arg == 0,
                "%s: the callback got another arg than the one given", how);
}

/* Opens `path`, reads it with an `async for` consumer, frees the reader;
 * checks that the loop never stalled. */
static void read_all(const char *path, unsigned max_queued) {
  reset_got();
  int rc = tlines_open(&reader, wb_loop(), path, max_queued);
  ck_assert_msg(rc == 0, "tlines_open returned %d for valid arguments", rc);
  ck_assert_msg(ask(reader) == 0, "tlines_next returned an error on a new "
                                  "reader");
  wb_run(wb_loop(), 1500);
  wb_assert_no_block(50);
  tlines_free(reader);
  reader = NULL;
}

static void cleanup_dir(void) {
  DIR *d = dir[0] ? opendir(dir) : NULL;
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
        unlink(path_of(e->d_name));
    closedir(d);
    rmdir(dir);
  }
  dir[0] = 0;
}

/* ---- The tests ----------------------------------------------------------- */

WB_TEST(reads_a_file_in_order, 2) {
  begin();
  static char text[500 * 12];
  size_t len = 0;
  for (int i = 0; i < 500; i++)
    len += (size_t)sprintf(text + len, "line %d%s", i, i % 7 ? "\n" : "\r\n");
  read_all(make_file("data.txt", text, len), 4);
  expect_lines(NULL, 500, "a file of 500 lines, at most 4 queued");
  struct feeder f;
  const char *p = make_fifo(&f, "fifo", "line 0\nline 1\r\nline 2\n", 120);
  feeder_start(&f);
  read_all(p, 4);
  feeder_join(&f);
  expect_lines(NULL, 3, "a FIFO written slowly");
  cleanup_dir();
  nothing_left();
}
END_TEST

WB_TEST(last_line_and_empty_file, 1) {
  begin();
  static const char *const ab[] = {"a", "b"};
  static const char *const empty[] = {""};
  struct feeder f;
  const char *p = make_fifo(&f, "fifo", "a\nb", 120);
  feeder_start(&f);
  read_all(p, 2);
  feeder_join(&f);
  expect_lines(ab, 2, "\"a\\nb\" (the last line has no newline)");
  read_all(make_file("empty", "", 0), 2);
  expect_lines(NULL, 0, "an empty file");
  read_all(make_file("crlf", "\r\n", 2), 2);
  expect_lines(empty, 1, "a file holding \"\\r\\n\"");
  static char big[5001];
  memset(big, 'x', 5000);
  read_all(make_file("big", big, 5000), 2);
  ck_assert_msg(ngot == 1 && got_len[0] == 5000 && nends == 1,
                "a file holding one line of 5000 bytes: expected that line "
                "and the end; got %d line(s) (the first of %zu bytes) and %d "
                "end(s)",
                ngot, ngot ? got_len[0] : 0, nends);
  cleanup_dir();
  nothing_left();
}
END_TEST

WB_TEST(missing_file_is_an_error, 1) {
  begin();
  read_all(path_of("no-such-file"), 2);
  ck_assert_msg(nerrs == 1 && last_err == -ENOENT && ngot == 0 && nends == 0,
                "a file that does not exist: the first answer must be "
                "-ENOENT (%d), once, with no line and no end; got %d "
                "error(s) (the last %d), %d line(s), %d end(s)",
                -ENOENT, nerrs, last_err, ngot, nends);
  ck_assert_msg(off_thread == 0 && sync_calls == 0,
                "the error must come from the loop, on the loop's thread");
  cleanup_dir();
  nothing_left();
}
END_TEST

WB_TEST(slow_source_never_blocks_the_loop, 3) {
  begin();
  static const char *const want[] = {"one", "two", "three", "four"};
  struct feeder f;
  const char *p = make_fifo(&f, "fifo", "one\ntwo\r\nthree\nfour", 300);
  feeder_start(&f);
  reset_got();
  ck_assert(tlines_open(&reader, wb_loop(), p, 2) == 0);
  ck_assert_msg(!__atomic_load_n(&f.wrote, __ATOMIC_SEQ_CST),
                "tlines_open returned only after the FIFO's writer had "
                "started writing: it must start the worker and return at "
                "once, without reading");
  ck_assert(ask(reader) == 0);
  wb_run(wb_loop(), 1500);
  wb_assert_no_block(50);
  expect_lines(want, 4, "a FIFO that starts after 300 ms and comes in pieces");
  tlines_free(reader);
  reader = NULL;
  feeder_join(&f);
  cleanup_dir();
  nothing_left();
}
END_TEST

WB_TEST(queue_never_exceeds_max_queued, 2) {
  /* The worker sends while nobody has asked: the reader must have set up
   * libev's wake-up pipe itself (begin() would hide it). */
  begin_unprimed();
  static char text[50 * 12];
  size_t len = 0;
  for (int i = 0; i < 50; i++)
    len += (size_t)sprintf(text + len, "line %d\n", i);
  const char *p = make_file("data.txt", text, len);
  reset_got();
  ck_assert(tlines_open(&reader, wb_loop(), p, 3) == 0);
  unsigned most = 0, q = 0;
  for (int i = 0; i < 400; i++) { /* nobody asks: the queue fills up */
    q = tlines_queued(reader);
    if (q > most)
      most = q;
    if (q >= 3 && i > 50)
      break;
    usleep(1000);
  }
  ck_assert_msg(most <= 3,
                "with max_queued 3 and nobody asking, %u lines were queued "
                "at once: the worker must wait while the queue is full",
                most);
  ck_assert_msg(q == 3,
                "with max_queued 3 and nobody asking, the queue held %u "
                "lines after a while; the worker should fill it to 3",
                q);
  ck_assert(ask(reader) == 0);
  wb_run(wb_loop(), 1500);
  expect_lines(NULL, 50, "50 lines, at most 3 queued");
  tlines_free(reader);
  reader = NULL;
  cleanup_dir();
  nothing_left();
}
END_TEST

WB_TEST(never_calls_back_before_next_returns, 2) {
  begin();
  static const char *const want[] = {"a", "b", "c"};
  const char *p = make_file("abc", "a\nb\nc\n", 6);
  reset_got();
  ask_again = 0;
  ck_assert(tlines_open(&reader, wb_loop(), p, 8) == 0);
  for (int i = 0; i < 500 && tlines_queued(reader) < 3; i++)
    usleep(1000);
  for (int i = 0; i < 3; i++) {
    ck_assert(ask(reader) == 0);
    ck_assert_msg(ngot == i,
                  "tlines_next called back before it returned (the line was "
                  "already queued): even then, the answer must come from "
                  "the loop");
    wb_run(wb_loop(), 1000);
    ck_assert_msg(ngot == i + 1, "after tlines_next and a run of the loop, "
                                 "%d line(s) came instead of %d",
                  ngot, i + 1);
  }
  ask_again = 1;
  ck_assert(ask(reader) == 0);
  wb_run(wb_loop(), 1000);
  expect_lines(want, 3, "lines asked for one by one");
  tlines_free(reader);
  reader = NULL;
  struct feeder f;
  p = make_fifo(&f, "fifo", "d\ne\n", 120);
  feeder_start(&f);
  read_all(p, 1);
  feeder_join(&f);
  static const char *const de[] = {"d", "e"};
  expect_lines(de, 2, "a FIFO written slowly, one line queued at most");
  cleanup_dir();
  nothing_left();
}
END_TEST

WB_TEST(nothing_is_watched_between_requests, 1) {
  begin();
  static char text[20 * 12];
  size_t len = 0;
  for (int i = 0; i < 20; i++)
    len += (size_t)sprintf(text + len, "line %d\n", i);
  struct feeder f;
  const char *p = make_fifo(&f, "fifo", text, 120);
  feeder_start(&f);
  reset_got();
  ask_again = 0;
  ck_assert(tlines_open(&reader, wb_loop(), p, 2) == 0);
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "tlines_open left %d watcher(s) active before any request",
                wb_active_watchers(wb_loop()));
  for (int i = 0; i < 2; i++) {
    ck_assert(ask(reader) == 0);
    wb_run(wb_loop(), 1000);
    wb_assert_no_block(50);
    ck_assert_msg(ngot == i + 1, "%d line(s) came instead of %d", ngot, i + 1);
    ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                  "a request was answered and the worker still runs, but %d "
                  "watcher(s) are active: between requests the reader must "
                  "watch nothing (stop the ev_async once it has answered)",
                  wb_active_watchers(wb_loop()));
  }
  tlines_free(reader);
  reader = NULL;
  feeder_join(&f);
  cleanup_dir();
  nothing_left();
}
END_TEST

WB_TEST(busy_and_after_the_end, 1) {
  begin();
  struct feeder f;
  const char *p = make_fifo(&f, "fifo", "x\ny", 120);
  feeder_start(&f);
  reset_got();
  ask_again = 0;
  ck_assert(tlines_open(&reader, wb_loop(), p, 2) == 0);
  ck_assert(ask(reader) == 0);
  int rc = ask(reader);
  ck_assert_msg(rc == -EBUSY,
                "a second tlines_next before the first is answered returned "
                "%d; it must return -EBUSY (%d)",
                rc, -EBUSY);
  wb_run(wb_loop(), 1000);
  wb_assert_no_block(50);
  ck_assert_msg(ngot == 1, "two requests, the second refused: expected one "
                           "line, got %s",
                got_text());
  ask_again = 1;
  ck_assert(ask(reader) == 0);
  wb_run(wb_loop(), 1000);
  ck_assert_msg(ngot == 2 && nends == 1, "expected \"x\", \"y\" and the end; "
                                         "got %s and %d end(s)",
                got_text(), nends);
  rc = ask(reader);
  ck_assert_msg(rc == -EPIPE,
                "tlines_next after the end returned %d; it must return "
                "-EPIPE (%d)",
                rc, -EPIPE);
  wb_run(wb_loop(), 500);
  ck_assert_msg(nends == 1, "after the end, the callback was called again");
  tlines_free(reader);
  reader = NULL;
  feeder_join(&f);
  cleanup_dir();
  nothing_left();
}
END_TEST

WB_TEST(free_stops_a_worker_waiting_for_the_source, 2) {
  begin();
  struct feeder f;
  int before = threads_now();
  const char *p = make_fifo(&f, "fifo", "", 700); /* silent, closes late */
  feeder_start(&f);
  reset_got();
  ck_assert(tlines_open(&reader, wb_loop(), p, 2) == 0);
  ck_assert(ask(reader) == 0);
  for (int i = 0; i < 3; i++) /* the request starts waiting */
    ev_run(wb_loop(), EVRUN_NOWAIT);
  usleep(20000); /* the worker waits for the FIFO's first byte */
  tlines_free(reader);
  reader = NULL;
  ck_assert_msg(!__atomic_load_n(&f.closed, __ATOMIC_SEQ_CST),
                "tlines_free returned only once the FIFO's writer had closed "
                "it: it must wake a worker that waits for the file's next "
                "bytes (poll the file together with a pipe that tlines_free "
                "writes to)");
  ck_assert_msg(threads_settled(before + 1) == before + 1,
                "a thread is left after tlines_free: the worker must be "
                "joined");
  wb_run(wb_loop(), 500);
  wb_assert_no_block(50);
  ck_assert_msg(ngot + nends + nerrs == 0,
                "tlines_free dropped a pending request, but its callback ran");
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "tlines_free left %d watcher(s) active",
                wb_active_watchers(wb_loop()));
  feeder_join(&f);
  cleanup_dir();
  nothing_left();
}
END_TEST

WB_TEST(free_stops_a_worker_waiting_for_room, 2) {
  begin();
  static char text[100 * 12];
  size_t len = 0;
  for (int i = 0; i < 100; i++)
    len += (size_t)sprintf(text + len, "line %d\n", i);
  int before = threads_now();
  const char *p = make_file("data.txt", text, len);
  reset_got();
  ck_assert(tlines_open(&reader, wb_loop(), p, 2) == 0);
  for (int i = 0; i < 500 && tlines_queued(reader) < 2; i++)
    usleep(1000);
  ck_assert_msg(tlines_queued(reader) == 2,
                "the queue (max_queued 2) should fill up while nobody asks; "
                "it holds %u lines",
                tlines_queued(reader));
  tlines_free(reader); /* the worker waits for room: it must be woken */
  reader = NULL;
  ck_assert_msg(threads_settled(before) == before,
                "a thread is left after tlines_free: the worker must be "
                "joined");
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "tlines_free left %d watcher(s) active",
                wb_active_watchers(wb_loop()));
  cleanup_dir();
  nothing_left();
}
END_TEST

WB_TEST(free_from_inside_the_callback, 1) {
  begin();
  struct feeder f;
  int before = threads_now();
  const char *p = make_fifo(&f, "fifo", "l1\nl2\nl3\nl4\n", 120);
  feeder_start(&f);
  reset_got();
  free_at = 2;
  ck_assert(tlines_open(&reader, wb_loop(), p, 4) == 0);
  ck_assert(ask(reader) == 0);
  wb_run(wb_loop(), 1000);
  wb_assert_no_block(50);
  ck_assert_msg(ngot == 2 && reader == NULL,
                "the callback freed the reader at the second line, yet %d "
                "lines came (%s)",
                ngot, got_text());
  feeder_join(&f);
  static const char *const x[] = {"x"};
  const char *q = make_file("x", "x\n", 2);
  reset_got();
  free_at_end = 1;
  ck_assert(tlines_open(&reader, wb_loop(), q, 4) == 0);
  ck_assert(ask(reader) == 0);
  wb_run(wb_loop(), 1000);
  expect_lines(x, 1, "freed in the callback of the end");
  ck_assert_msg(threads_settled(before) == before,
                "a thread is left after tlines_free from inside the callback");
  tlines_free(NULL);
  cleanup_dir();
  nothing_left();
}
END_TEST

WB_TEST(out_of_memory_returns_enomem, 1) {
  begin();
  struct feeder f;
  const char *p = make_fifo(&f, "fifo", "fine\n", 120);
  int before = threads_now();
  for (unsigned n = 1;; n++) {
    tlines_t *t = (tlines_t *)&token;
    wb_fail_alloc(n);
    int rc = tlines_open(&t, wb_loop(), p, 2);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < n) {
      ck_assert_msg(rc == 0, "tlines_open returned %d with memory to spare",
                    rc);
      reader = t;
      break;
    }
    ck_assert_msg(rc == -ENOMEM,
                  "allocation %u of tlines_open failed, and it returned %d "
                  "instead of -ENOMEM (%d)",
                  n, rc, -ENOMEM);
    ck_assert_msg(t == (tlines_t *)&token, "tlines_open failed but changed "
                                           "*out");
    ck_assert_msg(threads_settled(before) == before,
                  "tlines_open failed but left a thread running");
  }
  static const char *const want[] = {"fine"};
  reset_got();
  feeder_start(&f);
  ck_assert(ask(reader) == 0);
  wb_run(wb_loop(), 1000);
  wb_assert_no_block(50);
  expect_lines(want, 1, "a reader made after failed allocations");
  tlines_free(reader);
  reader = NULL;
  feeder_join(&f);
  cleanup_dir();
  nothing_left();
}
END_TEST

WB_TEST(bad_arguments_are_refused, 1) {
  begin();
  tlines_t *t = (tlines_t *)&token;
  int before = threads_now();
  ck_assert_msg(tlines_open(NULL, wb_loop(), "/dev/null", 2) == -EINVAL,
                "tlines_open with out == NULL must return -EINVAL");
  ck_assert_msg(tlines_open(&t, NULL, "/dev/null", 2) == -EINVAL,
                "tlines_open with loop == NULL must return -EINVAL");
  ck_assert_msg(tlines_open(&t, wb_loop(), NULL, 2) == -EINVAL,
                "tlines_open with path == NULL must return -EINVAL");
  ck_assert_msg(tlines_open(&t, wb_loop(), "/dev/null", 0) == -EINVAL,
                "tlines_open with max_queued 0 must return -EINVAL");
  ck_assert_msg(t == (tlines_t *)&token,
                "tlines_open refused its arguments but changed *out");
  ck_assert_msg(threads_settled(before) == before,
                "tlines_open refused its arguments but started a thread");
  nothing_left();
}
END_TEST
