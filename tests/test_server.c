/* test_server.c - Check tests for the workbook's local HTTP server
 * (server/wb_server.c): 200 concurrent clients, delays that hold no one back,
 * status codes and bad requests, /close, /drip, HEAD, and a clean shutdown.
 */
#define _GNU_SOURCE
#include "wb_server.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define FLEET_MAX 200
#define READS_MAX 64

struct transfer {
  CURL *easy;
  char url[64];
  char expect[128];
  char body[256];
  size_t len;
  int overflow;
};

struct sock_watch {
  ev_io io;
  curl_socket_t fd;
};

struct reply {
  char data[16384];
  size_t len;
  size_t ends[READS_MAX];
  int reads;
  int eof;
  int err;
};

static struct ev_loop *loop;
static CURLM *multi;
static ev_timer curl_timer;
static ev_timer deadline;
static ev_timer watchdog;
static struct transfer transfers[FLEET_MAX];
static int fleet_size;
static int break_when_done;
static int done_count;
static int ok_count;
static int open_watches;
static int deadline_cb_called;
static int watchdog_cb_called;

static size_t write_cb(char *data, size_t size, size_t n, void *userp) {
  struct transfer *t = userp;
  size_t len = size * n;
  if (t->len + len >= sizeof t->body) {
    t->overflow = 1;
    return len;
  }
  memcpy(t->body + t->len, data, len);
  t->len += len;
  return len;
}

static struct transfer *transfer_of(CURL *easy) {
  for (int i = 0; i < fleet_size; i++)
    if (transfers[i].easy == easy)
      return &transfers[i];
  return NULL;
}

static void fleet_check_done(void) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(multi, &left))) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    CURL *easy = msg->easy_handle;
    struct transfer *t = transfer_of(easy);
    long code = 0;
    ck_assert_ptr_nonnull(t);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    if (msg->data.result == CURLE_OK && code == 200 && !t->overflow &&
        t->len == strlen(t->expect) && memcmp(t->body, t->expect, t->len) == 0)
      ok_count++;
    done_count++;
    curl_multi_remove_handle(multi, easy);
    curl_easy_cleanup(easy);
    t->easy = NULL;
  }
  if (done_count == fleet_size) {
    ev_timer_stop(loop, &curl_timer);
    ev_timer_stop(loop, &deadline);
    if (break_when_done)
      ev_break(loop, EVBREAK_ALL);
  }
}

static void sock_io_cb(struct ev_loop *l, ev_io *w, int revents) {
  struct sock_watch *s = (struct sock_watch *)w;
  int running;
  (void)l;
  curl_multi_socket_action(multi, s->fd,
                           (revents & EV_READ ? CURL_CSELECT_IN : 0) |
                               (revents & EV_WRITE ? CURL_CSELECT_OUT : 0),
                           &running);
  fleet_check_done();
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *socketp) {
  struct sock_watch *s = socketp;
  (void)easy;
  (void)userp;
  if (what == CURL_POLL_REMOVE) {
    if (s) {
      ev_io_stop(loop, &s->io);
      free(s);
      open_watches--;
    }
    return 0;
  }
  if (!s) {
    s = calloc(1, sizeof *s);
    ck_assert_ptr_nonnull(s);
    s->fd = fd;
    ev_init(&s->io, sock_io_cb);
    curl_multi_assign(multi, fd, s);
    open_watches++;
  }
  ev_io_stop(loop, &s->io);
  ev_io_set(&s->io, fd,
            (what & CURL_POLL_IN ? EV_READ : 0) |
                (what & CURL_POLL_OUT ? EV_WRITE : 0));
  ev_io_start(loop, &s->io);
  return 0;
}

static void curl_timer_cb(struct ev_loop *l, ev_timer *w, int revents) {
  int running;
  (void)l;
  (void)w;
  (void)revents;
  curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
  fleet_check_done();
}

static int timer_fn(CURLM *m, long timeout_ms, void *userp) {
  (void)m;
  (void)userp;
  ev_timer_stop(loop, &curl_timer);
  if (timeout_ms >= 0 && done_count < fleet_size) {
    ev_timer_set(&curl_timer, (double)timeout_ms / 1000., 0.);
    ev_timer_start(loop, &curl_timer);
  }
  return 0;
}

static void deadline_cb(struct ev_loop *l, ev_timer *w, int revents) {
  (void)w;
  (void)revents;
  deadline_cb_called++;
  ev_break(l, EVBREAK_ALL);
}

static void watchdog_cb(struct ev_loop *l, ev_timer *w, int revents) {
  (void)w;
  (void)revents;
  ev_ref(l);
  watchdog_cb_called++;
  ev_break(l, EVBREAK_ALL);
}

static void fleet_init(int break_at_end) {
  fleet_size = done_count = ok_count = open_watches = 0;
  deadline_cb_called = watchdog_cb_called = 0;
  break_when_done = break_at_end;
  loop = ev_loop_new(EVFLAG_AUTO);
  ck_assert_ptr_nonnull(loop);
  multi = curl_multi_init();
  ck_assert_ptr_nonnull(multi);
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_fn);
  ev_init(&curl_timer, curl_timer_cb);
  ev_timer_init(&deadline, deadline_cb, 10., 0.);
  ev_now_update(loop);
  ev_timer_start(loop, &deadline);
}

static void fleet_add(int port, const char *path, const char *expect) {
  ck_assert_int_lt(fleet_size, FLEET_MAX);
  struct transfer *t = &transfers[fleet_size++];
  memset(t, 0, sizeof *t);
  snprintf(t->url, sizeof t->url, "http://127.0.0.1:%d%s", port, path);
  snprintf(t->expect, sizeof t->expect, "%s", expect);
  t->easy = curl_easy_init();
  ck_assert_ptr_nonnull(t->easy);
  curl_easy_setopt(t->easy, CURLOPT_URL, t->url);
  curl_easy_setopt(t->easy, CURLOPT_PROXY, "");
  curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(t->easy, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
  ck_assert_int_eq(curl_multi_add_handle(multi, t->easy), CURLM_OK);
}

static void fleet_close(void) {
  for (int i = 0; i < fleet_size; i++)
    if (transfers[i].easy) {
      curl_multi_remove_handle(multi, transfers[i].easy);
      curl_easy_cleanup(transfers[i].easy);
      transfers[i].easy = NULL;
    }
  curl_multi_cleanup(multi);
  ev_timer_stop(loop, &curl_timer);
  ev_timer_stop(loop, &deadline);
  ck_assert_int_eq(open_watches, 0);
}

static int client_connect(int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port)};
  struct timeval tv = {.tv_sec = 2};
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(fd, 0);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  return fd;
}

static void client_send(int fd, const char *data) {
  size_t len = strlen(data);
  for (int i = 0; i < 100 && len > 0; i++) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    ck_assert_int_gt(n, 0);
    data += n;
    len -= (size_t)n;
  }
  ck_assert_uint_eq(len, 0);
}

static int client_read_some(int fd, struct reply *r, int flags) {
  ssize_t n = recv(fd, r->data + r->len, sizeof r->data - 1 - r->len, flags);
  if (n > 0) {
    r->len += (size_t)n;
    r->data[r->len] = '\0';
    if (r->reads < READS_MAX)
      r->ends[r->reads] = r->len;
    r->reads++;
    return r->len == sizeof r->data - 1;
  }
  if (n < 0 && errno == EINTR)
    return 0;
  if (n == 0)
    r->eof = 1;
  else
    r->err = errno;
  return 1;
}

static void client_read(int fd, struct reply *r) {
  for (int i = 0; i < 10000; i++)
    if (client_read_some(fd, r, 0))
      return;
}

static void fetch(int port, const char *request, struct reply *r) {
  int fd = client_connect(port);
  memset(r, 0, sizeof *r);
  client_send(fd, request);
  client_read(fd, r);
  close(fd);
}

static int reply_status(const struct reply *r) {
  int code = 0;
  if (sscanf(r->data, "HTTP/1.1 %d ", &code) != 1)
    return -1;
  return code;
}

static size_t reply_head_len(const struct reply *r) {
  const char *end = strstr(r->data, "\r\n\r\n");
  return end ? (size_t)(end + 4 - r->data) : 0;
}

static const char *reply_body(const struct reply *r) {
  size_t head = reply_head_len(r);
  ck_assert_uint_gt(head, 0);
  return r->data + head;
}

static long reply_content_length(const struct reply *r) {
  size_t head = reply_head_len(r);
  const char *h = strcasestr(r->data, "\r\nContent-Length:");
  if (!h || (size_t)(h - r->data) >= head)
    return -1;
  return strtol(h + strlen("\r\nContent-Length:"), NULL, 10);
}

static int reply_body_reads(const struct reply *r) {
  size_t head = reply_head_len(r);
  int n = 0;
  for (int i = 0; i < r->reads && i < READS_MAX; i++)
    if (r->ends[i] > head)
      n++;
  return n;
}

static wb_server_t *server_start(void) {
  wb_server_t *srv;
  ck_assert_int_eq(wb_server_start(&srv, "127.0.0.1", 0), 0);
  return srv;
}

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int n = 0;
  ck_assert_ptr_nonnull(d);
  while ((e = readdir(d)))
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(server_answers_200_concurrent_clients_without_losing_any) {
  wb_server_t *srv;
  char path[32], expect[128];
  fleet_init(1);
  ck_assert_int_eq(wb_server_open(&srv, loop, "127.0.0.1", 0), 0);
  for (int i = 0; i < FLEET_MAX; i++) {
    if (i % 2) {
      snprintf(path, sizeof path, "/delay/100");
      snprintf(expect, sizeof expect, "{\"delay_ms\":100}");
    } else {
      snprintf(path, sizeof path, "/json/%d", i);
      snprintf(expect, sizeof expect,
               "{\"id\":%d,\"name\":\"workbook\",\"tags\":[\"async\",\"c\","
               "\"libev\"]}",
               i);
    }
    fleet_add(wb_server_port(srv), path, expect);
  }

  ev_run(loop, 0);

  ck_assert_int_eq(deadline_cb_called, 0);
  ck_assert_int_eq(done_count, FLEET_MAX);
  ck_assert_int_eq(ok_count, FLEET_MAX);
  ck_assert_uint_eq(wb_server_answered(srv), FLEET_MAX);
  fleet_close();
  wb_server_close(srv);
  ev_loop_destroy(loop);
}
END_TEST

START_TEST(server_on_callers_loop_lets_ev_run_return_when_clients_finish) {
  wb_server_t *srv;
  fleet_init(0);
  ck_assert_int_eq(wb_server_open(&srv, loop, "127.0.0.1", 0), 0);
  ev_timer_init(&watchdog, watchdog_cb, 5., 0.);
  ev_timer_start(loop, &watchdog);
  ev_unref(loop);
  fleet_add(wb_server_port(srv), "/delay/20", "{\"delay_ms\":20}");
  fleet_add(wb_server_port(srv), "/json/7",
            "{\"id\":7,\"name\":\"workbook\",\"tags\":[\"async\",\"c\","
            "\"libev\"]}");

  ev_run(loop, 0);

  ck_assert_msg(done_count == 2,
                "ev_run returned with %d of 2 clients finished", done_count);
  ck_assert_msg(watchdog_cb_called == 0,
                "ev_run kept running after every client had finished");
  ck_assert_int_eq(ok_count, 2);
  if (ev_is_active(&watchdog)) {
    ev_ref(loop);
    ev_timer_stop(loop, &watchdog);
  }
  fleet_close();
  wb_server_close(srv);
  ev_loop_destroy(loop);
}
END_TEST

START_TEST(server_delay_does_not_hold_back_a_later_json_request) {
  wb_server_t *srv = server_start();
  int port = wb_server_port(srv);
  struct reply replies[2];
  int fds[2], done_round[2] = {-1, -1}, finished = 0;
  memset(replies, 0, sizeof replies);
  fds[0] = client_connect(port);
  client_send(fds[0], "GET /delay/300 HTTP/1.1\r\n\r\n");
  fds[1] = client_connect(port);
  client_send(fds[1], "GET /json HTTP/1.1\r\n\r\n");

  for (int round = 0; round < 200 && finished < 2; round++) {
    struct pollfd p[2];
    for (int i = 0; i < 2; i++)
      p[i] = (struct pollfd){.fd = done_round[i] < 0 ? fds[i] : -1,
                             .events = POLLIN};
    if (poll(p, 2, 2000) <= 0)
      break;
    for (int i = 0; i < 2; i++)
      if (p[i].revents && client_read_some(fds[i], &replies[i], MSG_DONTWAIT)) {
        done_round[i] = round;
        finished++;
      }
  }

  ck_assert_msg(finished == 2, "%d of 2 responses ended (delay: %zu bytes)",
                finished, replies[0].len);
  ck_assert_int_lt(done_round[1], done_round[0]);
  ck_assert_int_eq(reply_status(&replies[1]), 200);
  ck_assert_str_eq(reply_body(&replies[1]),
                   "{\"id\":1,\"name\":\"workbook\",\"tags\":[\"async\",\"c\","
                   "\"libev\"]}");
  ck_assert_int_eq(reply_status(&replies[0]), 200);
  ck_assert_str_eq(reply_body(&replies[0]), "{\"delay_ms\":300}");
  close(fds[0]);
  close(fds[1]);
  wb_server_stop(srv);
}
END_TEST

START_TEST(server_counts_the_most_connections_open_at_once) {
  wb_server_t *srv = server_start();
  int port = wb_server_port(srv);
  struct reply replies[3];
  int fds[3];
  unsigned shared = 0;
  memset(replies, 0, sizeof replies);
  ck_assert_uint_eq(wb_server_most_open(srv), 0);
  for (int i = 0; i < 3; i++) {
    fds[i] = client_connect(port);
    client_send(fds[i], "GET /delay/150 HTTP/1.1\r\n\r\n");
  }
  for (int i = 0; i < 3; i++) {
    client_read(fds[i], &replies[i]);
    ck_assert_int_eq(reply_status(&replies[i]), 200);
    close(fds[i]);
  }
  ck_assert_uint_eq(wb_server_most_open(srv), 3);
  /* One at a time afterwards: the most stays 3. */
  struct reply one;
  memset(&one, 0, sizeof one);
  fetch(port, "GET /json HTTP/1.1\r\n\r\n", &one);
  ck_assert_uint_eq(wb_server_most_open(srv), 3);
  wb_server_stop(srv);

  /* Shared: the count goes to the caller's memory. */
  struct ev_loop *l = ev_loop_new(EVFLAG_AUTO);
  wb_server_t *local;
  ck_assert_int_eq(wb_server_open(&local, l, "127.0.0.1", 0), 0);
  wb_server_most_open_into(local, &shared);
  int fd = client_connect(wb_server_port(local));
  for (int i = 0; i < 100 && shared == 0; i++) {
    usleep(1000);
    ev_run(l, EVRUN_NOWAIT); /* accepts the connection */
  }
  ck_assert_uint_eq(shared, 1);
  ck_assert_uint_eq(wb_server_most_open(local), 1);
  close(fd);
  wb_server_close(local);
  ev_loop_destroy(l);
}
END_TEST

START_TEST(server_status_path_answers_404_and_503_with_that_status) {
  wb_server_t *srv = server_start();
  struct reply r;
  fetch(wb_server_port(srv), "GET /status/404 HTTP/1.1\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 404);
  ck_assert_str_eq(reply_body(&r), "{\"status\":404}");
  fetch(wb_server_port(srv), "GET /status/503 HTTP/1.1\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 503);
  ck_assert_str_eq(reply_body(&r), "{\"status\":503}");
  wb_server_stop(srv);
}
END_TEST

START_TEST(server_flaky_fails_n_times_per_key_then_answers_200) {
  wb_server_t *srv = server_start();
  int port = wb_server_port(srv);
  struct reply r;
  for (int i = 1; i <= 2; i++) {
    fetch(port, "GET /flaky/a/2 HTTP/1.1\r\n\r\n", &r);
    ck_assert_int_eq(reply_status(&r), 503);
  }
  fetch(port, "GET /flaky/b/1 HTTP/1.1\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 503); /* each key counts alone */
  fetch(port, "GET /flaky/a/2 HTTP/1.1\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 200);
  ck_assert_str_eq(reply_body(&r), "{\"attempt\":3}");
  fetch(port, "GET /flaky/a/2 HTTP/1.1\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 200);
  fetch(port, "GET /flaky/c/0 HTTP/1.1\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 200);
  fetch(port, "GET /flaky/a%20b/1 HTTP/1.1\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 400);
  fetch(port, "GET /flaky/x HTTP/1.1\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 400);
  wb_server_stop(srv);
  srv = server_start(); /* a new server forgets every key */
  fetch(wb_server_port(srv), "GET /flaky/a/2 HTTP/1.1\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 503);
  wb_server_stop(srv);
}
END_TEST

START_TEST(server_unknown_path_is_404) {
  wb_server_t *srv = server_start();
  struct reply r;
  fetch(wb_server_port(srv), "GET /nope HTTP/1.1\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 404);
  ck_assert(r.eof);
  wb_server_stop(srv);
}
END_TEST

START_TEST(server_malformed_request_line_is_400) {
  wb_server_t *srv = server_start();
  struct reply r;
  fetch(wb_server_port(srv), "GARBAGE\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 400);
  ck_assert(r.eof);
  wb_server_stop(srv);
}
END_TEST

START_TEST(server_post_is_405) {
  wb_server_t *srv = server_start();
  struct reply r;
  fetch(wb_server_port(srv), "POST /json HTTP/1.1\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 405);
  ck_assert(r.eof);
  wb_server_stop(srv);
}
END_TEST

START_TEST(server_head_over_8k_is_400_and_server_keeps_serving) {
  wb_server_t *srv = server_start();
  static char big[10000];
  struct reply r;
  int n = snprintf(big, sizeof big, "GET /json HTTP/1.1\r\nX-Pad: ");
  memset(big + n, 'a', sizeof big - (size_t)n - 5);
  memcpy(big + sizeof big - 5, "\r\n\r\n", 5);
  fetch(wb_server_port(srv), big, &r);
  ck_assert_int_eq(reply_status(&r), 400);
  fetch(wb_server_port(srv), "GET /json HTTP/1.1\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 200);
  ck_assert(r.eof);
  wb_server_stop(srv);
}
END_TEST

START_TEST(server_close_path_closes_without_response_bytes) {
  wb_server_t *srv = server_start();
  struct reply r;
  fetch(wb_server_port(srv), "GET /close HTTP/1.1\r\n\r\n", &r);
  ck_assert_uint_eq(r.len, 0);
  ck_assert_int_eq(r.err, 0);
  ck_assert(r.eof);
  wb_server_stop(srv);
}
END_TEST

START_TEST(server_drip_sends_exactly_5_body_bytes_over_several_reads) {
  wb_server_t *srv = server_start();
  struct reply r;
  fetch(wb_server_port(srv), "GET /drip/5/20 HTTP/1.1\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 200);
  ck_assert_int_eq(reply_content_length(&r), 5);
  ck_assert_str_eq(reply_body(&r), "*****");
  ck_assert_int_gt(reply_body_reads(&r), 1);
  ck_assert(r.eof);
  wb_server_stop(srv);
}
END_TEST

START_TEST(server_split_sends_the_json_document_in_pieces) {
  wb_server_t *srv = server_start();
  struct reply r;
  fetch(wb_server_port(srv), "GET /split/4 HTTP/1.1\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 200);
  ck_assert_int_eq(reply_content_length(&r), (long)strlen(reply_body(&r)));
  ck_assert_ptr_nonnull(strstr(reply_body(&r), "\"id\":7"));
  ck_assert_int_eq(reply_body(&r)[strlen(reply_body(&r)) - 1], '}');
  ck_assert_int_ge(reply_body_reads(&r), 3);
  ck_assert(r.eof);
  fetch(wb_server_port(srv), "GET /split/0 HTTP/1.1\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 400);
  wb_server_stop(srv);
}
END_TEST

START_TEST(server_head_json_sends_content_length_and_no_body) {
  wb_server_t *srv = server_start();
  struct reply get, head;
  fetch(wb_server_port(srv), "GET /json HTTP/1.1\r\n\r\n", &get);
  fetch(wb_server_port(srv), "HEAD /json HTTP/1.1\r\n\r\n", &head);
  ck_assert_int_eq(reply_status(&head), 200);
  ck_assert_int_gt(reply_content_length(&head), 0);
  ck_assert_int_eq(reply_content_length(&head),
                   (long)strlen(reply_body(&get)));
  ck_assert_uint_eq(head.len, reply_head_len(&head));
  ck_assert(head.eof);
  wb_server_stop(srv);
}
END_TEST

START_TEST(server_stop_with_open_connections_returns_promptly_and_leaks_no_fd) {
  int before = count_fds();
  wb_server_t *srv = server_start();
  int port = wb_server_port(srv);
  int silent = client_connect(port);
  int waiting = client_connect(port);
  struct reply r;
  char c;
  client_send(waiting, "GET /delay/5000 HTTP/1.1\r\n\r\n");
  fetch(port, "GET /json HTTP/1.1\r\n\r\n", &r);
  ck_assert_int_eq(reply_status(&r), 200);

  double start = now_seconds();
  wb_server_stop(srv);
  double took = now_seconds() - start;

  ck_assert_msg(took < 5., "wb_server_stop took %.1f s", took);
  ck_assert_int_eq(recv(silent, &c, 1, 0), 0);
  ck_assert_int_eq(recv(waiting, &c, 1, 0), 0);
  close(silent);
  close(waiting);
  ck_assert_int_eq(count_fds(), before);
}
END_TEST

int main(void) {
  Suite *s = suite_create("server");
  TCase *tc = tcase_create("server");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, server_answers_200_concurrent_clients_without_losing_any);
  tcase_add_test(tc,
                 server_on_callers_loop_lets_ev_run_return_when_clients_finish);
  tcase_add_test(tc, server_delay_does_not_hold_back_a_later_json_request);
  tcase_add_test(tc, server_counts_the_most_connections_open_at_once);
  tcase_add_test(tc, server_status_path_answers_404_and_503_with_that_status);
  tcase_add_test(tc, server_flaky_fails_n_times_per_key_then_answers_200);
  tcase_add_test(tc, server_unknown_path_is_404);
  tcase_add_test(tc, server_malformed_request_line_is_400);
  tcase_add_test(tc, server_post_is_405);
  tcase_add_test(tc, server_head_over_8k_is_400_and_server_keeps_serving);
  tcase_add_test(tc, server_close_path_closes_without_response_bytes);
  tcase_add_test(tc, server_drip_sends_exactly_5_body_bytes_over_several_reads);
  tcase_add_test(tc, server_split_sends_the_json_document_in_pieces);
  tcase_add_test(tc, server_head_json_sends_content_length_and_no_body);
  tcase_add_test(
      tc, server_stop_with_open_connections_returns_promptly_and_leaks_no_fd);
  suite_add_tcase(s, tc);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  curl_global_cleanup();
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
