/* wb_http.c - libcurl's multi interface on libev (see wb_http.h).
 * curl decides which sockets to wait on and for how long; it tells us
 * through two callbacks, and we turn its wishes into ev_io and ev_timer
 * watchers. When a watcher fires we hand the event back to curl.
 */
#include "wb_http.h"

#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct wb_http_req {
  struct ev_loop *loop;
  CURLM *multi;    /* one per request: see wb_http_get */
  CURL *easy;      /* the transfer itself */
  ev_timer timer;  /* the one timeout curl asks for */
  wb_http_cb cb;
  void *arg;
  char *body;      /* grows as the body arrives; NUL-terminated */
  size_t len, cap;
  int too_big;     /* the body passed WB_HTTP_BODY_MAX */
  char errbuf[CURL_ERROR_SIZE]; /* curl's own sentence for a failure */
};

/* ---- Receiving the body ------------------------------------------------ */

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp) {
  struct wb_http_req *req = userp;
  size_t n = size * nmemb;
  if (n > WB_HTTP_BODY_MAX - req->len) {
    req->too_big = 1;
    return 0; /* anything short of n makes curl stop with an error */
  }
  if (req->len + n + 1 > req->cap) {
    /* Doubling keeps the number of copies logarithmic in the body size. */
    size_t cap = req->cap ? req->cap : 1024;
    while (cap < req->len + n + 1)
      cap *= 2;
    char *body = realloc(req->body, cap);
    if (!body)
      return 0;
    req->body = body;
    req->cap = cap;
  }
  memcpy(req->body + req->len, data, n);
  req->len += n;
  req->body[req->len] = '\0';
  return n;
}

/* ---- Finishing ----------------------------------------------------------- */

/* Gives every curl handle back and stops the timer. curl_multi_remove_handle
 * may still call socket_cb and timer_cb, so `req` stays whole until after. */
static void release(struct wb_http_req *req) {
  curl_multi_remove_handle(req->multi, req->easy);
  curl_easy_cleanup(req->easy);
  curl_multi_cleanup(req->multi);
  ev_timer_stop(req->loop, &req->timer);
}

/* Ends the request: releases everything first, so that the callback finds
 * the loop free of this request's watchers, then calls back and frees. */
static void finish(struct wb_http_req *req, long status, const char *error) {
  release(req);
  req->cb(req->loop, status, req->body ? req->body : "", req->len, error,
          req->arg);
  free(req->body);
  free(req);
}

/* After every curl_multi_socket_action: did the transfer end? */
static void check_done(struct wb_http_req *req, CURLMcode mc) {
  CURLMsg *msg;
  int left;
  if (mc != CURLM_OK) {
    /* The multi handle itself failed (a callback refused, out of memory):
     * no CURLMSG_DONE will come, so end the request here. */
    finish(req, 0, curl_multi_strerror(mc));
    return;
  }
  while ((msg = curl_multi_info_read(req->multi, &left))) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    long status = 0;
    CURLcode rc = msg->data.result;
    curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_OK)
      finish(req, status, NULL);
    else if (req->too_big)
      finish(req, status, "the response body is larger than WB_HTTP_BODY_MAX");
    else
      finish(req, status,
             req->errbuf[0] ? req->errbuf : curl_easy_strerror(rc));
    return; /* one transfer per multi handle: req is gone now */
  }
}

/* ---- Events from libev, handed to curl ----------------------------------- */

static void io_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct wb_http_req *req = w->data;
  int running;
  int flags = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
              (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
  (void)loop;
  /* curl may free `w` inside this call (CURL_POLL_REMOVE): it is not
   * touched afterwards. */
  check_done(req, curl_multi_socket_action(req->multi, w->fd, flags, &running));
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct wb_http_req *req = w->data;
  int running;
  (void)loop, (void)revents;
  check_done(req, curl_multi_socket_action(req->multi, CURL_SOCKET_TIMEOUT, 0,
                                           &running));
}

/* ---- What curl asks of the loop ------------------------------------------ */

/* CURLMOPT_SOCKETFUNCTION: curl wants `fd` watched for `what`, or no longer
 * watched (CURL_POLL_REMOVE). The ev_io lives as long as curl uses the
 * socket; curl_multi_assign stores it so the next call gets it as `sockp`. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *sockp) {
  struct wb_http_req *req = userp;
  ev_io *io = sockp;
  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    if (io) {
      ev_io_stop(req->loop, io);
      free(io);
    }
    return 0;
  }
  int events = (what & CURL_POLL_IN ? EV_READ : 0) |
               (what & CURL_POLL_OUT ? EV_WRITE : 0);
  if (!io) {
    io = malloc(sizeof *io);
    if (!io)
      return -1; /* curl fails the transfer; check_done reports it */
    curl_multi_assign(req->multi, fd, io);
  } else {
    ev_io_stop(req->loop, io); /* ev_io_set needs a stopped watcher */
  }
  ev_io_init(io, io_cb, fd, events);
  io->data = req;
  ev_io_start(req->loop, io);
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl wants to be called back in `timeout_ms`
 * (0: as soon as possible; -1: never). It has one timeout per multi handle,
 * so one ev_timer, re-armed each time. curl_multi_socket_action must not be
 * called from in here; the timer calls it from the loop instead. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
  struct wb_http_req *req = userp;
  (void)multi;
  ev_timer_stop(req->loop, &req->timer);
  if (timeout_ms >= 0) {
    ev_timer_set(&req->timer, (double)timeout_ms / 1000., 0.);
    ev_timer_start(req->loop, &req->timer);
  }
  return 0;
}

/* ---- Starting and cancelling -------------------------------------------- */

int wb_http_get(struct ev_loop *loop, const char *url, long timeout_ms,
                wb_http_cb cb, void *arg, wb_http_req_t **out) {
  assert(loop && url && cb && "wb_http_get: loop, url and cb are required");
  assert(timeout_ms >= 0 && "wb_http_get: timeout_ms must be >= 0");
  struct wb_http_req *req = calloc(1, sizeof *req);
  if (!req)
    return -ENOMEM;
  req->loop = loop;
  req->cb = cb;
  req->arg = arg;
  ev_timer_init(&req->timer, timeout_cb, 0., 0.);
  req->timer.data = req;
  /* A multi handle per request keeps ownership simple: the request owns
   * everything it uses and frees it when it ends, so no shared state
   * outlives it. The cost is that connections are not reused between
   * requests; a client making thousands of requests to one host would
   * share one multi handle instead. The easy handle comes first:
   * curl_easy_init also initialises libcurl when the program has not. */
  req->easy = curl_easy_init();
  if (!req->easy)
    goto fail_easy;
  req->multi = curl_multi_init();
  if (!req->multi)
    goto fail_multi;
  curl_multi_setopt(req->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt(req->multi, CURLMOPT_SOCKETDATA, req);
  curl_multi_setopt(req->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  curl_multi_setopt(req->multi, CURLMOPT_TIMERDATA, req);
  if (curl_easy_setopt(req->easy, CURLOPT_URL, url) != CURLE_OK)
    goto fail_setup; /* only when the copy of the URL ran out of memory */
  curl_easy_setopt(req->easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(req->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  /* Without it curl may use SIGALRM for name lookups: no signals here. */
  curl_easy_setopt(req->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(req->easy, CURLOPT_USERAGENT, "wb_http/1");
  curl_easy_setopt(req->easy, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(req->easy, CURLOPT_WRITEDATA, req);
  curl_easy_setopt(req->easy, CURLOPT_ERRORBUFFER, req->errbuf);
  /* Adding the handle does no I/O: curl only asks, through timer_cb, to be
   * called back at once. The transfer starts when the loop runs. */
  if (curl_multi_add_handle(req->multi, req->easy) != CURLM_OK)
    goto fail_setup;
  if (out)
    *out = req;
  return 0;

fail_setup:
  curl_multi_cleanup(req->multi);
  ev_timer_stop(loop, &req->timer); /* in case curl had asked for one */
fail_multi:
  curl_easy_cleanup(req->easy);
fail_easy:
  free(req);
  return -EIO;
}

void wb_http_cancel(wb_http_req_t *req) {
  assert(req && "wb_http_cancel: no request");
  finish(req, 0, "cancelled");
}
