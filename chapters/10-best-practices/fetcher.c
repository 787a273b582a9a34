/* fetcher.c - the capstone: a concurrent HTTP fetcher that a person would
 * use. At most N requests at once on one libcurl multi handle, a timeout
 * per attempt and a deadline for the whole run, retries with exponential
 * backoff and jitter (5xx and dropped connections, never 4xx), an error per
 * URL, and a clean stop on Ctrl-C (exit 130, partial results). It prints a
 * JSON summary, and works against any HTTP server.
 * Usage: fetcher [--concurrency N] [--timeout MS] [--retries N]
 *                [--deadline MS] [--backoff MS] [--file F | -] [URL|/PATH]...
 * (a /PATH is fetched from the workbook's server, started in the program;
 * with no URL at all it runs a demonstration against that server)
 * expect: lag_ms < 50, elapsed_ms < 9000, errors < 1, requests < 25
 */
#define _POSIX_C_SOURCE 200809L
#include "wb_lag.h"
#include "wb_server.h"
#include "wb_trace.h"

#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A failed URL is not a failed run: it is in the summary ("failed"). */
enum { EXIT_RAN = 0, EXIT_TROUBLE = 1, EXIT_USAGE = 2, EXIT_SIGINT = 130 };

struct options {
  long concurrency; /* requests in flight at most */
  long timeout_ms;  /* per attempt */
  long retries;     /* attempts after the first, at most */
  long deadline_ms; /* for the whole run; 0: none */
  long backoff_ms;  /* the first retry's delay, before jitter */
};

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_BACKOFF, JOB_DONE };

/* One URL: its attempts so far and its outcome. */
struct job {
  char *url;
  enum job_state state;
  int attempts;
  CURL *easy;     /* while an attempt runs */
  ev_timer retry; /* while it waits to try again */
  long status;    /* the last HTTP status, 0 when none came */
  size_t bytes;
  char error[CURL_ERROR_SIZE]; /* "" when it succeeded */
  struct fetcher *f;
};

/* A socket curl asked us to watch, on a list so that none outlives the run. */
struct sock {
  ev_io io;
  struct sock *prev, *next;
};

struct fetcher {
  struct ev_loop *loop;
  CURLM *multi;            /* one for every transfer */
  ev_timer curl_timer;     /* the one timeout curl asks for */
  long timer_wish;         /* curl's last wish for it, in ms (-1: none) */
  int timer_changed;       /* a wish not applied yet */
  ev_timer deadline;       /* the whole run's */
  ev_signal sigint;        /* Ctrl-C */
  struct options opt;
  struct job *jobs;
  int njobs, next, active, done;
  const char *stopped;     /* why new work stopped, or NULL */
  struct sock *socks;
  uint64_t rng;
};

static void job_attempt(struct job *j);
static void client_timer_sync(struct fetcher *f);

/* The path of a URL, to name its row on the timeline. */
static const char *path_of(const char *url) {
  const char *host = strstr(url, "://");
  const char *path = host ? strchr(host + 3, '/') : NULL;
  return path ? path : url;
}

/* ---- The retry policy ---------------------------------------------------- */

/* Retry what may work a moment later: a connection refused, dropped or
 * timed out, or a 5xx answer. A 4xx is the request's own fault: asking
 * again gets the same answer, so it is never retried. */
static int should_retry(CURLcode rc, long status) {
  switch (rc) {
  case CURLE_OK:
    return status >= 500 && status <= 599;
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_GOT_NOTHING:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_PARTIAL_FILE:
    return 1;
  default:
    return 0; /* a bad URL, an unknown host: the same next time */
  }
}

/* xorshift64*: jitter needs no more than a fast, seeded generator. */
static double random_unit(struct fetcher *f) {
  f->rng ^= f->rng >> 12, f->rng ^= f->rng << 25, f->rng ^= f->rng >> 27;
  return (double)((f->rng * 2685821657736338717ull) >> 11) / 9007199254740992.;
}

/* The delay before attempt `attempts + 1`, in seconds: the base doubled
 * for each attempt made, capped at 10 s, then a random point of its upper
 * half ("equal jitter"), so that clients failing together do not all come
 * back together. */
static double backoff_delay(struct fetcher *f, int attempts) {
  double d = (double)f->opt.backoff_ms;
  for (int i = 1; i < attempts && d < 10000.; i++)
    d *= 2.;
  if (d > 10000.)
    d = 10000.;
  return (d / 2. + d / 2. * random_unit(f)) / 1000.;
}

/* ---- The scheduler ------------------------------------------------------- */

/* Start queued jobs while a place is free (the semaphore of chapter 07):
 * a job keeps its place until it is done, its retries included. */
static void fill(struct fetcher *f) {
  while (!f->stopped && f->active < f->opt.concurrency && f->next < f->njobs) {
    struct job *j = &f->jobs[f->next++];
    f->active++;
    job_attempt(j);
  }
}

/* Every job is done: leave the loop (curl may still watch a connection it
 * keeps for reuse; main cleans it up after ev_run). */
static void all_done(struct fetcher *f) {
  ev_timer_stop(f->loop, &f->deadline);
  ev_signal_stop(f->loop, &f->sigint);
  ev_break(f->loop, EVBREAK_ALL);
}

static void job_finish(struct job *j, const char *error) {
  struct fetcher *f = j->f;
  if (error && !j->error[0])
    snprintf(j->error, sizeof j->error, "%s", error);
  if (j->state != JOB_QUEUED)
    f->active--;
  j->state = JOB_DONE;
  wb_trace_mark("%s: %s", path_of(j->url), j->error[0] ? "failed" : "ok");
  f->done++;
  fill(f);
  if (f->done == f->njobs)
    all_done(f);
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp) {
  struct job *j = userp;
  (void)data;
  j->bytes += size * nmemb; /* counted, not kept: the summary needs no more */
  return size * nmemb;
}

/* One attempt of `j`: a transfer added to the shared multi handle. No I/O
 * happens here; the loop drives it. */
static void job_attempt(struct job *j) {
  struct fetcher *f = j->f;
  j->attempts++;
  j->error[0] = '\0';
  j->bytes = 0;
  wb_trace_mark("%s: attempt %d", path_of(j->url), j->attempts);
  if (!(j->easy = curl_easy_init())) {
    job_finish(j, "out of memory");
    return;
  }
  curl_easy_setopt(j->easy, CURLOPT_URL, j->url);
  curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
  curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, f->opt.timeout_ms);
  curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(j->easy, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(j->easy, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
  curl_easy_setopt(j->easy, CURLOPT_ERRORBUFFER, j->error);
  if (curl_multi_add_handle(f->multi, j->easy) != CURLM_OK) {
    curl_easy_cleanup(j->easy);
    j->easy = NULL;
    job_finish(j, "curl refused the transfer");
    return;
  }
  j->state = JOB_RUNNING;
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct job *j = w->data;
  (void)loop, (void)revents;
  job_attempt(j);
  client_timer_sync(j->f);
}

/* An attempt ended: done, or wait and try again. */
static void attempt_done(struct job *j, CURLcode rc) {
  struct fetcher *f = j->f;
  curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &j->status);
  curl_multi_remove_handle(f->multi, j->easy);
  curl_easy_cleanup(j->easy);
  j->easy = NULL;
  if (rc == CURLE_OK && j->status >= 200 && j->status <= 299) {
    job_finish(j, NULL);
    return;
  }
  if (rc == CURLE_OK)
    snprintf(j->error, sizeof j->error, "HTTP %ld", j->status);
  else if (!j->error[0])
    snprintf(j->error, sizeof j->error, "%s", curl_easy_strerror(rc));
  if (!should_retry(rc, j->status) || j->attempts > f->opt.retries) {
    job_finish(j, NULL);
    return;
  }
  double delay = backoff_delay(f, j->attempts);
  wb_trace_mark("%s: retry in %.0f ms", path_of(j->url), delay * 1000.);
  j->state = JOB_BACKOFF;
  ev_timer_init(&j->retry, retry_cb, delay, 0.);
  j->retry.data = j;
  ev_timer_start(f->loop, &j->retry);
}

/* ---- Stopping early: Ctrl-C or the deadline ------------------------------ */

/* No new work; every job not done ends now with `why`, what it had so far
 * kept (its attempts, its last error). */
static void stop_all(struct fetcher *f, const char *why) {
  char error[CURL_ERROR_SIZE];
  f->stopped = why;
  ev_timer_stop(f->loop, &f->deadline);
  ev_signal_stop(f->loop, &f->sigint);
  for (int i = 0; i < f->njobs && f->done < f->njobs; i++) {
    struct job *j = &f->jobs[i];
    if (j->state == JOB_DONE)
      continue;
    if (j->state == JOB_RUNNING) {
      curl_multi_remove_handle(f->multi, j->easy); /* cancel in flight */
      curl_easy_cleanup(j->easy);
      j->easy = NULL;
    } else if (j->state == JOB_BACKOFF) {
      ev_timer_stop(f->loop, &j->retry);
    }
    snprintf(error, sizeof error, "%s: %s%s%s",
             j->state == JOB_QUEUED ? "not started" : "cancelled", why,
             j->error[0] ? "; last error: " : "", j->error);
    j->error[0] = '\0';
    job_finish(j, error);
  }
}

static void sigint_cb(struct ev_loop *loop, ev_signal *w, int revents) {
  (void)loop, (void)revents;
  stop_all(w->data, "interrupted");
  client_timer_sync(w->data);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)revents;
  stop_all(w->data, "deadline exceeded");
  client_timer_sync(w->data);
}

/* ---- libcurl on libev: the glue of chapters 02 and 03 -------------------- */

static void check_done(struct fetcher *f) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(f->multi, &left))) {
    if (msg->msg == CURLMSG_DONE) {
      struct job *j;
      CURLcode rc = msg->data.result; /* msg is gone after remove_handle */
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
      attempt_done(j, rc);
    }
  }
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct fetcher *f = w->data;
  int running;
  (void)loop;
  curl_multi_socket_action(f->multi, w->fd,
                           (revents & EV_READ ? CURL_CSELECT_IN : 0) |
                               (revents & EV_WRITE ? CURL_CSELECT_OUT : 0),
                           &running);
  check_done(f); /* `w` may be freed by now */
  client_timer_sync(f);
}

static void curl_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct fetcher *f = w->data;
  int running;
  (void)loop, (void)revents;
  curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(f);
  client_timer_sync(f);
}

static void sock_free(struct fetcher *f, struct sock *s) {
  ev_io_stop(f->loop, &s->io);
  if (s->prev)
    s->prev->next = s->next;
  else
    f->socks = s->next;
  if (s->next)
    s->next->prev = s->prev;
  free(s);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *sockp) {
  struct fetcher *f = userp;
  struct sock *s = sockp;
  if (what == CURL_POLL_REMOVE) {
    if (s)
      sock_free(f, s);
    return 0;
  }
  if (!s) {
    struct job *j;
    if (!(s = calloc(1, sizeof *s)))
      return -1;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&j);
    wb_trace_mark("%s: socket", path_of(j->url)); /* the timeline's row */
    s->next = f->socks;
    if (f->socks)
      f->socks->prev = s;
    f->socks = s;
    curl_multi_assign(f->multi, fd, s);
  } else {
    ev_io_stop(f->loop, &s->io);
  }
  ev_io_init(&s->io, io_cb, fd,
             (what & CURL_POLL_IN ? EV_READ : 0) |
                 (what & CURL_POLL_OUT ? EV_WRITE : 0));
  s->io.data = f;
  ev_io_start(f->loop, &s->io);
  return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl may change its mind several times inside
 * one call; its last wish is applied once, when our callback ends
 * (client_timer_sync), which also draws the client's timer on a row of its
 * own on the timeline. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
  struct fetcher *f = userp;
  (void)multi;
  f->timer_wish = timeout_ms;
  f->timer_changed = 1;
  return 0;
}

static void client_timer_sync(struct fetcher *f) {
  if (!f->timer_changed)
    return;
  f->timer_changed = 0;
  ev_timer_stop(f->loop, &f->curl_timer);
  if (f->timer_wish >= 0) {
    wb_trace_mark("client: timeout in %ld ms", f->timer_wish);
    ev_timer_set(&f->curl_timer, (double)f->timer_wish / 1000., 0.);
    ev_timer_start(f->loop, &f->curl_timer);
  }
}

/* ---- The run ------------------------------------------------------------- */

static void run_start(int revents, void *arg) {
  struct fetcher *f = arg;
  (void)revents;
  if (f->njobs == 0) {
    all_done(f);
    return;
  }
  fill(f);
  client_timer_sync(f);
}

/* Fetches every job's URL on `loop`; returns when all are done. */
static int fetcher_run(struct fetcher *f) {
  if (!(f->multi = curl_multi_init()))
    return -1;
  curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
  curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
  ev_timer_init(&f->curl_timer, curl_timer_cb, 0., 0.);
  f->curl_timer.data = f;
  ev_signal_init(&f->sigint, sigint_cb, SIGINT);
  f->sigint.data = f;
  ev_signal_start(f->loop, &f->sigint);
  ev_timer_init(&f->deadline, deadline_cb, (double)f->opt.deadline_ms / 1000.,
                0.);
  f->deadline.data = f;
  if (f->opt.deadline_ms > 0)
    ev_timer_start(f->loop, &f->deadline);
  ev_once(f->loop, -1, 0, 0., run_start, f);
  ev_run(f->loop, 0);
  /* Leaving the client: curl closes the connections it kept, and any
   * socket it still had us watch is let go. */
  curl_multi_cleanup(f->multi);
  f->multi = NULL;
  ev_timer_stop(f->loop, &f->curl_timer);
  while (f->socks)
    sock_free(f, f->socks);
  return 0;
}

/* ---- The summary --------------------------------------------------------- */

static json_t *summary(const struct fetcher *f, double elapsed_ms) {
  json_t *results = json_array();
  int ok = 0;
  for (int i = 0; i < f->njobs; i++) {
    const struct job *j = &f->jobs[i];
    ok += !j->error[0];
    json_array_append_new(
        results,
        json_pack("{s:s, s:b, s:o, s:i, s:I, s:o}", "url", j->url, "ok",
                  !j->error[0], "status",
                  j->status ? json_integer(j->status) : json_null(),
                  "attempts", j->attempts, "bytes", (json_int_t)j->bytes,
                  "error", j->error[0] ? json_string(j->error) : json_null()));
  }
  return json_pack("{s:i, s:i, s:i, s:b, s:b, s:I, s:o}", "urls", f->njobs,
                   "ok", ok, "failed", f->njobs - ok, "interrupted",
                   f->stopped && !strcmp(f->stopped, "interrupted"),
                   "deadline_exceeded",
                   f->stopped && !strcmp(f->stopped, "deadline exceeded"),
                   "elapsed_ms", (json_int_t)elapsed_ms, "results", results);
}

/* ---- The command line ---------------------------------------------------- */

/* The demonstration: one URL of each kind, against the workbook's server,
 * with what each must come to (ok or not, in how many attempts) when the
 * options are the demonstration's: 3 at once, 500 ms, 3 retries. */
static const struct {
  const char *path;
  int ok, attempts;
} demo[] = {
    {"/json/1", 1, 1},     {"/delay/100", 1, 1}, {"/flaky/demo/2", 1, 3},
    {"/status/404", 0, 1}, {"/status/503", 0, 4}, {"/close", 0, 4},
    {"/delay/5000", 0, 4},
};
#define NDEMO (int)(sizeof demo / sizeof demo[0])

static void usage(void) {
  fprintf(stderr,
          "usage: fetcher [--concurrency N] [--timeout MS] [--retries N]\n"
          "               [--deadline MS] [--backoff MS] [--file F | -]\n"
          "               [URL | /PATH]...\n");
}

static int add_url(struct fetcher *f, const char *url, int port) {
  struct job *jobs = realloc(f->jobs, (size_t)(f->njobs + 1) * sizeof *jobs);
  if (!jobs)
    return -1;
  f->jobs = jobs;
  struct job *j = &jobs[f->njobs];
  *j = (struct job){.state = JOB_QUEUED, .f = f};
  size_t n = strlen(url) + 40;
  if (!(j->url = malloc(n)))
    return -1;
  if (url[0] == '/')
    snprintf(j->url, n, "http://127.0.0.1:%d%s", port, url);
  else
    snprintf(j->url, n, "%s", url);
  f->njobs++;
  return 0;
}

/* One URL a line; blank lines and lines starting with '#' are skipped. */
static int read_urls(struct fetcher *f, const char *path, int port) {
  FILE *in = strcmp(path, "-") ? fopen(path, "r") : stdin;
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int rc = 0;
  if (!in)
    return -1;
  while (rc == 0 && (len = getline(&line, &cap, in)) >= 0) {
    char *s = line;
    while (*s == ' ' || *s == '\t')
      s++;
    while (len > 0 && strchr(" \t\r\n", line[len - 1]))
      line[--len] = '\0';
    if (*s && *s != '#')
      rc = add_url(f, s, port);
  }
  free(line);
  if (in != stdin)
    fclose(in);
  return rc;
}

/* An option and its value: each has its bounds and its field. */
static int parse_option(struct fetcher *f, const char *name, const char *val) {
  static const struct {
    const char *name;
    long lo, hi;
    size_t at;
  } table[] = {
      {"--concurrency", 1, 1000, offsetof(struct options, concurrency)},
      {"--timeout", 1, 3600000, offsetof(struct options, timeout_ms)},
      {"--retries", 0, 20, offsetof(struct options, retries)},
      {"--deadline", 0, 86400000, offsetof(struct options, deadline_ms)},
      {"--backoff", 1, 3600000, offsetof(struct options, backoff_ms)},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    if (strcmp(name, table[i].name))
      continue;
    char *end;
    long v = strtol(val, &end, 10);
    if (!*val || *end || v < table[i].lo || v > table[i].hi)
      return -1;
    *(long *)(void *)((char *)&f->opt + table[i].at) = v;
    return 0;
  }
  return -1;
}

int main(int argc, char **argv) {
  struct fetcher f = {.opt = {.concurrency = 4, .timeout_ms = 10000,
                              .retries = 3, .backoff_ms = 100}};
  wb_server_t *srv = NULL;
  int port = 0, local = 0, demo_run = argc == 1;
  /* First the options, and whether a /PATH needs the local server. */
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '/')
      local = 1;
    if (argv[i][0] != '-' || !strcmp(argv[i], "-"))
      continue;
    if (i + 1 == argc ||
        (strcmp(argv[i], "--file") && parse_option(&f, argv[i], argv[i + 1]))) {
      usage();
      return EXIT_USAGE;
    }
    i++;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread */
  if (demo_run || local) {
    if (wb_server_start(&srv, "127.0.0.1", 0) != 0) {
      fprintf(stderr, "fetcher: could not start the local server\n");
      return EXIT_TROUBLE;
    }
    port = wb_server_port(srv);
  }
  if (demo_run) {
    f.opt = (struct options){.concurrency = 3, .timeout_ms = 500,
                             .retries = 3, .deadline_ms = 8000,
                             .backoff_ms = 100};
    for (int i = 0; i < NDEMO; i++)
      if (add_url(&f, demo[i].path, port) < 0)
        return EXIT_TROUBLE;
  }
  /* Then the URLs, in the order given: arguments, files, "-" for stdin. */
  for (int i = 1; i < argc; i++) {
    int rc = 0;
    if (!strcmp(argv[i], "--file"))
      rc = read_urls(&f, argv[++i], port);
    else if (!strcmp(argv[i], "-"))
      rc = read_urls(&f, "-", port);
    else if (argv[i][0] == '-')
      i++; /* an option and its value */
    else
      rc = add_url(&f, argv[i], port);
    if (rc < 0) {
      fprintf(stderr, "fetcher: cannot read %s\n", argv[i]);
      return EXIT_USAGE;
    }
  }

  wb_lag_t lag;
  double t0 = wb_now_ms();
  f.loop = EV_DEFAULT; /* the loop that may watch signals */
  f.rng = ((uint64_t)t0 * 2654435761u ^ (uint64_t)getpid()) | 1;
  wb_lag_start(f.loop, &lag);
  if (fetcher_run(&f) < 0) {
    fprintf(stderr, "fetcher: curl_multi_init failed\n");
    return EXIT_TROUBLE;
  }
  wb_lag_stop(f.loop, &lag);
  double elapsed = wb_now_ms() - t0;

  json_t *sum = summary(&f, elapsed);
  json_dumpf(sum, stdout, JSON_INDENT(2));
  printf("\n");
  int failed = (int)json_integer_value(json_object_get(sum, "failed"));
  json_decref(sum);
  int mismatches = 0;
  for (int i = 0; demo_run && i < NDEMO; i++)
    if ((f.jobs[i].error[0] == 0) != demo[i].ok ||
        f.jobs[i].attempts != demo[i].attempts) {
      fprintf(stderr, "fetcher: %s: expected %s in %d attempts\n", demo[i].path,
              demo[i].ok ? "success" : "failure", demo[i].attempts);
      mismatches++;
    }
  int interrupted = f.stopped && !strcmp(f.stopped, "interrupted");
  for (int i = 0; i < f.njobs; i++)
    free(f.jobs[i].url);
  free(f.jobs);
  ev_loop_destroy(f.loop);
  if (srv) { /* the workbook's line of measurements, and the requests the
              * server answered: the retries' cost */
    unsigned requests = wb_server_answered(srv);
    wb_server_stop(srv);
    printf("measured: lag_ms=%.0f elapsed_ms=%.0f open_fds=%d errors=%d "
           "requests=%u\n",
           wb_lag_longest_ms(&lag), elapsed, wb_open_fds(),
           demo_run ? mismatches : failed, requests);
  }
  curl_global_cleanup();
  if (demo_run)
    return mismatches ? EXIT_TROUBLE : EXIT_RAN;
  return interrupted ? EXIT_SIGINT : EXIT_RAN;
}
