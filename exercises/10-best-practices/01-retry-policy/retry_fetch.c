/* retry_fetch.c - exercise 10.1: one GET, tried again when a second try
 * may help, after a pause that doubles each time, with jitter. Read
 * README.md in this folder, then replace each TODO.
 */
#include "retry_fetch.h"
#include "wb_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rf_should_retry(long status, const char *error) {
  /* TODO: 1 when no response came (error) or for a 5xx; 0 otherwise. */
  (void)status, (void)error;
  return -1;
}

unsigned rf_backoff_ms(const struct rf_policy *policy, unsigned failures,
                       double u) {
  /* TODO: d = base_ms doubled (failures - 1) times, at most cap_ms; then
   *       d/2 + d/2 * u. */
  (void)policy, (void)failures, (void)u;
  return 0;
}

/* TODO: a struct for the fetch (the loop, the URL, the policy, done and
 *       its arg, an ev_timer for the pause, the result, the copied error). */

/* TODO: the callback of each attempt (wb_http_cb): record the outcome;
 *       then either call done and free everything, or start the pause. */

/* TODO: the pause's callback: the next attempt. */

int retry_fetch(struct ev_loop *loop, const char *url,
                const struct rf_policy *policy, rf_done_cb done, void *arg) {
  /* TODO: check the arguments, allocate the fetch, start the first
   *       attempt. */
  (void)loop, (void)url, (void)policy, (void)done, (void)arg;
  return -ENOSYS;
}
