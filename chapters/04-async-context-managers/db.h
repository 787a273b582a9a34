/* db.h - the guide's DatabaseConnection class, shared by db_connection.c
 * and pitfall_skipped_close.c: an asynchronous open (__aenter__), a query,
 * and a close (__aexit__), on hiredis's asynchronous API and its libev
 * adapter. Each program includes it once.
 */
#ifndef DB_H
#define DB_H

#include <ev.h>
#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <stdlib.h>
#include <string.h>

/* ---- class DatabaseConnection --------------------------------------------- */

struct db;
/* __aenter__ finished: db is open, or NULL with the reason why not. */
typedef void (*db_open_cb)(struct db *db, const char *error, void *arg);
/* execute finished: the reply, or NULL with the error. */
typedef void (*db_reply_cb)(struct db *db, const redisReply *reply,
                            const char *error, void *arg);
/* __aexit__ finished: the connection is closed and db is gone. */
typedef void (*db_closed_cb)(void *arg);

struct db {
  redisAsyncContext *ac;
  db_open_cb opened;
  db_reply_cb replied;
  db_closed_cb closed;
  void *arg;
};

/* The continuation of __aenter__: the first write event says whether the
 * connection was made. On failure hiredis frees the context after this. */
static void db_connected(const redisAsyncContext *ac, int status) {
  struct db *db = ac->data;
  if (status != REDIS_OK) {
    db->opened(NULL, ac->errstr, db->arg);
    free(db);
    return;
  }
  db->opened(db, NULL, db->arg); /* the body of the async with runs now */
}

/* The continuation of __aexit__: hiredis calls it once the connection is
 * closed, and frees the context right after. */
static void db_disconnected(const redisAsyncContext *ac, int status) {
  struct db *db = ac->data;
  (void)status;
  db->closed(db->arg);
  free(db);
}

/* async def __aenter__: start connecting and return; `opened` comes later,
 * from the loop. -1 when the connection cannot even be started. */
static int db_open(struct ev_loop *loop, const char *address, db_open_cb opened,
                   void *arg) {
  char host[108];
  int port;
  if (wb_redis_parse(address, host, sizeof host, &port) < 0)
    return -1;
  struct db *db = calloc(1, sizeof *db);
  if (!db)
    return -1;
  db->ac = port ? redisAsyncConnect(host, port) : redisAsyncConnectUnix(host);
  if (!db->ac || db->ac->err) {
    if (db->ac)
      redisAsyncFree(db->ac); /* a context that failed at once: never attached */
    free(db);
    return -1;
  }
  db->opened = opened;
  db->arg = arg;
  db->ac->data = db;
  redisLibevAttach(loop, db->ac); /* its socket becomes two ev_io watchers */
  redisAsyncSetConnectCallback(db->ac, db_connected);
  redisAsyncSetDisconnectCallback(db->ac, db_disconnected);
  return 0;
}

static void db_reply(redisAsyncContext *ac, void *r, void *privdata) {
  struct db *db = privdata;
  const redisReply *reply = r;
  if (!reply) /* the connection broke before the answer came */
    db->replied(db, NULL, ac->errstr[0] ? ac->errstr : "connection lost", db->arg);
  else if (reply->type == REDIS_REPLY_ERROR)
    db->replied(db, NULL, reply->str, db->arg);
  else
    db->replied(db, reply, NULL, db->arg);
}

/* async def execute(query): send it; `replied` comes with the answer. */
static void db_execute(struct db *db, const char *query, db_reply_cb replied) {
  db->replied = replied;
  if (redisAsyncCommand(db->ac, db_reply, db, query) != REDIS_OK)
    db->replied(db, NULL, "the connection is closing", db->arg);
}

/* async def __aexit__: ask hiredis to close once the answers still due have
 * come; `closed` follows from the loop. */
static void db_close(struct db *db, db_closed_cb closed) {
  db->closed = closed;
  redisAsyncDisconnect(db->ac);
}

#endif /* DB_H */
