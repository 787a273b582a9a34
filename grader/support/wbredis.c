/* wbredis.c - the Redis fixture of the test-support library (wbtest.h,
 * "Redis"): a private redis-server per test, started on first use on a Unix
 * socket in the test's private /tmp, and stopped when the test ends.
 */
#include "wbtest.h"
#include "wbtest_internal.h"
#include "wb_redis.h"

/* The server is a child process (fork + exec, lib/wb_redis.c): its
 * descriptors and memory are never the test process's, and starting it
 * leaves nothing open here, so leak checks see only the learner's. */
static wb_redis_t redis;

const char *wb_redis_path(void) {
  if (!redis.pid) {
    if (wb_redis_start(&redis, 5000) != 0)
      wb__grader_fault("redis-server could not be started for this test "
                       "(its output above says why)");
    wb__now_stale(); /* starting it took time */
  }
  return redis.path;
}

int wb_redis_clients(void) {
  /* wb_redis_client_count waits briefly for connections closed just
   * before to be gone from the server's count. */
  int n = wb_redis_client_count(wb_redis_path());
  if (n < 0)
    wb__grader_fault("the grader could not ask redis-server how many clients "
                     "it has");
  return n;
}

int wb_redis_drop_clients(void) {
  int n = wb_redis_kill_clients(wb_redis_path());
  if (n < 0)
    wb__grader_fault("the grader could not make redis-server drop its clients");
  return n;
}

void wb__redis_end(void) {
  if (redis.pid || redis.dir[0])
    wb_redis_stop(&redis);
}
