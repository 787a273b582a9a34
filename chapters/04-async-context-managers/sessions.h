/* sessions.h - the program around the sessions that db_connection.c and
 * pitfall_skipped_close.c share: `async def main()` starting N sessions of
 * `async with DatabaseConnection(...) as db` 20 ms apart, each sending one
 * query, and the measurements. The two differ only in the end of the
 * block, session_result, which each defines after including this file.
 * Every second query has a mistake in it, which the server refuses.
 */
#ifndef SESSIONS_H
#define SESSIONS_H

#include "wb_lag.h"
#include "wb_redis.h"
#include "wb_trace.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h" /* class DatabaseConnection: open, execute, close */

/* ---- async def main(): N sessions of async with ---------------------------- */

struct app {
  struct ev_loop *loop;
  const char *address;
  int n, finished, failed, errors;
};

struct session {
  ev_timer start; /* when this session begins */
  int id;
  struct app *app;
};

static void session_end(struct session *s) {
  struct app *app = s->app;
  /* Every session is over: a correct program has nothing left and its
   * ev_run would return anyway; a leaky one is stopped so it can be
   * measured. */
  if (++app->finished == app->n)
    ev_break(app->loop, EVBREAK_ALL);
}

/* After `async with ... as db:` has left its block. */
static void session_closed(void *arg) {
  struct session *s = arg;
  printf("session %d: closed\n", s->id);
  wb_trace_mark("session %d: closed", s->id);
  session_end(s);
}

/* After `results = await db.execute(...)`: the rest of the body, then the
 * end of the block (each program that includes this file writes it). */
static void session_result(struct db *db, const redisReply *reply,
                           const char *error, void *arg);

/* After `async with DatabaseConnection(...) as db` has entered: the body. */
static void session_opened(struct db *db, const char *error, void *arg) {
  struct session *s = arg;
  if (!db) {
    printf("session %d: could not connect: %s\n", s->id, error);
    s->app->errors++;
    session_end(s);
    return;
  }
  wb_trace_mark("session %d: connected", s->id);
  /* Every second query has a mistake (an extra argument): Redis refuses it. */
  db_execute(db, s->id % 2 ? "SMEMBERS users extra" : "SMEMBERS users",
             session_result);
}

static void session_start(struct ev_loop *loop, ev_timer *w, int revents) {
  struct session *s = (struct session *)w;
  (void)revents;
  wb_trace_mark("session %d: connecting", s->id);
  if (db_open(loop, s->app->address, session_opened, s) < 0) {
    printf("session %d: could not start connecting\n", s->id);
    s->app->errors++;
    session_end(s);
  }
}

int main(int argc, char **argv) {
  wb_redis_t own = {0};
  struct app app = {.n = 6};
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--redis"))
      i++;
    else
      app.n = atoi(argv[i]);
  if (app.n < 1 || app.n > 1000 ||
      !(app.address = wb_redis_address(argc, argv, &own)))
    return 2;
  struct session *sessions = calloc((size_t)app.n, sizeof *sessions);
  if (!sessions)
    return 2;

  wb_lag_t lag;
  double t0 = wb_now_ms();
  app.loop = ev_loop_new(EVFLAG_AUTO);
  wb_lag_start(app.loop, &lag);
  for (int i = 0; i < app.n; i++) {
    sessions[i] = (struct session){.id = i, .app = &app};
    ev_timer_init(&sessions[i].start, session_start, i * 0.020, 0.);
    ev_timer_start(app.loop, &sessions[i].start);
  }
  ev_run(app.loop, 0);
  wb_lag_stop(app.loop, &lag);
  double elapsed = wb_now_ms() - t0;
  /* The server's own count of clients, asked over a connection of its own. */
  int clients = wb_redis_client_count(app.address);
  ev_loop_destroy(app.loop);
  printf("measured: lag_ms=%.0f elapsed_ms=%.0f open_fds=%d errors=%d "
         "failed=%d clients=%d\n",
         wb_lag_longest_ms(&lag), elapsed, wb_open_fds(), app.errors,
         app.failed, clients);
  free(sessions);
  wb_redis_stop(&own);
  return app.errors ? 1 : 0;
}

#endif /* SESSIONS_H */
