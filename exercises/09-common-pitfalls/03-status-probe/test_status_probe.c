/* test_status_probe.c - the tests of exercise 09.3 and their points.
 * The callback notes what was still open or active when it ran: the
 * contract says that, on every path, everything is released by then.
 */
#define _GNU_SOURCE /* usleep */
#include "status_probe.h"
#include "wbtest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int calls, wrong_loop, got_status, active_at_cb, fds_at_cb, fds_before;
static void *got_arg;
static double called_at;
static char got_error[256];
static unsigned allocs;

static void on_status(struct ev_loop *loop, int status, const char *error,
                      void *arg) {
  calls++;
  got_status = status;
  got_arg = arg;
  called_at = wb_elapsed_ms();
  active_at_cb = wb_active_watchers(loop);
  fds_at_cb = wb_fd_count();
  if (loop != wb_loop())
    wrong_loop++;
  snprintf(got_error, sizeof got_error, "%s", error ? error : "(NULL)");
}

static int server_port(void) {
  int port = 0;
  sscanf(wb_server_url("/"), "http://127.0.0.1:%d", &port);
  ck_assert_msg(port > 0, "the test could not find the local server's port");
  return port;
}

static int start(int port, const char *path, unsigned timeout_ms) {
  int before = calls;
  fds_before = wb_fd_count();
  int rc = status_probe(wb_loop(), port, path, timeout_ms, on_status, &calls);
  allocs = wb_allocs();
  wb_fail_alloc(0);
  ck_assert_msg(calls == before,
                "status_probe called cb before it returned: cb must be called "
                "by the loop, later, even when the connection fails at once");
  return rc;
}

/* What every path must have done by the time cb ran. `sockets` says
 * whether the test can count descriptors (not while a server thread of the
 * test itself holds one). */
static void check_done(int status, int with_error, int sockets) {
  wb_assert_calls(calls, 1, "the callback given to status_probe");
  ck_assert_msg(wrong_loop == 0, "cb was called with another loop than the "
                                 "one given to status_probe");
  ck_assert_msg(got_status == status && (with_error ? strcmp(got_error, "(NULL)") != 0
                                                    : strcmp(got_error, "(NULL)") == 0),
                "cb got status %d and error \"%s\", expected status %d and %s",
                got_status, got_error, status,
                with_error ? "an error" : "a NULL error");
  ck_assert_msg(got_arg == &calls, "cb got another arg than the one given");
  ck_assert_msg(active_at_cb == 0,
                "when cb ran (status %d, \"%s\"), %d watcher%s of the probe "
                "%s still active. Before calling back, on every path, stop "
                "both the ev_io and the ev_timer: otherwise the loop keeps "
                "waiting for them after the probe is over.",
                got_status, got_error, active_at_cb,
                active_at_cb == 1 ? "" : "s", active_at_cb == 1 ? "was" : "were");
  if (sockets)
    ck_assert_msg(fds_at_cb == fds_before,
                  "when cb ran (status %d, \"%s\"), the probe's socket was "
                  "still open (%d descriptor%s more than before the probe). "
                  "Close it before calling back, on every path: a server "
                  "that probes all day runs out of descriptors.",
                  got_status, got_error, fds_at_cb - fds_before,
                  fds_at_cb - fds_before == 1 ? "" : "s");
}

WB_TEST(reads_the_status, 2) {
  int port = server_port();
  ck_assert_msg(start(port, "/status/404", 1000) == 0,
                "status_probe returned an error");
  wb_run(wb_loop(), 1500);
  check_done(404, 0, 1);
  calls = 0;
  ck_assert_msg(start(port, "/json", 1000) == 0,
                "status_probe returned an error");
  wb_run(wb_loop(), 1500);
  wb_assert_no_block(50);
  check_done(200, 0, 1);
}
END_TEST

WB_TEST(closed_without_an_answer, 2) {
  ck_assert_msg(start(server_port(), "/close", 1000) == 0,
                "status_probe returned an error");
  wb_run(wb_loop(), 1500);
  check_done(0, 1, 1);
}
END_TEST

WB_TEST(connection_refused, 1) {
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert(s >= 0 && bind(s, (struct sockaddr *)&sa, len) == 0 &&
            getsockname(s, (struct sockaddr *)&sa, &len) == 0);
  close(s); /* nobody listens on that port now */
  ck_assert_msg(start(ntohs(sa.sin_port), "/", 1000) == 0,
                "status_probe returned an error");
  wb_run(wb_loop(), 1500);
  check_done(0, 1, 1);
  ck_assert_msg(called_at < 500, "a refused connection was reported after "
                "%.0f ms: it should be reported at once, not at the timeout",
                called_at);
}
END_TEST

WB_TEST(times_out, 2) {
  ck_assert_msg(start(server_port(), "/delay/700", 100) == 0,
                "status_probe returned an error");
  wb_run(wb_loop(), 1500);
  ck_assert_msg(wb_server_most_in_flight() >= 1,
                "the server never saw a connection: the probe must really "
                "connect and send its request");
  check_done(0, 1, 1);
  ck_assert_msg(called_at >= 90 && called_at < 500,
                "a probe with a timeout of 100 ms, to a server that answers "
                "after 700 ms, called back after %.0f ms",
                called_at);
  ck_assert_msg(wb_elapsed_ms() < 600,
                "the loop ran on for %.0f ms after a probe timed out at 100 "
                "ms: something of the probe was still active, and ev_run "
                "waited for it",
                wb_elapsed_ms());
}
END_TEST

WB_TEST(zero_timeout_is_refused, 1) {
  ck_assert_msg(start(server_port(), "/json", 0) == -1,
                "status_probe with a timeout of 0 ms should return -1");
  ck_assert_msg(wb_active_watchers(wb_loop()) == 0 && wb_fd_count() == fds_before,
                "status_probe returned -1 but left a watcher or a socket");
  wb_run(wb_loop(), 500);
  ck_assert_msg(calls == 0, "status_probe returned -1, yet cb was called");
  /* and a probe that works, so that refusing everything earns nothing */
  ck_assert_msg(start(server_port(), "/status/201", 1000) == 0,
                "status_probe returned an error");
  wb_run(wb_loop(), 1500);
  check_done(201, 0, 1);
}
END_TEST

/* A server of the test's own that sends its status line in pieces. */
struct slow_server {
  pthread_t thread;
  int listener;
};

static void *slow_server_main(void *arg) {
  struct slow_server *s = arg;
  static const char *pieces[] = {"HTT", "P/1.0 2", "03 Non", "-Auth\r\n\r\n"};
  char req[256];
  int c = accept(s->listener, NULL, NULL);
  if (c < 0)
    return NULL;
  ssize_t n = read(c, req, sizeof req);
  (void)n;
  for (int i = 0; i < 4; i++) {
    usleep(20000);
    n = write(c, pieces[i], strlen(pieces[i]));
  }
  usleep(20000);
  close(c);
  return NULL;
}

WB_TEST(status_line_in_pieces, 1) {
  struct slow_server s;
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  s.listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert(s.listener >= 0 &&
            bind(s.listener, (struct sockaddr *)&sa, len) == 0 &&
            listen(s.listener, 4) == 0 &&
            getsockname(s.listener, (struct sockaddr *)&sa, &len) == 0);
  ck_assert(pthread_create(&s.thread, NULL, slow_server_main, &s) == 0);
  ck_assert_msg(start(ntohs(sa.sin_port), "/", 1000) == 0,
                "status_probe returned an error");
  wb_run(wb_loop(), 1500);
  pthread_join(s.thread, NULL);
  close(s.listener);
  wb_assert_no_block(50);
  check_done(203, 0, 0);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(many_probes_at_once, 2) {
  int port = server_port();
  for (int i = 0; i < 5; i++)
    ck_assert_msg(start(port, "/delay/150", 1000) == 0,
                  "status_probe returned an error");
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls, 5, "the callback given to status_probe");
  ck_assert_msg(got_status == 200, "the last probe got status %d, expected "
                "200", got_status);
  wb_assert_overlap(wb_elapsed_ms(), 150, 5);
  wb_assert_no_block(50);
  wb_assert_no_leaks();
}
END_TEST

WB_TEST(out_of_memory_returns_minus_one, 1) {
  int port = server_port();
  for (unsigned n = 1;; n++) {
    wb_fail_alloc(n);
    int rc = start(port, "/json", 1000);
    if (allocs < n) {
      ck_assert_msg(rc == 0, "status_probe returned %d; it should return 0",
                    rc);
      wb_run(wb_loop(), 1500);
      check_done(200, 0, 1);
      break;
    }
    ck_assert_msg(rc == -1,
                  "allocation %u of status_probe failed, yet it returned %d: "
                  "when memory runs out it must return -1",
                  n, rc);
    ck_assert_msg(wb_active_watchers(wb_loop()) == 0 &&
                      wb_fd_count() == fds_before,
                  "allocation %u of status_probe failed and it returned -1, "
                  "but it left a watcher or a socket behind",
                  n);
    wb_run(wb_loop(), 500);
    ck_assert_msg(calls == 0, "status_probe returned -1, yet cb was called");
  }
}
END_TEST

WB_TEST(leaves_nothing_behind, 1) {
  int port = server_port();
  static const char *paths[] = {"/json", "/close", "/delay/500", "/status/500"};
  for (int i = 0; i < 4; i++)
    ck_assert_msg(start(port, paths[i], 100) == 0,
                  "status_probe returned an error");
  wb_run(wb_loop(), 1500);
  wb_assert_calls(calls, 4, "the callback given to status_probe");
  wb_assert_no_leaks();
}
END_TEST
