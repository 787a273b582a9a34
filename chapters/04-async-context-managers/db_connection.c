/* db_connection.c - the guide's DatabaseConnection on a real database: each
 * session opens a connection to Redis (hiredis's asynchronous API on libev),
 * runs one query in its body, and closes the connection whatever the query
 * did: `async with` in C. Sessions start 20 ms apart; every second one sends
 * a query with a mistake in it, which the server refuses.
 * Usage: db_connection [N] [--redis SOCKET_PATH | --redis HOST:PORT]
 * expect: clients < 1, failed > 0, errors < 1, lag_ms < 50, elapsed_ms < 3000
 */
#include "sessions.h" /* main(): N sessions, each one `async with` */

/* After `results = await db.execute(...)`: the rest of the body, then the
 * end of the block, which closes the connection on both paths. */
static void session_result(struct db *db, const redisReply *reply,
                           const char *error, void *arg) {
  struct session *s = arg;
  if (error) {
    printf("session %d: query failed: %s\n", s->id, error);
    s->app->failed++;
  } else {
    printf("session %d: results: %zu rows\n", s->id, reply->elements);
  }
  db_close(db, session_closed); /* __aexit__ runs whatever the body did */
}
