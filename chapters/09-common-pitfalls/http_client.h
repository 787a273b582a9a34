/* http_client.h - what closed_client.c and pitfall_unclosed_client.c
 * share: ten fetches, each through a client of its own (one TCP connection
 * to an HTTP server, a socket and its ev_io), the local server, and the
 * measurements. The two differ only in client_done, the end of the
 * `async with` block, which each defines after including this file.
 */
#ifndef HTTP_CLIENT_H
#define HTTP_CLIENT_H

#include "wb_lag.h"
#include "wb_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NFETCH 10

struct app {
  int port, answered, errors;
};

/* client = httpx.AsyncClient(): one connection, one watcher, one buffer. */
struct client {
  ev_io io;
  int sent;
  size_t len;
  char buf[1024];
  struct app *app;
};

/* The __aexit__: stop the watcher, close the socket, free the client. */
static void client_close(struct ev_loop *loop, struct client *c) {
  ev_io_stop(loop, &c->io);
  close(c->io.fd);
  free(c);
}

/* The answer is in: the end of the `async with` block (each program that
 * includes this file writes it; that is where the two differ). */
static void client_done(struct ev_loop *loop, struct client *c);

static void client_io(struct ev_loop *loop, ev_io *w, int revents) {
  struct client *c = (struct client *)w;
  static const char req[] = "GET /json HTTP/1.0\r\n\r\n";
  (void)revents;
  if (!c->sent) { /* connected: send the request, then wait for the answer */
    c->sent = 1;
    if (send(w->fd, req, sizeof req - 1, MSG_NOSIGNAL) != sizeof req - 1) {
      c->app->errors++;
      client_close(loop, c); /* error path: closed too */
      return;
    }
    ev_io_stop(loop, w);
    ev_io_set(w, w->fd, EV_READ);
    ev_io_start(loop, w);
    return;
  }
  ssize_t n = read(w->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
  if (n < 0 && errno == EAGAIN)
    return; /* nothing after all: wait again */
  if (n > 0 && c->len + (size_t)n < sizeof c->buf - 1) {
    c->len += (size_t)n;
    return; /* more may come */
  }
  c->buf[c->len] = 0;
  if (n == 0 && strncmp(c->buf, "HTTP/1.1 200", 12) == 0)
    c->app->answered++; /* return response.json() */
  else
    c->app->errors++;
  client_done(loop, c);
}

/* async with httpx.AsyncClient() as client: await client.get(url) */
static void fetch(struct ev_loop *loop, struct app *app) {
  struct client *c = calloc(1, sizeof *c);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((unsigned short)app->port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (!c || fd < 0 ||
      (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 &&
       errno != EINPROGRESS)) {
    app->errors++;
    if (fd >= 0)
      close(fd);
    free(c);
    return;
  }
  c->app = app;
  ev_io_init(&c->io, client_io, fd, EV_WRITE);
  ev_io_start(loop, &c->io);
}

static void async_main(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)revents;
  for (int i = 0; i < NFETCH; i++)
    fetch(loop, w->data);
}

int main(int argc, char **argv) {
  wb_server_t *srv = NULL;
  struct app app = {0};
  wb_lag_t lag;
  ev_timer start;
  /* Counted before the server starts and after it stops: its side of a
   * connection may still be closing when the client's side is done. */
  int fds_before = wb_open_fds();
  if (argc > 1) {
    app.port = atoi(argv[1]);
  } else if (wb_server_start(&srv, "127.0.0.1", 0) == 0) {
    app.port = wb_server_port(srv);
  } else {
    fprintf(stderr, "%s: could not start the local server\n", argv[0]);
    return 1;
  }
  double t0 = wb_now_ms();
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  wb_lag_start(loop, &lag);
  ev_timer_init(&start, async_main, 0., 0.);
  start.data = &app;
  ev_timer_start(loop, &start);
  ev_run(loop, 0);
  wb_lag_stop(loop, &lag);
  ev_loop_destroy(loop);
  double elapsed = wb_now_ms() - t0;
  if (srv)
    wb_server_stop(srv);
  int leaked = wb_open_fds() - fds_before;
  printf("measured: leaked_fds=%d answered=%d lag_ms=%.0f elapsed_ms=%.0f "
         "errors=%d\n", leaked, app.answered, wb_lag_longest_ms(&lag), elapsed,
         app.errors);
  return 0;
}

#endif /* HTTP_CLIENT_H */
