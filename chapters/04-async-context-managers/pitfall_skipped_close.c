/* pitfall_skipped_close.c - db_connection.c with the classic mistake: when
 * the query fails, the body reports the error and returns before the close.
 * Each failed query leaves its connection open: the server's own count of
 * connected clients grows by one per failure (3 of 6 sessions here).
 * Usage: pitfall_skipped_close [N] [--redis SOCKET_PATH | --redis HOST:PORT]
 * symptom: clients > 2 (a connection left open per failed query)
 */
#include "sessions.h" /* main(): N sessions, each one `async with` */

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
