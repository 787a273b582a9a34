/* fetch_json.c - exercise 02.3: fetch JSON over HTTP without blocking.
 * Read README.md in this folder, then replace each TODO. The pieces are
 * here; what they do, and how they call each other, is yours to write.
 */
#include "fetch_json.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One fetch in flight. Add fields as you need them. */
struct fetch {
  struct ev_loop *loop;
  CURLM *multi;   /* curl's multi handle: it never waits by itself */
  CURL *easy;     /* the transfer */
  ev_timer timer; /* the one timeout curl asks for */
  fetch_json_cb cb;
  void *arg;
  char *body; /* the body so far */
  size_t len, cap;
  char error[CURL_ERROR_SIZE + 64]; /* room for an error message */
};

/* CURLOPT_WRITEFUNCTION: curl hands over the next `size * nmemb` bytes of
 * the body. */
static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp) {
  /* TODO: append the bytes to the fetch's body (keep a NUL after them) and
   *       return how many you took. */
  (void)data, (void)size, (void)nmemb, (void)userp;
  return 0;
}

/* libev saw activity on a socket that curl asked us to watch. */
static void on_io(struct ev_loop *loop, ev_io *w, int revents) {
  /* TODO: tell curl (curl_multi_socket_action with the socket and
   *       CURL_CSELECT_IN / CURL_CSELECT_OUT), then see whether the
   *       transfer is done (curl_multi_info_read). */
  (void)loop, (void)w, (void)revents;
}

/* The timer that curl asked for has expired. */
static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents) {
  /* TODO: tell curl (curl_multi_socket_action with CURL_SOCKET_TIMEOUT),
   *       then see whether the transfer is done. */
  (void)loop, (void)w, (void)revents;
}

/* CURLMOPT_SOCKETFUNCTION: curl wants `fd` watched for `what`
 * (CURL_POLL_IN, CURL_POLL_OUT, CURL_POLL_INOUT), or no longer
 * (CURL_POLL_REMOVE). `sockp` is what you stored for this socket with
 * curl_multi_assign, NULL the first time. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *sockp) {
  /* TODO: start, change or stop (and free) an ev_io for fd. */
  (void)easy, (void)fd, (void)what, (void)userp, (void)sockp;
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl wants to be called back in `timeout_ms`
 * milliseconds (-1: not at all). */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
  /* TODO: re-arm (or stop) the fetch's ev_timer. Do not call
   *       curl_multi_socket_action from here. */
  (void)multi, (void)timeout_ms, (void)userp;
  return 0;
}

int fetch_json(struct ev_loop *loop, const char *url, long timeout_ms,
               fetch_json_cb cb, void *arg) {
  /* TODO: allocate a struct fetch; create the easy and multi handles; set
   *       the multi handle's socket and timer callbacks (and their data);
   *       set the easy handle's URL, timeout, write callback; add the easy
   *       handle to the multi handle. Return -1 if any step fails, after
   *       undoing the steps before it. */
  /* TODO: when the transfer is done: read the status and the body, parse
   *       it (json_loadb), release the curl handles and the timer, call
   *       cb, then free what is left. */
  (void)loop, (void)url, (void)timeout_ms, (void)cb, (void)arg;
  (void)write_cb, (void)on_io, (void)on_timeout, (void)socket_cb,
      (void)timer_cb; /* remove this line once you use them */
  return -1;
}
