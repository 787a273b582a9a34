/* wb_server.c - the workbook's local HTTP server (see wb_server.h).
 *
 * One loop serves every connection: each connection is a small state machine
 * driven by one ev_io (read the head, then write the response) and one
 * ev_timer (idle timeout, response delay, drip pacing). Nothing blocks.
 */
#define _GNU_SOURCE
#include "wb_server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX 8192        /* request head limit: larger is a 400 */
#define OUT_MAX 1024         /* response head + small bodies */
#define DRIP_MAX 65536       /* largest dripping body */
#define DELAY_MAX_MS 60000   /* longest /delay */
#define IDLE_TIMEOUT 10.0    /* seconds a client may stay silent */
#define MAX_CONNS 2048       /* beyond this, accepting pauses */

enum conn_state { ST_READING, ST_WAITING, ST_WRITING, ST_DRIPPING };

struct conn {
  wb_server_t *srv;
  ev_io io;
  ev_timer timer;
  int fd;
  enum conn_state state;
  char in[HEAD_MAX];
  size_t in_len;
  char out[OUT_MAX]; /* response head, and the body when it is small */
  size_t out_len, out_off;
  int head_only;     /* HEAD request: no body */
  size_t drip_left;  /* body bytes still to drip */
  double drip_every; /* seconds between two dripped pieces */
  const char *drip_src; /* the body to send in pieces, or NULL for '*'s */
  size_t drip_piece;    /* bytes per piece (1 for /drip) */
  struct conn *prev, *next;
};

#define FLAKY_KEYS 64    /* distinct /flaky keys one server remembers */
#define FLAKY_KEY_MAX 32 /* the longest key, in bytes */
#define FLAKY_MAX 1000   /* the most failures a key may ask for */

struct wb_server {
  struct ev_loop *loop;
  ev_io accept_io;
  int fd, port;
  unsigned nconns;
  struct conn *conns;
  unsigned answered_own;
  unsigned *answered; /* &answered_own unless shared */
  unsigned most_open_own;
  unsigned *most_open; /* &most_open_own unless shared */
  /* /flaky/KEY/N: how many requests each KEY has had, on the loop's thread
   * only. A fixed table: a server in a test sees a handful of keys. */
  struct flaky {
    char key[FLAKY_KEY_MAX + 1];
    long seen;
  } flaky[FLAKY_KEYS];
  unsigned nflaky;
  /* Thread mode only. */
  int own_loop;
  pthread_t thread;
  ev_async stop_async;
};

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* The server's watchers must not keep a caller's loop running forever, so
 * each is unref'ed once started and ref'ed again just before it stops. */
static void io_start(struct ev_loop *loop, ev_io *w) {
  ev_io_start(loop, w);
  ev_unref(loop);
}

static void io_stop(struct ev_loop *loop, ev_io *w) {
  if (ev_is_active(w)) {
    ev_ref(loop);
    ev_io_stop(loop, w);
  }
}

static void timer_start(struct ev_loop *loop, ev_timer *w, double after) {
  if (ev_is_active(w)) {
    ev_ref(loop);
    ev_timer_stop(loop, w);
  }
  ev_timer_set(w, after, 0.);
  ev_timer_start(loop, w);
  ev_unref(loop);
}

static void timer_stop(struct ev_loop *loop, ev_timer *w) {
  if (ev_is_active(w)) {
    ev_ref(loop);
    ev_timer_stop(loop, w);
  }
}

static void conn_close(struct conn *c) {
  wb_server_t *srv = c->srv;
  io_stop(srv->loop, &c->io);
  timer_stop(srv->loop, &c->timer);
  close(c->fd);
  if (c->prev)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  /* A full server paused accepting; one free slot resumes it. */
  if (srv->nconns-- == MAX_CONNS && srv->fd >= 0)
    io_start(srv->loop, &srv->accept_io);
  free(c);
}

static const char *reason(int code) {
  switch (code) {
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return "Status";
  }
}

/* Formats the whole response into c->out and switches to writing. A body
 * that does not fit (only drips are large) is sent by conn_drip instead. */
static void conn_respond(struct conn *c, int code, const char *ctype,
                         const char *body, size_t body_len) {
  int n = snprintf(c->out, sizeof c->out,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                   code, reason(code), ctype, body_len);
  size_t len = (size_t)n;
  if (!c->head_only && body && len + body_len <= sizeof c->out) {
    memcpy(c->out + len, body, body_len);
    len += body_len;
  }
  c->out_len = len;
  c->out_off = 0;
  c->state = ST_WRITING;
  __atomic_fetch_add(c->srv->answered, 1, __ATOMIC_RELAXED);
  io_stop(c->srv->loop, &c->io);
  ev_io_set(&c->io, c->fd, EV_WRITE);
  io_start(c->srv->loop, &c->io);
  timer_start(c->srv->loop, &c->timer, IDLE_TIMEOUT);
}

static void conn_json(struct conn *c, int code, const char *fmt, long v) {
  char body[256];
  int n = snprintf(body, sizeof body, fmt, v);
  conn_respond(c, code, "application/json", body, (size_t)n);
}

/* Parses a decimal number filling all of [s, end); -1 when it is not one. */
static long parse_num(const char *s, const char *end, long max) {
  long v = 0;
  if (s == end)
    return -1;
  for (; s < end; s++) {
    if (*s < '0' || *s > '9')
      return -1;
    v = v * 10 + (*s - '0');
    if (v > max)
      return -1;
  }
  return v;
}

static const char index_text[] =
    "wb_server: the workbook's local HTTP server\n"
    "GET /json, /json/N, /delay/MS, /status/CODE, /drip/N/MS, /split/N,\n"
    "/close, /flaky/KEY/N\n";

/* /flaky/KEY/N: the first N requests for KEY (letters, digits, '-', '_')
 * are answered 503, every later one 200, each with {"attempt":K}, K counting
 * from 1: a server that fails for a while and then recovers, for clients
 * that retry. Counted per server, so each test starts afresh. */
static void conn_flaky(struct conn *c, const char *s, const char *end) {
  const char *slash = memchr(s, '/', (size_t)(end - s));
  long n = slash ? parse_num(slash + 1, end, FLAKY_MAX) : -1;
  size_t klen = slash ? (size_t)(slash - s) : 0;
  for (size_t i = 0; i < klen; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
      klen = 0;
  if (n < 0 || klen == 0 || klen > FLAKY_KEY_MAX) {
    conn_json(c, 400, "{\"error\":\"use /flaky/KEY/N, N in 0..%ld\"}",
              FLAKY_MAX);
    return;
  }
  wb_server_t *srv = c->srv;
  struct flaky *f = NULL;
  for (unsigned i = 0; i < srv->nflaky && !f; i++)
    if (strlen(srv->flaky[i].key) == klen &&
        memcmp(srv->flaky[i].key, s, klen) == 0)
      f = &srv->flaky[i];
  if (!f && srv->nflaky == FLAKY_KEYS) {
    conn_json(c, 400, "{\"error\":\"more than %ld flaky keys\"}",
              (long)FLAKY_KEYS);
    return;
  }
  if (!f) {
    f = &srv->flaky[srv->nflaky++];
    memcpy(f->key, s, klen);
    f->key[klen] = 0;
  }
  f->seen++;
  conn_json(c, f->seen <= n ? 503 : 200, "{\"attempt\":%ld}", f->seen);
}

static void conn_route(struct conn *c, const char *path, size_t len) {
  const char *end = path + len;
  const char *q = memchr(path, '?', len); /* queries are ignored */
  if (q)
    end = q;
  len = (size_t)(end - path);
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(path, lit, len) == 0)
#define PREFIX(lit) (len > sizeof(lit) - 1 && memcmp(path, lit, sizeof(lit) - 1) == 0)
  if (IS("/")) {
    conn_respond(c, 200, "text/plain", index_text, sizeof index_text - 1);
  } else if (IS("/json")) {
    conn_json(c, 200,
              "{\"id\":%ld,\"name\":\"workbook\",\"tags\":[\"async\",\"c\","
              "\"libev\"]}",
              1);
  } else if (PREFIX("/json/")) {
    long id = parse_num(path + 6, end, 1000000000L);
    if (id < 0)
      conn_json(c, 404, "{\"error\":\"no such document\",\"id\":%ld}", id);
    else
      conn_json(c, 200,
                "{\"id\":%ld,\"name\":\"workbook\",\"tags\":[\"async\","
                "\"c\",\"libev\"]}",
                id);
  } else if (PREFIX("/delay/")) {
    long ms = parse_num(path + 7, end, DELAY_MAX_MS);
    if (ms < 0) {
      conn_json(c, 400, "{\"error\":\"delay must be 0..60000 ms\",\"x\":%ld}", ms);
      return;
    }
    /* The delay is a timer on this connection: other clients go on. */
    c->state = ST_WAITING;
    c->drip_left = (size_t)ms; /* remembered for the body */
    io_stop(c->srv->loop, &c->io);
    timer_start(c->srv->loop, &c->timer, (double)ms / 1000.);
  } else if (PREFIX("/status/")) {
    long code = parse_num(path + 8, end, 599);
    if (code < 200)
      conn_json(c, 400, "{\"error\":\"status must be 200..599\",\"x\":%ld}", code);
    else
      conn_json(c, (int)code, "{\"status\":%ld}", code);
  } else if (PREFIX("/drip/")) {
    const char *slash = memchr(path + 6, '/', (size_t)(end - path - 6));
    long n = slash ? parse_num(path + 6, slash, DRIP_MAX) : -1;
    long ms = slash ? parse_num(slash + 1, end, 10000) : -1;
    if (n < 0 || ms < 0) {
      conn_json(c, 400, "{\"error\":\"use /drip/N/MS\",\"x\":%ld}", -1);
      return;
    }
    conn_respond(c, 200, "application/octet-stream", NULL, (size_t)n);
    c->drip_left = c->head_only ? 0 : (size_t)n;
    c->drip_every = (double)ms / 1000.;
    c->drip_piece = 1;
  } else if (PREFIX("/split/")) {
    /* The /json document (id 7), cut into N pieces sent 20 ms apart, so a
     * client's write callback sees it in N calls, not one. */
    static const char doc[] =
        "{\"id\":7,\"name\":\"workbook\",\"tags\":[\"async\",\"c\",\"libev\"],"
        "\"note\":\"this document arrives in several pieces\"}";
    long n = parse_num(path + 7, end, sizeof doc - 1);
    if (n < 1) {
      conn_json(c, 400, "{\"error\":\"use /split/N, N in 1..%ld\"}",
                (long)sizeof doc - 1);
      return;
    }
    conn_respond(c, 200, "application/json", NULL, sizeof doc - 1);
    c->drip_src = doc;
    c->drip_left = c->head_only ? 0 : sizeof doc - 1;
    c->drip_piece = (sizeof doc - 1 + (size_t)n - 1) / (size_t)n;
    c->drip_every = 0.02;
  } else if (PREFIX("/flaky/")) {
    conn_flaky(c, path + 7, end);
  } else if (IS("/close")) {
    __atomic_fetch_add(c->srv->answered, 1, __ATOMIC_RELAXED);
    conn_close(c);
  } else {
    conn_json(c, 404, "{\"error\":\"not found\",\"x\":%ld}", 0);
  }
#undef IS
#undef PREFIX
}

/* Called once the head is complete: checks the request line and routes. */
static void conn_request(struct conn *c) {
  char *line_end = memmem(c->in, c->in_len, "\r\n", 2);
  char *sp1 = memchr(c->in, ' ', (size_t)(line_end - c->in));
  char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1)) : NULL;
  if (!sp1 || !sp2 || sp2[1] == ' ' || sp1[1] != '/' ||
      (size_t)(line_end - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) {
    conn_json(c, 400, "{\"error\":\"malformed request line\",\"x\":%ld}", 0);
    return;
  }
  size_t mlen = (size_t)(sp1 - c->in);
  if (mlen == 4 && memcmp(c->in, "HEAD", 4) == 0)
    c->head_only = 1;
  else if (!(mlen == 3 && memcmp(c->in, "GET", 3) == 0)) {
    conn_json(c, 405, "{\"error\":\"only GET and HEAD\",\"x\":%ld}", 0);
    return;
  }
  for (char *p = c->in; p < line_end; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) {
      conn_json(c, 400, "{\"error\":\"control byte in request\",\"x\":%ld}", 0);
      return;
    }
  conn_route(c, sp1 + 1, (size_t)(sp2 - sp1 - 1));
}

static void conn_read(struct conn *c) {
  ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    conn_close(c);
    return;
  }
  if (n < 0)
    return;
  size_t from = c->in_len > 3 ? c->in_len - 3 : 0;
  c->in_len += (size_t)n;
  if (memmem(c->in + from, c->in_len - from, "\r\n\r\n", 4)) {
    conn_request(c);
  } else if (c->in_len == sizeof c->in) {
    conn_json(c, 400, "{\"error\":\"request head over %ld bytes\"}", HEAD_MAX);
  } else {
    timer_start(c->srv->loop, &c->timer, IDLE_TIMEOUT);
  }
}

static void conn_write(struct conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                     MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (n <= 0) {
      conn_close(c);
      return;
    }
    c->out_off += (size_t)n;
  }
  if (c->drip_left > 0) {
    /* Head sent: the body follows one byte per tick. */
    c->state = ST_DRIPPING;
    io_stop(c->srv->loop, &c->io);
    timer_start(c->srv->loop, &c->timer, c->drip_every);
    return;
  }
  shutdown(c->fd, SHUT_WR);
  conn_close(c);
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct conn *c = (struct conn *)((char *)w - offsetof(struct conn, io));
  (void)loop;
  if (c->state == ST_READING && (revents & EV_READ))
    conn_read(c);
  else if (c->state == ST_WRITING && (revents & EV_WRITE))
    conn_write(c);
}

static void conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct conn *c = (struct conn *)((char *)w - offsetof(struct conn, timer));
  (void)revents;
  /* Every timer here is one-shot: libev stopped it before this call, which
   * dropped the reference timer_start had given back with ev_unref. */
  ev_ref(loop);
  if (c->state == ST_WAITING) {
    c->state = ST_READING; /* conn_json switches it to writing */
    conn_json(c, 200, "{\"delay_ms\":%ld}", (long)c->drip_left);
    c->drip_left = 0;
  } else if (c->state == ST_DRIPPING) {
    size_t piece = c->drip_piece < c->drip_left ? c->drip_piece : c->drip_left;
    char stars[64];
    const char *from = stars;
    if (c->drip_src) {
      /* The bytes already sent come first in the body. */
      size_t total = strlen(c->drip_src);
      from = c->drip_src + (total - c->drip_left);
    } else {
      piece = piece < sizeof stars ? piece : sizeof stars;
      memset(stars, '*', piece);
    }
    ssize_t sent = send(c->fd, from, piece, MSG_NOSIGNAL);
    if (sent <= 0 || (c->drip_left -= (size_t)sent) == 0) {
      shutdown(c->fd, SHUT_WR);
      conn_close(c);
      return;
    }
    timer_start(c->srv->loop, &c->timer, c->drip_every);
  } else {
    conn_close(c); /* idle for too long */
  }
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents) {
  wb_server_t *srv = w->data;
  (void)loop;
  (void)revents;
  /* Bounded: at most 64 accepts per wake-up, so one burst cannot starve the
   * connections already open. */
  for (int i = 0; i < 64 && srv->nconns < MAX_CONNS; i++) {
    int fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return;
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
      close(fd);
      return;
    }
    /* Pieces of a /split or /drip body leave at once, one segment each. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->srv = srv;
    c->fd = fd;
    c->state = ST_READING;
    c->next = srv->conns;
    if (srv->conns)
      srv->conns->prev = c;
    srv->conns = c;
    ev_io_init(&c->io, conn_io_cb, fd, EV_READ);
    ev_init(&c->timer, conn_timer_cb);
    io_start(srv->loop, &c->io);
    timer_start(srv->loop, &c->timer, IDLE_TIMEOUT);
    if (++srv->nconns == MAX_CONNS)
      io_stop(srv->loop, &srv->accept_io);
    /* Only this loop writes the count; other threads and processes read. */
    if (srv->nconns > __atomic_load_n(srv->most_open, __ATOMIC_RELAXED))
      __atomic_store_n(srv->most_open, srv->nconns, __ATOMIC_RELAXED);
  }
}

int wb_server_open(wb_server_t **out, struct ev_loop *loop, const char *host,
                   int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  socklen_t salen = sizeof sa;
  int one = 1, err;
  wb_server_t *srv = calloc(1, sizeof *srv);
  if (!srv)
    return -ENOMEM;
  if (inet_pton(AF_INET, host ? host : "127.0.0.1", &sa.sin_addr) != 1) {
    err = -EINVAL;
    goto fail_alloc;
  }
  srv->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (srv->fd < 0) {
    err = -errno;
    goto fail_alloc;
  }
  setsockopt(srv->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(srv->fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
      listen(srv->fd, 1024) < 0 ||
      getsockname(srv->fd, (struct sockaddr *)&sa, &salen) < 0) {
    err = -errno;
    goto fail_socket;
  }
  srv->port = ntohs(sa.sin_port);
  srv->answered = &srv->answered_own;
  srv->most_open = &srv->most_open_own;
  srv->loop = loop;
  ev_io_init(&srv->accept_io, accept_cb, srv->fd, EV_READ);
  srv->accept_io.data = srv;
  io_start(loop, &srv->accept_io);
  *out = srv;
  return 0;

fail_socket:
  close(srv->fd);
fail_alloc:
  free(srv);
  return err;
}

void wb_server_close(wb_server_t *srv) {
  while (srv->conns)
    conn_close(srv->conns);
  io_stop(srv->loop, &srv->accept_io);
  close(srv->fd);
  srv->fd = -1;
  free(srv);
}

int wb_server_port(const wb_server_t *srv) { return srv->port; }

unsigned wb_server_answered(const wb_server_t *srv) {
  return __atomic_load_n(srv->answered, __ATOMIC_RELAXED);
}

void wb_server_count_into(wb_server_t *srv, unsigned *counter) {
  srv->answered = counter;
}

unsigned wb_server_most_open(const wb_server_t *srv) {
  return __atomic_load_n(srv->most_open, __ATOMIC_RELAXED);
}

void wb_server_most_open_into(wb_server_t *srv, unsigned *counter) {
  srv->most_open = counter;
}

/* ---- Thread mode -------------------------------------------------------- */

static void stop_cb(struct ev_loop *loop, ev_async *w, int revents) {
  (void)w;
  (void)revents;
  ev_break(loop, EVBREAK_ALL);
}

static void *server_thread(void *arg) {
  wb_server_t *srv = arg;
  /* The async watcher is the one reference that keeps this loop running
   * until wb_server_stop. */
  ev_run(srv->loop, 0);
  return NULL;
}

int wb_server_start(wb_server_t **out, const char *host, int port) {
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  wb_server_t *srv;
  if (!loop)
    return -ENOMEM;
  int err = wb_server_open(&srv, loop, host, port);
  if (err < 0) {
    ev_loop_destroy(loop);
    return err;
  }
  srv->own_loop = 1;
  ev_async_init(&srv->stop_async, stop_cb);
  ev_async_start(loop, &srv->stop_async);
  err = pthread_create(&srv->thread, NULL, server_thread, srv);
  if (err) {
    ev_async_stop(loop, &srv->stop_async);
    wb_server_close(srv);
    ev_loop_destroy(loop);
    return -err;
  }
  *out = srv;
  return 0;
}

void wb_server_stop(wb_server_t *srv) {
  struct ev_loop *loop = srv->loop;
  ev_async_send(loop, &srv->stop_async);
  pthread_join(srv->thread, NULL);
  ev_async_stop(loop, &srv->stop_async);
  wb_server_close(srv);
  ev_loop_destroy(loop);
}
