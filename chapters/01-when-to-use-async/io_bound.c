/* io_bound.c - "use async for I/O-bound operations": 200 HTTP requests to
 * a server that answers each after 200 ms, all in flight at once on one
 * thread. Each request is a socket and an ev_io; while they wait the loop
 * polls, so all of them together take about one delay, not 200 of them.
 * Usage: io_bound [COUNT [DELAY_MS]]   (the workbook's server runs in a
 * child process, so that its sockets do not count against this one's)
 * expect: lag_ms < 150, elapsed_ms < 1500, in_flight > 150, errors < 1
 */
#define _DEFAULT_SOURCE /* fork, pipe, mmap's MAP_ANONYMOUS */
#include "wb_lag.h"
#include "wb_server.h"
#include "wb_trace.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_REQUESTS 220 /* a process may open 256 descriptors here */

/* One request: its socket, what is left to send, and what came back. */
struct request {
  ev_io io;
  int index;
  char out[64];
  size_t out_len, sent;
  char head[16]; /* the start of the response: "HTTP/1.1 200" */
  size_t got;
  int status;
};

static int pending, errors;

static void request_end(struct ev_loop *loop, struct request *r, int ok) {
  ev_io_stop(loop, &r->io);
  close(r->io.fd);
  if (ok && sscanf(r->head, "HTTP/%*d.%*d %d", &r->status) == 1 &&
      r->status == 200) {
    wb_trace_mark("request %d: 200 OK", r->index);
  } else {
    fprintf(stderr, "request %d failed\n", r->index);
    errors++;
  }
  pending--;
}

/* The socket is ready: send the rest of the request, or read what came.
 * Neither call can block, and each does what the socket allows now. */
static void request_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct request *r = (struct request *)w;
  if (revents & EV_WRITE) {
    ssize_t n = send(w->fd, r->out + r->sent, r->out_len - r->sent,
                     MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) {
      request_end(loop, r, 0);
      return;
    }
    if (n > 0 && (r->sent += (size_t)n) == r->out_len) {
      ev_io_stop(loop, w); /* all sent: from now on, wait for the answer */
      ev_io_set(w, w->fd, EV_READ);
      ev_io_start(loop, w);
    }
    return;
  }
  char buf[512];
  ssize_t n = recv(w->fd, buf, sizeof buf, 0);
  if (n > 0) { /* keep the first bytes (the status line); drop the rest */
    size_t keep = sizeof r->head - 1 - r->got;
    memcpy(r->head + r->got, buf, (size_t)n < keep ? (size_t)n : keep);
    r->got += (size_t)n < keep ? (size_t)n : keep;
  } else if (n == 0) {
    request_end(loop, r, 1); /* the server closes after its answer */
  } else if (errno != EAGAIN) {
    request_end(loop, r, 0);
  }
}

/* Starts one GET: a non-blocking connect, then the loop does the rest. */
static void request_start(struct ev_loop *loop, struct request *r,
                          const struct sockaddr_in *addr, int delay_ms) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || (connect(fd, (const struct sockaddr *)addr, sizeof *addr) < 0 &&
                 errno != EINPROGRESS)) {
    if (fd >= 0)
      close(fd);
    errors++;
    return;
  }
  r->out_len = (size_t)snprintf(r->out, sizeof r->out,
                                "GET /delay/%d HTTP/1.0\r\n\r\n", delay_ms);
  wb_trace_mark("request %d: sent", r->index);
  ev_io_init(&r->io, request_cb, fd, EV_WRITE); /* writable: connected */
  ev_io_start(loop, &r->io);
  pending++;
}

/* ---- The server, in a process of its own ------------------------------ */

static void server_stop_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)revents;
  ev_io_stop(loop, w); /* the parent closed its end: time to go */
}

/* Forks a process that serves until `*stop_fd` is closed. Returns its pid
 * and sets *port, or -1. `most_open` is shared memory where the server
 * keeps the most connections it had open at once. */
static pid_t server_fork(int *port, int *stop_fd, unsigned *most_open) {
  int up[2], down[2];
  if (pipe(up) < 0)
    return -1;
  if (pipe(down) < 0) {
    close(up[0]), close(up[1]);
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(up[0]), close(down[1]);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    wb_server_t *srv = NULL;
    int p = wb_server_open(&srv, loop, "127.0.0.1", 0) == 0
                ? wb_server_port(srv)
                : -1;
    if (srv)
      wb_server_most_open_into(srv, most_open);
    ssize_t n = write(up[1], &p, sizeof p);
    close(up[1]);
    ev_io stop;
    ev_io_init(&stop, server_stop_cb, down[0], EV_READ);
    ev_io_start(loop, &stop);
    if (n == (ssize_t)sizeof p && p > 0)
      ev_run(loop, 0);
    if (srv)
      wb_server_close(srv);
    _exit(0);
  }
  close(up[1]), close(down[0]);
  /* Before the loop runs, a blocking read is harmless: nothing waits. */
  if (pid < 0 || read(up[0], port, sizeof *port) != (ssize_t)sizeof *port ||
      *port <= 0) {
    close(up[0]), close(down[1]);
    if (pid > 0)
      waitpid(pid, NULL, 0);
    return -1;
  }
  close(up[0]);
  *stop_fd = down[1];
  return pid;
}

int main(int argc, char **argv) {
  int count = argc > 1 ? atoi(argv[1]) : 200;
  int delay_ms = argc > 2 ? atoi(argv[2]) : 200;
  static struct request reqs[MAX_REQUESTS];
  if (count < 1 || count > MAX_REQUESTS || delay_ms < 0) {
    fprintf(stderr, "usage: io_bound [COUNT (1-%d) [DELAY_MS]]\n",
            MAX_REQUESTS);
    return 2;
  }
  unsigned *most_open = mmap(NULL, sizeof *most_open, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  int port, stop_fd;
  pid_t server = most_open == MAP_FAILED
                     ? -1
                     : server_fork(&port, &stop_fd, most_open);
  if (server < 0) {
    fprintf(stderr, "io_bound: could not start the local server\n");
    return 1;
  }
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  wb_lag_t lag;
  double t0 = wb_now_ms();
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  wb_lag_start(loop, &lag);
  for (int i = 0; i < count; i++) { /* all of them, before any answer */
    reqs[i].index = i + 1;
    request_start(loop, &reqs[i], &addr, delay_ms);
  }
  ev_run(loop, 0); /* returns when the last socket is closed */
  wb_lag_stop(loop, &lag);
  ev_loop_destroy(loop);
  double elapsed = wb_now_ms() - t0;

  close(stop_fd); /* the server's process sees end of file and exits */
  waitpid(server, NULL, 0);
  errors += pending;
  printf("%d requests of %d ms each: %.0f ms in all, %u in flight at once\n",
         count, delay_ms, elapsed, *most_open);
  printf("measured: lag_ms=%.0f elapsed_ms=%.0f in_flight=%u open_fds=%d "
         "errors=%d\n",
         wb_lag_longest_ms(&lag), elapsed, *most_open, wb_open_fds(), errors);
  munmap(most_open, sizeof *most_open);
  return errors ? 1 : 0;
}
