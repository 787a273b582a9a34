/* redis_ping.c - the smallest complete `async with` on a real database:
 * open a connection to Redis, send PING in the body, close it. Each step
 * starts, returns to the loop, and goes on in a callback.
 * Usage: redis_ping [--redis SOCKET_PATH | --redis HOST:PORT]
 * expect: clients < 1, errors < 1, lag_ms < 50
 */
#include "wb_lag.h"
#include "wb_redis.h"

#include <ev.h>
#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <stdio.h>

static int errors;

/* __aexit__ is over: hiredis closed the socket's watchers and frees the
 * context when this returns. */
static void on_closed(const redisAsyncContext *ac, int status) {
  (void)ac;
  printf("closed%s\n", status == REDIS_OK ? "" : " (the connection broke)");
}

/* The body's `await`: the answer to PING. Then leave the block: close. */
static void on_pong(redisAsyncContext *ac, void *r, void *privdata) {
  redisReply *reply = r;
  (void)privdata;
  if (reply && reply->type == REDIS_REPLY_STATUS)
    printf("PING: %s\n", reply->str);
  else
    errors++;
  redisAsyncDisconnect(ac); /* runs on every path: the answer, or none */
}

/* __aenter__ is over: connected, or not. On failure hiredis frees the
 * context itself; there is nothing to close. */
static void on_open(const redisAsyncContext *ac, int status) {
  if (status != REDIS_OK) {
    printf("could not connect: %s\n", ac->errstr);
    errors++;
    return;
  }
  printf("connected\n");
  /* The body. hiredis wants a non-const context to send on. */
  redisAsyncCommand((redisAsyncContext *)ac, on_pong, NULL, "PING");
}

int main(int argc, char **argv) {
  wb_redis_t own = {0};
  wb_lag_t lag;
  char host[108];
  int port;
  const char *address = wb_redis_address(argc, argv, &own);
  if (!address || wb_redis_parse(address, host, sizeof host, &port) < 0)
    return 2;
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  wb_lag_start(loop, &lag);
  /* async with: start connecting; the loop says when it is done. */
  redisAsyncContext *ac =
      port ? redisAsyncConnect(host, port) : redisAsyncConnectUnix(host);
  if (!ac || ac->err) {
    printf("could not connect: %s\n", ac ? ac->errstr : "out of memory");
    if (ac)
      redisAsyncFree(ac); /* failed at once: never attached, no callback */
    errors++;
  } else {
    redisLibevAttach(loop, ac);
    redisAsyncSetConnectCallback(ac, on_open);
    redisAsyncSetDisconnectCallback(ac, on_closed);
  }
  ev_run(loop, 0); /* returns once the connection is closed */
  wb_lag_stop(loop, &lag);
  ev_loop_destroy(loop);
  int clients = wb_redis_client_count(address);
  printf("measured: lag_ms=%.0f open_fds=%d errors=%d clients=%d\n",
         wb_lag_longest_ms(&lag), wb_open_fds(), errors, clients);
  wb_redis_stop(&own);
  return errors ? 1 : 0;
}
