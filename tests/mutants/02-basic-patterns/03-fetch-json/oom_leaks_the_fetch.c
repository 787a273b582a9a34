/* mutant: when an allocation fails fetch_json returns -1 having released what it had made (the struct and curl handles leak) */
/* fetch_json.c - reference solution of exercise 02.3.
 * libcurl's multi interface never waits by itself: it says which sockets it
 * wants watched and when it wants a timeout, and we do the watching with
 * libev. When the transfer is done, jansson parses the body.
 */
#include "fetch_json.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A body larger than this is refused: a fetch must not grow without bound
 * because a server sends without end. */
#define BODY_MAX (1u << 20)

/* One fetch in flight. It lives on the heap from fetch_json until cb has
 * returned, because curl's callbacks and ours need it after fetch_json's
 * own stack frame is gone. */
struct fetch {
  struct ev_loop *loop;
  CURLM *multi;   /* one per fetch, so the fetch owns all it uses */
  CURL *easy;     /* the transfer */
  ev_timer timer; /* the single timeout curl asks for */
  fetch_json_cb cb;
  void *arg;
  char *body; /* NUL-terminated as it grows */
  size_t len, cap;
  char curl_error[CURL_ERROR_SIZE]; /* filled by curl on failure */
  char error[CURL_ERROR_SIZE + 64]; /* the sentence given to cb */
};

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp) {
  struct fetch *f = userp;
  size_t n = size * nmemb;
  if (n > BODY_MAX - f->len)
    return 0; /* returning less than n makes curl fail the transfer */
  if (f->len + n + 1 > f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 1024;
    while (cap < f->len + n + 1)
      cap *= 2;
    char *body = realloc(f->body, cap);
    if (!body)
      return 0;
    f->body = body;
    f->cap = cap;
  }
  memcpy(f->body + f->len, data, n);
  f->len += n;
  f->body[f->len] = '\0';
  return n;
}

/* Releases every curl handle and the timer, then calls back and frees.
 * Releasing first means the callback sees a loop with nothing left of this
 * fetch, and may start another fetch or stop the loop as it likes.
 * curl_multi_remove_handle can still call socket_cb (CURL_POLL_REMOVE) and
 * timer_cb (-1): f must stay whole until the three calls are done. */
static void finish(struct fetch *f, json_t *json, const char *error) {
  curl_multi_remove_handle(f->multi, f->easy);
  curl_easy_cleanup(f->easy);
  curl_multi_cleanup(f->multi);
  ev_timer_stop(f->loop, &f->timer);
  f->cb(f->loop, json, error, f->arg);
  json_decref(json); /* the callback only borrowed it */
  free(f->body);
  free(f);
}

/* Turns a finished transfer into JSON or an error sentence. */
static void transfer_done(struct fetch *f, CURLcode rc) {
  long status = 0;
  json_error_t jerr;
  if (rc != CURLE_OK) {
    /* curl's buffer names the details ("after 200 milliseconds"); the
     * generic text is the fallback when it stayed empty. */
    finish(f, NULL, f->curl_error[0] ? f->curl_error : curl_easy_strerror(rc));
    return;
  }
  curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 400) {
    /* A 404 is a complete response for curl; for us it is no document. */
    snprintf(f->error, sizeof f->error, "the server answered HTTP %ld", status);
    finish(f, NULL, f->error);
    return;
  }
  json_t *json = json_loadb(f->body ? f->body : "", f->len, 0, &jerr);
  if (!json) {
    snprintf(f->error, sizeof f->error, "invalid JSON: %s (line %d)",
             jerr.text, jerr.line);
    finish(f, NULL, f->error);
    return;
  }
  finish(f, json, NULL);
}

/* After every curl_multi_socket_action: did the transfer end? */
static void check_done(struct fetch *f, CURLMcode mc) {
  CURLMsg *msg;
  int left;
  if (mc != CURLM_OK) {
    /* The multi handle itself failed (e.g. socket_cb returned -1): no
     * CURLMSG_DONE will ever come, so this is the end of the fetch. */
    finish(f, NULL, curl_multi_strerror(mc));
    return;
  }
  while ((msg = curl_multi_info_read(f->multi, &left))) {
    if (msg->msg == CURLMSG_DONE) {
      transfer_done(f, msg->data.result);
      return; /* f is freed: stop reading messages from its multi */
    }
  }
}

/* libev saw activity on a socket curl asked us to watch. */
static void on_io(struct ev_loop *loop, ev_io *w, int revents) {
  struct fetch *f = w->data;
  int running;
  int flags = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
              (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
  (void)loop;
  /* curl may free w inside this call (through socket_cb): w->fd is read
   * before the call and w is not touched after it. */
  check_done(f, curl_multi_socket_action(f->multi, w->fd, flags, &running));
}

/* curl's timeout came: it checks its deadlines and moves the transfer on. */
static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents) {
  struct fetch *f = w->data;
  int running;
  (void)loop, (void)revents;
  check_done(f, curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0,
                                         &running));
}

/* CURLMOPT_SOCKETFUNCTION: watch `fd` for `what`, or stop watching it.
 * sockp is what we stored for this socket with curl_multi_assign: its
 * ev_io, or NULL the first time curl mentions the socket. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *sockp) {
  struct fetch *f = userp;
  ev_io *io = sockp;
  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    if (io) {
      ev_io_stop(f->loop, io);
      free(io);
    }
    return 0;
  }
  if (!io) {
    io = malloc(sizeof *io);
    if (!io)
      return -1; /* curl then fails the multi handle; check_done reports it */
    curl_multi_assign(f->multi, fd, io);
  } else {
    /* The events changed (e.g. from "writable" while connecting to
     * "readable" while waiting for the answer): libev only changes a
     * stopped watcher. */
    ev_io_stop(f->loop, io);
  }
  ev_io_init(io, on_io, fd,
             (what & CURL_POLL_IN ? EV_READ : 0) |
                 (what & CURL_POLL_OUT ? EV_WRITE : 0));
  io->data = f;
  ev_io_start(f->loop, io);
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: call us back in timeout_ms (-1: never). One
 * timer per multi handle, re-armed each time curl changes its mind. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
  struct fetch *f = userp;
  (void)multi;
  ev_timer_stop(f->loop, &f->timer);
  if (timeout_ms >= 0) {
    /* Even 0 goes through the loop: curl forbids calling
     * curl_multi_socket_action from inside its own callback. */
    ev_timer_set(&f->timer, (double)timeout_ms / 1000., 0.);
    ev_timer_start(f->loop, &f->timer);
  }
  return 0;
}

int fetch_json(struct ev_loop *loop, const char *url, long timeout_ms,
               fetch_json_cb cb, void *arg) {
  struct fetch *f = calloc(1, sizeof *f);
  if (!f)
    return -1;
  f->loop = loop;
  f->cb = cb;
  f->arg = arg;
  ev_timer_init(&f->timer, on_timeout, 0., 0.);
  f->timer.data = f;
  /* The easy handle first: curl_easy_init also sets libcurl up the first
   * time, in case the program did not call curl_global_init. */
  f->easy = curl_easy_init();
  if (!f->easy)
    goto fail_easy;
  f->multi = curl_multi_init();
  if (!f->multi)
    goto fail_multi;
  curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
  curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
  if (curl_easy_setopt(f->easy, CURLOPT_URL, url) != CURLE_OK)
    goto fail_setup;
  /* Room for a typical body up front. */
  f->cap = 1024;
  f->body = malloc(f->cap);
  if (!f->body)
    return -1;
  curl_easy_setopt(f->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(f->easy, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM, ever */
  curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
  curl_easy_setopt(f->easy, CURLOPT_ERRORBUFFER, f->curl_error);
  /* No I/O happens here: curl only asks timer_cb for a 0 ms timeout, and
   * the transfer begins when the loop runs. So cb cannot run before
   * fetch_json returns. */
  if (curl_multi_add_handle(f->multi, f->easy) != CURLM_OK)
    goto fail_setup;
  return 0;

fail_setup:
  curl_multi_cleanup(f->multi);
  ev_timer_stop(loop, &f->timer); /* in case curl had asked for one */
fail_multi:
  curl_easy_cleanup(f->easy);
fail_easy:
  free(f);
  return -1;
}
