/* timed_query.c - exercise 04.1 (reference solution): a Redis command in a
 * timing scope. The scope opens with a note of the loop's clock and closes
 * in the reply's callback, which reads the clock again: no waiting at all.
 */
#include "timed_query.h"

#include <stdlib.h>

/* One command in flight: what its reply's callback needs. */
struct timed {
  struct ev_loop *loop;
  ev_tstamp start; /* the loop's clock at the call, in seconds */
  timed_query_cb done;
  void *arg;
};

/* hiredis calls this exactly once per command: with the answer, or with
 * NULL when the connection went away first (then errstr says why, or is
 * empty when the owner freed or closed the connection). */
static void timed_reply(redisAsyncContext *ac, void *r, void *privdata) {
  struct timed *t = privdata;
  const redisReply *reply = r;
  /* ev_now is the time the loop woke up; bring it to this moment. */
  ev_now_update(t->loop);
  double ms = (ev_now(t->loop) - t->start) * 1e3;
  if (!reply)
    t->done(NULL,
            ac->errstr[0] ? ac->errstr
                          : "the connection was closed before the answer came",
            ms, t->arg);
  else if (reply->type == REDIS_REPLY_ERROR)
    t->done(NULL, reply->str, ms, t->arg);
  else
    t->done(reply, NULL, ms, t->arg);
  free(t); /* hiredis frees the reply itself when this returns */
}

int timed_query(struct ev_loop *loop, redisAsyncContext *ac, int argc,
                const char **argv, timed_query_cb done, void *arg) {
  if (!ac || !argv || argc < 1)
    return -1;
  struct timed *t = malloc(sizeof *t);
  if (!t)
    return -1;
  t->loop = loop;
  t->done = done;
  t->arg = arg;
  /* The scope opens now: the loop's cached clock may date from before a
   * long callback, so it is brought up to date first. */
  ev_now_update(loop);
  t->start = ev_now(loop);
  /* NULL lengths: every argv[i] is a C string. */
  if (redisAsyncCommandArgv(ac, timed_reply, t, argc, argv, NULL) != REDIS_OK) {
    free(t); /* refused: the callback will never come */
    return -1;
  }
  return 0;
}
