/* status_probe.c - exercise 09.3: the status of an HTTP answer.
 * This file compiles and reports the right statuses, but it leaves things
 * behind, and after a timeout the loop does not end when it should: find
 * out why with `build/grader check 09-common-pitfalls/03-status-probe`, and
 * fix it.
 */
#include "status_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct probe {
  ev_io io;       /* the socket: writable once connected, then readable */
  ev_timer timer; /* the deadline of the whole probe */
  const char *failed; /* set when connect failed at once */
  int sent;
  size_t len;
  char buf[128];  /* the start of the answer */
  char request[256];
  status_probe_cb cb;
  void *arg;
};

/* The one way out: release everything, then call back. */
static void probe_done(struct ev_loop *loop, struct probe *p, int status,
                       const char *error) {
  ev_io_stop(loop, &p->io);
  ev_timer_stop(loop, &p->timer);
  p->cb(loop, status, error, p->arg);
  free(p);
}

static void probe_timeout(struct ev_loop *loop, ev_timer *w, int revents) {
  struct probe *p = w->data;
  (void)revents;
  if (p->failed) {
    probe_done(loop, p, 0, p->failed);
    return;
  }
  p->cb(loop, 0, "timed out", p->arg);
}

/* Reads what has come; reports once the status line is complete. */
static void probe_read(struct ev_loop *loop, struct probe *p) {
  ssize_t n = read(p->io.fd, p->buf + p->len, sizeof p->buf - 1 - p->len);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) {
    probe_done(loop, p, 0, "the connection was closed without an answer");
    return;
  }
  p->len += (size_t)n;
  p->buf[p->len] = 0;
  if (!strstr(p->buf, "\r\n") && p->len < sizeof p->buf - 1)
    return; /* the status line is not complete yet */
  int status = 0;
  if (sscanf(p->buf, "HTTP/1.%*d %3d", &status) != 1 || status < 100)
    probe_done(loop, p, 0, "the answer was not HTTP");
  else
    probe_done(loop, p, status, NULL);
}

static void probe_io(struct ev_loop *loop, ev_io *w, int revents) {
  struct probe *p = (struct probe *)w;
  (void)revents;
  if (p->sent) {
    probe_read(loop, p);
    return;
  }
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  size_t size = strlen(p->request);
  if (err || send(w->fd, p->request, size, MSG_NOSIGNAL) != (ssize_t)size) {
    probe_done(loop, p, 0, err == ECONNREFUSED ? "the connection was refused"
                                               : "the request could not be sent");
    return;
  }
  p->sent = 1;
  ev_io_stop(loop, w);
  ev_io_set(w, w->fd, EV_READ);
  ev_io_start(loop, w);
}

int status_probe(struct ev_loop *loop, int port, const char *path,
                 unsigned timeout_ms, status_probe_cb cb, void *arg) {
  if (timeout_ms == 0)
    return -1;
  struct probe *p = calloc(1, sizeof *p);
  if (!p)
    return -1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    free(p);
    return -1;
  }
  snprintf(p->request, sizeof p->request, "GET %s HTTP/1.0\r\n\r\n", path);
  p->cb = cb;
  p->arg = arg;
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((unsigned short)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  double after = timeout_ms / 1000.0;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 &&
      errno != EINPROGRESS) {
    /* Failed at once; still reported by the loop, through the timer. */
    p->failed = "the connection was refused";
    after = 0.;
  }
  ev_io_init(&p->io, probe_io, fd, EV_WRITE);
  ev_timer_init(&p->timer, probe_timeout, after, 0.);
  p->timer.data = p;
  if (!p->failed)
    ev_io_start(loop, &p->io);
  ev_timer_start(loop, &p->timer);
  return 0;
}
