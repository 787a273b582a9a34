/* mutant: before cb the fetch has released its curl handles and sockets (one shared multi handle, never cleaned up, keeps its descriptors) */
#define _POSIX_C_SOURCE 200809L
/* one shared multi handle for every fetch, made on first use */
#include "fetch_json.h"
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>

struct sock { ev_io io; curl_socket_t fd; };
struct job {
  CURL *easy;
  fetch_json_cb cb; void *arg;
  char *body; size_t len;
  char errbuf[CURL_ERROR_SIZE];
};

/* globals */
CURLM *multi;
struct ev_loop *multi_loop;
ev_timer multi_timer;
int running_jobs;

__attribute__((constructor)) static void global_setup(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

double now_ms(void) { return ev_time() * 1000.0; }

size_t on_body(char *p, size_t sz, size_t nm, void *ud) {
  struct job *j = ud;
  size_t n = sz * nm;
  char *nb = realloc(j->body, j->len + n + 1);
  if (!nb) return 0;
  memcpy(nb + j->len, p, n);
  j->len += n; nb[j->len] = 0; j->body = nb;
  return n;
}

json_t *parse_body(const char *body, size_t len, char *err, size_t errlen) {
  json_error_t je;
  json_t *doc = json_loadb(body ? body : "", len, 0, &je);
  if (!doc) snprintf(err, errlen, "invalid JSON: %s", je.text);
  return doc;
}

void fail(struct job *j, const char *why) {
  char *copy = strdup(why);
  j->cb(multi_loop, NULL, copy ? copy : why, j->arg);
  free(copy);
}

static void drop_multi_if_idle(void) {
  if (running_jobs == 0 && multi) {
    /* The multi handle stays, ready for the next fetch. */
    ev_timer_stop(multi_loop, &multi_timer);
  }
}

void cleanup(struct job *j) {
  curl_multi_remove_handle(multi, j->easy);
  curl_easy_cleanup(j->easy);
  running_jobs--;
}

void check_info(void) {
  CURLMsg *m; int left;
  while (multi && (m = curl_multi_info_read(multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    struct job *j = NULL;
    CURLcode rc = m->data.result;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
    long status = 0;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    cleanup(j);
    bool last = running_jobs == 0;
    if (last) drop_multi_if_idle();
    char msg[CURL_ERROR_SIZE + 64];
    if (rc != CURLE_OK) {
      fail(j, j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc));
    } else if (status >= 400) {
      snprintf(msg, sizeof msg, "HTTP %ld", status);
      fail(j, msg);
    } else {
      json_t *doc = parse_body(j->body, j->len, msg, sizeof msg);
      if (doc) { j->cb(multi_loop, doc, NULL, j->arg); json_decref(doc); }
      else fail(j, msg);
    }
    free(j->body); free(j);
  }
}

void on_sock(struct ev_loop *loop, ev_io *w, int revents) {
  (void)loop; int r;
  struct sock *s = (struct sock *)w;
  int fl = ((revents & EV_READ) ? CURL_CSELECT_IN : 0) | ((revents & EV_WRITE) ? CURL_CSELECT_OUT : 0);
  curl_multi_socket_action(multi, s->fd, fl, &r);
  check_info();
}

void on_timer(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop; (void)w; (void)revents; int r;
  curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &r);
  check_info();
}

int sock_cb(CURL *e, curl_socket_t fd, int what, void *up, void *sp) {
  (void)e; (void)up;
  struct sock *s = sp;
  if (what == CURL_POLL_REMOVE) {
    if (s) { ev_io_stop(multi_loop, &s->io); free(s); }
    return 0;
  }
  if (!s) {
    s = calloc(1, sizeof *s);
    if (!s) return -1;
    s->fd = fd;
    curl_multi_assign(multi, fd, s);
  } else ev_io_stop(multi_loop, &s->io);
  ev_io_init(&s->io, on_sock, fd, ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0));
  ev_io_start(multi_loop, &s->io);
  return 0;
}

int timer_cb(CURLM *m, long t, void *up) {
  (void)m; (void)up;
  ev_timer_stop(multi_loop, &multi_timer);
  if (t >= 0) { ev_timer_set(&multi_timer, t / 1000.0, 0.); ev_timer_start(multi_loop, &multi_timer); }
  return 0;
}

int fetch_json(struct ev_loop *loop, const char *url, long timeout_ms, fetch_json_cb cb, void *arg) {
  if (!multi) {
    multi = curl_multi_init();
    if (!multi) return -1;
    multi_loop = loop;
    ev_timer_init(&multi_timer, on_timer, 0., 0.);
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  }
  struct job *j = calloc(1, sizeof *j);
  if (!j) return -1;
  j->cb = cb; j->arg = arg;
  j->easy = curl_easy_init();
  if (!j->easy) { free(j); return -1; }
  curl_easy_setopt(j->easy, CURLOPT_URL, url);
  curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
  curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
  curl_easy_setopt(j->easy, CURLOPT_ERRORBUFFER, j->errbuf);
  if (curl_multi_add_handle(multi, j->easy) != CURLM_OK) { curl_easy_cleanup(j->easy); free(j); return -1; }
  running_jobs++;
  return 0;
}
