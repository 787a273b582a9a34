/* An honest alternative: monotonic clock from clock_gettime, one global
 * helper with a plain name, the command formatted by hiredis first. */
#include "timed_query.h"

#include <stdlib.h>
#include <time.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

struct call {
  double t0;
  timed_query_cb done;
  void *arg;
};

static void finish(redisAsyncContext *ac, void *r, void *priv) {
  struct call c = *(struct call *)priv;
  free(priv);
  redisReply *reply = r;
  double ms = now_ms() - c.t0;
  if (reply == NULL) {
    const char *why = ac && ac->errstr[0] ? ac->errstr : "connection closed";
    c.done(NULL, why, ms, c.arg);
  } else if (reply->type == REDIS_REPLY_ERROR) {
    c.done(NULL, reply->str ? reply->str : "error", ms, c.arg);
  } else {
    c.done(reply, NULL, ms, c.arg);
  }
}

int timed_query(struct ev_loop *loop, redisAsyncContext *ac, int argc,
                const char **argv, timed_query_cb done, void *arg) {
  (void)loop;
  if (ac == NULL || argv == NULL || argc <= 0)
    return -1;
  struct call *c = calloc(1, sizeof *c);
  if (c == NULL)
    return -1;
  *c = (struct call){now_ms(), done, arg};
  if (redisAsyncCommandArgv(ac, finish, c, argc, argv, NULL) == REDIS_OK)
    return 0;
  free(c);
  return -1;
}
