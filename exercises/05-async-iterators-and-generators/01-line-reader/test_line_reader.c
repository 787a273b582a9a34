/* test_line_reader.c - the tests of exercise 05.1 and their points.
 * Bytes come from a pipe through a scripted read function that cuts them
 * into pieces and injects EAGAIN, EINTR and EIO; each test checks the
 * lines, the end, and what the reader left behind.
 */
#include "line_reader.h"
#include "wbtest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- A scripted read(2) ---------------------------------------------------- */

/* One character per call of the read function: '1'-'9' reads at most that
 * many bytes, 'A' fails with EAGAIN, 'I' with EINTR, 'E' with EIO. After
 * the script, every call reads at most `chunk` bytes (0: as many as asked). */
struct script {
  const char *steps;
  size_t chunk;
  int calls;
  size_t asked; /* the last len the reader passed */
};

static ssize_t scripted_read(int fd, void *buf, size_t len, void *ctx) {
  struct script *s = ctx;
  char tmp[4096];
  size_t most = s->chunk ? s->chunk : len;
  s->calls++;
  s->asked = len;
  ck_assert_msg(len > 0, "the reader called its read function with len 0: "
                         "there must be room for at least one byte");
  if (s->steps && *s->steps) {
    char c = *s->steps++;
    if (c == 'A' || c == 'I' || c == 'E') {
      errno = c == 'A' ? EAGAIN : c == 'I' ? EINTR : EIO;
      return -1;
    }
    most = (size_t)(c - '0');
  }
  if (most > len)
    most = len;
  if (most > sizeof tmp)
    most = sizeof tmp;
  ssize_t n = read(fd, tmp, most);
  if (n > 0)
    memcpy(buf, tmp, (size_t)n); /* as read(2) would: only into buf[0, len) */
  return n;
}

/* ---- What the reader handed over ----------------------------------------- */

#define MAXGOT 64
static char got[MAXGOT][1100];
static int ngot, nends, nerrs, last_err, sync_calls, wrong_arg;
static int in_next;   /* 1 while the test is inside line_reader_next */
static int ask_again; /* the callback asks for the next line */
static int free_at = -1; /* the callback frees the reader after this many lines (-1: never) */
static int free_at_end;  /* the callback frees the reader at the end */
static line_reader_t *reader;
static int token;

static void collect_cb(struct ev_loop *loop, line_reader_t *r,
                       const char *line, size_t len, int status, void *arg);

/* line_reader_next, noting any callback that comes before it returns. */
static int ask(line_reader_t *r) {
  in_next++;
  int rc = line_reader_next(r, collect_cb, &token);
  in_next--;
  return rc;
}

static void collect_cb(struct ev_loop *loop, line_reader_t *r,
                       const char *line, size_t len, int status, void *arg) {
  (void)loop;
  if (in_next)
    sync_calls++;
  if (arg != &token)
    wrong_arg++;
  if (status == 1) {
    ck_assert_msg(line != NULL, "status 1 came with a NULL line");
    ck_assert_msg(strlen(line) == len,
                  "a line came with len %zu, but strlen(line) is %zu: the "
                  "line must be followed by a '\\0' and len must not count it",
                  len, strlen(line));
    if (ngot < MAXGOT)
      snprintf(got[ngot], sizeof got[0], "%s", line);
    ngot++;
    if (free_at >= 0 && ngot >= free_at) {
      line_reader_free(r);
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
    line_reader_free(r);
    reader = NULL;
    return;
  }
  if (status == 1 && ask_again) {
    int rc = ask(r);
    ck_assert_msg(rc == 0,
                  "line_reader_next, called from the callback right after a "
                  "line, returned %d instead of 0: a request counts as "
                  "answered once its callback runs",
                  rc);
  }
}

static void reset_got(void) {
  ngot = nends = nerrs = last_err = sync_calls = wrong_arg = 0;
  ask_again = 1, free_at = -1, free_at_end = 0;
}

/* "a", "b" as text, for messages. */
static const char *got_text(void) {
  static char buf[600];
  size_t used = 0;
  buf[0] = 0;
  for (int i = 0; i < ngot && i < MAXGOT && used < sizeof buf - 40; i++)
    used += (size_t)snprintf(buf + used, sizeof buf - used, "%s\"%.20s%s\"",
                             i ? ", " : "", got[i],
                             strlen(got[i]) > 20 ? "..." : "");
  if (ngot == 0)
    snprintf(buf, sizeof buf, "no line");
  return buf;
}

/* Fails unless the reader handed over exactly `want` (n lines), then the
 * end once, and no error. `how` says how the bytes came. */
static void expect_lines(const char *const *want, int n, const char *how) {
  for (int i = 0; i < n && i < ngot; i++)
    ck_assert_msg(strcmp(got[i], want[i]) == 0,
                  "%s: line %d should be \"%s\" but was \"%s\" (all lines "
                  "handed over: %s). A read returns whatever has arrived: "
                  "keep the bytes until their '\\n' comes.",
                  how, i + 1, want[i], got[i], got_text());
  ck_assert_msg(ngot == n,
                "%s: the reader handed over %d lines (%s), expected %d", how,
                ngot, got_text(), n);
  ck_assert_msg(nerrs == 0,
                "%s: the reader reported an error (%s) after %d lines; "
                "there was none",
                how, strerror(-last_err), ngot);
  ck_assert_msg(nends == 1,
                "%s: after the last line the callback should say the end "
                "(status 0) once; it said so %d times",
                how, nends);
  ck_assert_msg(sync_calls == 0,
                "%s: the callback ran before line_reader_next returned; it "
                "must always come from the loop",
                how);
  ck_assert_msg(wrong_arg == 0,
                "%s: the callback got another arg than the one given to "
                "line_reader_next",
                how);
}

/* A pipe whose read end is non-blocking, holding `text`; the write end is
 * closed (then the reader finds the end of the file) unless keep_open. */
static void make_pipe(int fds[2], const char *text, size_t len, int keep_open) {
  ck_assert_msg(pipe(fds) == 0, "pipe failed");
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  fcntl(fds[1], F_SETFL, O_NONBLOCK);
  if (len)
    ck_assert_msg(write(fds[1], text, len) == (ssize_t)len, "write failed");
  if (!keep_open) {
    close(fds[1]);
    fds[1] = -1;
  }
}

/* Reads all of `text` with a fresh reader and the given script. */
static void read_all(const char *text, size_t max_len, struct script *s) {
  int fds[2];
  reset_got();
  make_pipe(fds, text, strlen(text), 0);
  ck_assert_msg(line_reader_new(&reader, wb_loop(), fds[0], max_len,
                                s ? scripted_read : NULL, s) == 0,
                "line_reader_new returned an error for valid arguments");
  ck_assert_msg(ask(reader) == 0, "line_reader_next returned an error on a "
                                  "new reader");
  ck_assert_msg(sync_calls == 0, "the callback ran before line_reader_next "
                                 "returned; it must always come from the loop");
  wb_run(wb_loop(), 500);
  line_reader_free(reader);
  reader = NULL;
  close(fds[0]);
}

/* ---- The tests ----------------------------------------------------------- */

WB_TEST(reads_every_line_in_order, 2) {
  static const char *const want[] = {"alpha", "bravo", "charlie"};
  read_all("alpha\nbravo\ncharlie\n", 80, NULL);
  expect_lines(want, 3, "three lines read with read(2)");
  wb_assert_no_block(50);
  struct script s = {.chunk = 4};
  read_all("alpha\nbravo\ncharlie\n", 80, &s);
  expect_lines(want, 3, "three lines read 4 bytes at a time");
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(lines_cut_at_every_byte, 3) {
  static const char text[] = "one\r\ntwo\n\nthree\r\nfour";
  static const char *const want[] = {"one", "two", "", "three", "four"};
  char steps[8], how[96];
  for (size_t cut = 1; cut < sizeof text - 1; cut++) {
    /* `cut` bytes in pieces of at most 9, EAGAIN, then the rest at once */
    size_t k = 0, left = cut;
    while (left > 9 && k < 4)
      steps[k++] = '9', left -= 9;
    steps[k++] = (char)('0' + left);
    steps[k++] = 'A';
    steps[k] = 0;
    struct script s = {.steps = steps};
    read_all(text, 16, &s);
    snprintf(how, sizeof how, "the text cut after byte %zu (\"%.*s\" then the rest)",
             cut, (int)cut, text);
    for (char *p = how; *p; p++)
      if (*p == '\r' || *p == '\n')
        *p = '|';
    expect_lines(want, 5, how);
  }
  struct script one = {.chunk = 1};
  read_all(text, 16, &one);
  expect_lines(want, 5, "the text read one byte at a time");
  wb_assert_no_leaks();
}
END_TEST

/* The other end of a pipe, written one byte per millisecond by a timer. */
struct dripper {
  ev_timer timer;
  int fd;
  const char *text;
};

static void drip_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct dripper *d = (struct dripper *)w;
  (void)revents;
  if (*d->text && write(d->fd, d->text, 1) == 1)
    d->text++;
  if (!*d->text) {
    ev_timer_stop(loop, w);
    close(d->fd);
  }
}

WB_TEST(bytes_arrive_one_at_a_time, 2) {
  static const char *const want[] = {"first", "second", "third"};
  struct dripper d = {.text = "first\r\nsecond\nthird"};
  int fds[2];
  reset_got();
  make_pipe(fds, "", 0, 1);
  d.fd = fds[1];
  ck_assert(line_reader_new(&reader, wb_loop(), fds[0], 32, NULL, NULL) == 0);
  ck_assert(ask(reader) == 0);
  ev_timer_init(&d.timer, drip_cb, 0.001, 0.001);
  ev_timer_start(wb_loop(), &d.timer);
  wb_run(wb_loop(), 1500);
  wb_assert_no_block(50);
  expect_lines(want, 3, "bytes written into the pipe one at a time");
  line_reader_free(reader);
  reader = NULL;
  close(fds[0]);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(last_line_without_newline_and_empty_input, 2) {
  static const char *const xy[] = {"x", "y"};
  static const char *const empty[] = {""};
  struct script s = {.chunk = 2};
  read_all("x\ny", 8, &s);
  expect_lines(xy, 2, "\"x\\ny\" (the last line has no newline)");
  read_all("", 8, NULL);
  expect_lines(NULL, 0, "an empty file");
  read_all("\n", 8, NULL);
  expect_lines(empty, 1, "a file holding \"\\n\"");
  read_all("\r\n", 8, &s);
  expect_lines(empty, 1, "a file holding \"\\r\\n\"");
  wb_assert_no_leaks();
}
END_TEST

static void expect_too_long(const char *how, int lines_before) {
  ck_assert_msg(nerrs == 1 && last_err == -EMSGSIZE,
                "%s: a line longer than max_len must be reported once as "
                "-EMSGSIZE (%d); the callback got %d error(s), the last %d, "
                "after the lines %s",
                how, -EMSGSIZE, nerrs, last_err, got_text());
  ck_assert_msg(ngot == lines_before && nends == 0,
                "%s: expected %d line(s) before the error and no end after "
                "it; got %s and %d end(s)",
                how, lines_before, got_text(), nends);
}

WB_TEST(too_long_line_is_an_error, 3) {
  static const char *const exact[] = {"12345678", "ab"};
  struct script one = {.chunk = 1}, five = {.chunk = 5};
  read_all("12345678\nab\n", 8, &one);
  expect_lines(exact, 2, "a line of exactly max_len (8) bytes, one byte per read");
  read_all("12345678\r\nab\n", 8, &one);
  expect_lines(exact, 2, "a line of exactly max_len (8) bytes and \"\\r\\n\", one byte per read");
  read_all("12345678\r\nab", 8, NULL);
  expect_lines(exact, 2, "a line of exactly max_len (8) bytes and \"\\r\\n\", read at once");
  read_all("ab\n12345678", 8, &five);
  static const char *const last[] = {"ab", "12345678"};
  expect_lines(last, 2, "a last line of exactly max_len (8) bytes without newline");
  read_all("ab\n123456789\nlater\n", 8, &five);
  expect_too_long("a line of 9 bytes with max_len 8", 1);
  read_all("123456789", 8, NULL);
  expect_too_long("a last line of 9 bytes with max_len 8", 0);
  static char big[3001];
  memset(big, 'x', sizeof big - 1);
  read_all(big, 8, NULL);
  expect_too_long("a line of 3000 bytes with max_len 8", 0);
  read_all(big, 100, NULL);
  expect_too_long("a line of 3000 bytes with max_len 100", 0);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(eintr_and_eagain_are_not_errors, 2) {
  static const char *const want[] = {"red", "green", "blue"};
  struct script s = {.steps = "I2A3II1A9I1AAI", .chunk = 2};
  read_all("red\ngreen\nblue\n", 16, &s);
  expect_lines(want, 3, "reads interrupted by EINTR and EAGAIN");
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(read_error_is_reported_once, 1) {
  static const char *const want[] = {"good"};
  struct script s = {.steps = "24E"};
  read_all("good\nbad\n", 16, &s);
  ck_assert_msg(ngot == 1 && strcmp(got[0], "good") == 0,
                "the reader should hand over \"good\" before the read error; "
                "it handed over %s",
                got_text());
  (void)want;
  ck_assert_msg(nerrs == 1 && last_err == -EIO && nends == 0,
                "a read that failed with EIO must be reported once as -EIO "
                "(%d), with no end after it; the callback got %d error(s), "
                "the last %d, and %d end(s)",
                -EIO, nerrs, last_err, nends);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(never_calls_back_before_next_returns, 2) {
  static const char *const want[] = {"a", "b", "c", "d"};
  int fds[2];
  reset_got();
  make_pipe(fds, "a\nb\nc\nd\n", 8, 0);
  ask_again = 0; /* the callback asks for nothing: the test asks */
  ck_assert(line_reader_new(&reader, wb_loop(), fds[0], 16, NULL, NULL) == 0);
  for (int i = 0; i < 4; i++) {
    ck_assert_msg(ask(reader) == 0, "line_reader_next returned an error");
    ck_assert_msg(ngot == i,
                  "line_reader_next called back before it returned (line "
                  "\"%s\" was already in the buffer): even then, the answer "
                  "must come from the loop",
                  want[i]);
    wb_run(wb_loop(), 500);
    ck_assert_msg(ngot == i + 1, "after line_reader_next and a run of the "
                                 "loop, %d line(s) came instead of %d",
                  ngot, i + 1);
  }
  ask_again = 1;
  ck_assert(ask(reader) == 0);
  ck_assert_msg(nends == 0, "the end came before line_reader_next returned; "
                            "it must come from the loop");
  wb_run(wb_loop(), 500);
  expect_lines(want, 4, "lines asked for one by one");
  line_reader_free(reader);
  reader = NULL;
  close(fds[0]);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(nothing_is_watched_between_requests, 2) {
  int fds[2];
  struct script s = {.chunk = 3};
  reset_got();
  ask_again = 0;
  make_pipe(fds, "one\ntwo\n", 8, 1); /* no end of file: the pipe stays open */
  ck_assert(line_reader_new(&reader, wb_loop(), fds[0], 16, scripted_read, &s) == 0);
  wb_run(wb_loop(), 500);
  ck_assert_msg(s.calls == 0 && wb_active_watchers(wb_loop()) == 0,
                "a new reader read %d time(s) and has %d active watcher(s) "
                "before anyone asked for a line: it must wait for "
                "line_reader_next",
                s.calls, wb_active_watchers(wb_loop()));
  ck_assert(ask(reader) == 0);
  wb_run(wb_loop(), 500);
  ck_assert_msg(ngot == 1 && strcmp(got[0], "one") == 0,
                "expected the line \"one\", got %s", got_text());
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "the request was answered, but the reader still has %d "
                "active watcher(s): between requests it must watch nothing",
                wb_active_watchers(wb_loop()));
  ck_assert(ask(reader) == 0);
  wb_run(wb_loop(), 500);
  ck_assert_msg(ngot == 2 && strcmp(got[1], "two") == 0,
                "expected the lines \"one\", \"two\", got %s", got_text());
  ck_assert(ask(reader) == 0); /* nothing more has come: it waits */
  ck_assert_msg(wb_active_watchers(wb_loop()) > 0,
                "a request is pending and no line is there, but the reader "
                "watches nothing: it must wait for the descriptor with an "
                "ev_io");
  ck_assert(write(fds[1], "three\n", 6) == 6);
  wb_run(wb_loop(), 500);
  ck_assert_msg(ngot == 3 && strcmp(got[2], "three") == 0,
                "expected the lines \"one\", \"two\", \"three\", got %s",
                got_text());
  ck_assert_msg(nerrs == 0 && nends == 0 && sync_calls == 0,
                "unexpected errors (%d), ends (%d) or early callbacks (%d)",
                nerrs, nends, sync_calls);
  line_reader_free(reader);
  reader = NULL;
  close(fds[0]);
  close(fds[1]);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(busy_and_after_the_end, 1) {
  int fds[2];
  struct script s = {.chunk = 2};
  reset_got();
  ask_again = 0;
  make_pipe(fds, "ab\ncd", 5, 0);
  ck_assert(line_reader_new(&reader, wb_loop(), fds[0], 16, scripted_read, &s) == 0);
  ck_assert(ask(reader) == 0);
  int rc = ask(reader);
  ck_assert_msg(rc == -EBUSY,
                "a second line_reader_next while the first is not answered "
                "returned %d; it must return -EBUSY (%d) and change nothing",
                rc, -EBUSY);
  wb_run(wb_loop(), 500);
  ck_assert_msg(ngot == 1 && strcmp(got[0], "ab") == 0,
                "two requests, the second refused: expected the one line "
                "\"ab\", got %s",
                got_text());
  ask_again = 1;
  ck_assert(ask(reader) == 0);
  wb_run(wb_loop(), 500);
  ck_assert_msg(ngot == 2 && nends == 1, "expected \"ab\", \"cd\" and the end; "
                                         "got %s and %d end(s)",
                got_text(), nends);
  rc = ask(reader);
  ck_assert_msg(rc == -EPIPE,
                "line_reader_next after the end returned %d; it must return "
                "-EPIPE (%d)",
                rc, -EPIPE);
  wb_run(wb_loop(), 500);
  ck_assert_msg(nends == 1 && ngot == 2,
                "after the end, the callback was called again");
  line_reader_free(reader);
  reader = NULL;
  close(fds[0]);
  wb_assert_no_leaks();
}
END_TEST

static int fd_is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

WB_TEST(free_cleans_up_on_every_path, 3) {
  int fds[2];
  struct script s = {.chunk = 3};
  /* a request waiting for bytes */
  reset_got();
  make_pipe(fds, "", 0, 1);
  ck_assert(line_reader_new(&reader, wb_loop(), fds[0], 16, scripted_read, &s) == 0);
  ck_assert(ask(reader) == 0);
  for (int i = 0; i < 3; i++) /* the request starts waiting for bytes */
    ev_run(wb_loop(), EVRUN_NOWAIT);
  line_reader_free(reader);
  reader = NULL;
  ck_assert_msg(ngot + nends + nerrs == 0,
                "line_reader_free called back a pending request: its "
                "callback must never be called");
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                "line_reader_free left %d watcher(s) active on the loop",
                wb_active_watchers(wb_loop()));
  ck_assert(write(fds[1], "late\n", 5) == 5);
  wb_run(wb_loop(), 500);
  ck_assert_msg(ngot + nends + nerrs == 0,
                "after line_reader_free, the callback of the pending request "
                "was called");
  ck_assert_msg(fd_is_open(fds[0]),
                "line_reader_free closed the descriptor: it is the caller's");
  close(fds[0]);
  close(fds[1]);
  /* a request whose line is already buffered */
  reset_got();
  ask_again = 0;
  make_pipe(fds, "a\nb\n", 4, 0);
  ck_assert(line_reader_new(&reader, wb_loop(), fds[0], 16, NULL, NULL) == 0);
  ck_assert(ask(reader) == 0);
  wb_run(wb_loop(), 500);
  ck_assert(ask(reader) == 0);
  line_reader_free(reader);
  reader = NULL;
  wb_run(wb_loop(), 500);
  ck_assert_msg(ngot == 1 && nends + nerrs == 0,
                "line_reader_free with an answer on its way: the callback "
                "must not be called; got %s", got_text());
  close(fds[0]);
  /* from inside the callback of a line, more lines in the buffer */
  struct script two = {.chunk = 7};
  reset_got();
  free_at = 2;
  make_pipe(fds, "l1\nl2\nl3\nl4\n", 12, 0);
  ck_assert(line_reader_new(&reader, wb_loop(), fds[0], 16, scripted_read, &two) == 0);
  ck_assert(ask(reader) == 0);
  wb_run(wb_loop(), 500);
  ck_assert_msg(ngot == 2 && reader == NULL,
                "the callback freed the reader at the second line, yet %d "
                "lines came (%s)",
                ngot, got_text());
  close(fds[0]);
  /* from inside the callback of the end */
  static const char *const want[] = {"x", "y"};
  reset_got();
  free_at_end = 1;
  make_pipe(fds, "x\ny\n", 4, 0);
  ck_assert(line_reader_new(&reader, wb_loop(), fds[0], 16, scripted_read, &two) == 0);
  ck_assert(ask(reader) == 0);
  wb_run(wb_loop(), 500);
  expect_lines(want, 2, "freed in the callback of the end");
  close(fds[0]);
  line_reader_free(NULL);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(out_of_memory_returns_enomem, 1) {
  int fds[2];
  static const char *const want[] = {"fine"};
  struct script s = {.chunk = 2};
  reset_got();
  make_pipe(fds, "fine\n", 5, 0);
  for (unsigned n = 1;; n++) {
    line_reader_t *r = (line_reader_t *)&token;
    wb_fail_alloc(n);
    int rc = line_reader_new(&r, wb_loop(), fds[0], 16, scripted_read, &s);
    unsigned used = wb_allocs();
    wb_fail_alloc(0);
    if (used < n) {
      ck_assert_msg(rc == 0, "line_reader_new returned %d with memory to "
                             "spare", rc);
      reader = r;
      break;
    }
    ck_assert_msg(rc == -ENOMEM,
                  "allocation %u of line_reader_new failed, and it returned "
                  "%d instead of -ENOMEM (%d)",
                  n, rc, -ENOMEM);
    ck_assert_msg(r == (line_reader_t *)&token,
                  "line_reader_new failed but changed *out");
    ck_assert_msg(wb_active_watchers(wb_loop()) == 0,
                  "line_reader_new failed but left a watcher started");
  }
  ck_assert(ask(reader) == 0);
  wb_run(wb_loop(), 500);
  expect_lines(want, 1, "a reader made after failed allocations");
  line_reader_free(reader);
  reader = NULL;
  close(fds[0]);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(bad_arguments_are_refused, 1) {
  line_reader_t *r = (line_reader_t *)&token;
  ck_assert_msg(line_reader_new(NULL, wb_loop(), 0, 8, NULL, NULL) == -EINVAL,
                "line_reader_new with out == NULL must return -EINVAL");
  ck_assert_msg(line_reader_new(&r, NULL, 0, 8, NULL, NULL) == -EINVAL,
                "line_reader_new with loop == NULL must return -EINVAL");
  ck_assert_msg(line_reader_new(&r, wb_loop(), -1, 8, NULL, NULL) == -EINVAL,
                "line_reader_new with fd -1 must return -EINVAL");
  ck_assert_msg(line_reader_new(&r, wb_loop(), 0, 0, NULL, NULL) == -EINVAL,
                "line_reader_new with max_len 0 must return -EINVAL");
  ck_assert_msg(r == (line_reader_t *)&token,
                "line_reader_new refused its arguments but changed *out");
  wb_assert_no_leaks();
}
END_TEST
