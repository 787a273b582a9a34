/* pitfall_skipped_close.c - db_connection.c with the classic mistake: when
 * the query fails, the body reports the error and returns before the close.
 * Each failed query leaves its connection open: the server's own count of
 * connected clients grows by one per failure (3 of 6 sessions here).
 * Usage: pitfall_skipped_close [N] [--redis SOCKET_PATH | --redis HOST:PORT]
 * symptom: clients > 2 (a connection left open per failed query)
 */
#include "wb_lag.h"
#include "wb_redis.h"
#include "wb_trace.h"

#include <ev.h>
#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
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
 * end of the block, which closes the connection on both paths. */
static void session_result(struct db *db, const redisReply *reply,
                           const char *error, void *arg) {
  struct session *s = arg;
  if (error) {
    /* WRONG: the error path returns before the close. The connection stays
     * open: its socket, its two ev_io watchers, hiredis's context and this
     * db are never released, and the server keeps a client for it. */
    printf("session %d: query failed: %s\n", s->id, error);
    s->app->failed++;
    session_end(s);
    return;
  }
  printf("session %d: results: %zu rows\n", s->id, reply->elements);
  db_close(db, session_closed);
}

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
