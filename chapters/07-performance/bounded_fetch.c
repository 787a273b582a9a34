/* bounded_fetch.c - many GETs, at most LIMIT in flight: the semaphore of
 * the guide's "Limit concurrency" advice, as a counter and a queue of
 * waiters on one loop. The process may hold only 24 descriptors (as if its
 * ulimit were low); 6 requests at a time fit, so every request succeeds.
 * Usage: bounded_fetch [REQUESTS [LIMIT]]   (48 and 6 when not given)
 * expect: lag_ms < 50, elapsed_ms < 2500, errors < 1
 */
#define _DEFAULT_SOURCE
#include "child_server.h"
#include "wb_http.h"
#include "wb_lag.h"
#include "wb_trace.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#define FD_BUDGET 24 /* descriptors the process may open beyond its own */

/* ---- A semaphore for one loop ---------------------------------------------- */

/* asyncio.Semaphore(n) on one thread needs no lock: a count of free
 * places, and the callbacks waiting for one, first come first served. */
struct waiter {
  void (*cb)(void *arg);
  void *arg;
};
struct sem {
  int free;                /* places left */
  struct waiter *waiting;  /* a ring of the waiters */
  int cap, head, count;
};

/* `async with sem:` begins. The callback runs at once when a place is
 * free, or later, from sem_release, when one becomes free. */
static int sem_acquire(struct sem *s, void (*cb)(void *), void *arg) {
  if (s->free > 0) {
    s->free--;
    cb(arg);
    return 0;
  }
  if (s->count == s->cap)
    return -1; /* the ring is sized for every request: never happens */
  s->waiting[(s->head + s->count++) % s->cap] = (struct waiter){cb, arg};
  return 0;
}

/* `async with sem:` ends: the place goes to the first waiter, if any. */
static void sem_release(struct sem *s) {
  if (s->count == 0) {
    s->free++;
    return;
  }
  struct waiter w = s->waiting[s->head];
  s->head = (s->head + 1) % s->cap;
  s->count--;
  w.cb(w.arg); /* the place passes straight on: free stays as it is */
}

/* ---- The fetches ------------------------------------------------------------- */

struct app {
  struct ev_loop *loop;
  struct sem sem;
  int port, n, done, errors;
};

struct fetch {
  struct app *app;
  int index;
};

static void fetch_done(struct ev_loop *loop, long status, const char *body,
                       size_t len, const char *error, void *arg) {
  struct fetch *f = arg;
  (void)loop, (void)body, (void)len;
  if (error || status != 200) {
    f->app->errors++;
    printf("request %d: %s\n", f->index, error ? error : "bad status");
  }
  wb_trace_mark("request %d: done", f->index);
  f->app->done++;
  sem_release(&f->app->sem); /* the next waiter starts now */
}

/* The body of `async with sem: await client.get(url)`. */
static void fetch_start(void *arg) {
  struct fetch *f = arg;
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/delay/100", f->app->port);
  wb_trace_mark("request %d: start", f->index);
  if (wb_http_get(f->app->loop, url, 5000, fetch_done, f, NULL) < 0) {
    f->app->errors++;
    f->app->done++;
    sem_release(&f->app->sem);
  }
}

static void async_main(int revents, void *arg) {
  struct app *app = arg;
  static struct fetch fetches[1000];
  (void)revents;
  for (int i = 0; i < app->n; i++) {
    fetches[i] = (struct fetch){app, i};
    sem_acquire(&app->sem, fetch_start, &fetches[i]);
  }
}

int main(int argc, char **argv) {
  struct app app = {.n = argc > 1 ? atoi(argv[1]) : 48};
  int limit = argc > 2 ? atoi(argv[2]) : 6;
  pid_t server;
  wb_lag_t lag;
  if (app.n < 1 || app.n > 1000 || limit < 1) {
    fprintf(stderr, "usage: bounded_fetch [REQUESTS (1-1000) [LIMIT]]\n");
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  app.port = child_server_start(&server);
  if (app.port < 0) {
    fprintf(stderr, "bounded_fetch: could not start the server\n");
    return 1;
  }
  struct waiter ring[1000];
  app.sem = (struct sem){.free = limit, .waiting = ring, .cap = 1000};

  double t0 = wb_now_ms();
  app.loop = ev_loop_new(EVFLAG_AUTO);
  /* From here on the process may open only FD_BUDGET more descriptors. */
  struct rlimit rl = {(rlim_t)(wb_open_fds() + FD_BUDGET),
                      (rlim_t)(wb_open_fds() + FD_BUDGET)};
  setrlimit(RLIMIT_NOFILE, &rl);
  wb_lag_start(app.loop, &lag);
  ev_once(app.loop, -1, 0, 0., async_main, &app);
  ev_run(app.loop, 0);
  wb_lag_stop(app.loop, &lag);
  ev_loop_destroy(app.loop);
  double elapsed = wb_now_ms() - t0;

  child_server_stop(server);
  curl_global_cleanup();
  printf("%d requests, at most %d at once: %d failed\n", app.n, limit,
         app.errors);
  wb_measured_print(stdout, wb_lag_longest_ms(&lag), elapsed, app.errors);
  return 0;
}
