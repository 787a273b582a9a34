/* limited_fetch.c - exercise 07.3: many GETs, at most `limit` in flight,
 * with a semaphore on one loop. Read README.md in this folder, then replace
 * each TODO.
 */
#include "limited_fetch.h"
#include "wb_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TODO: a struct for the whole fetch (the loop, the URLs, how many started
 *       and how many ended, limit, timeout, done and its arg, a watcher for
 *       the loop's next turn, the results, one slot per URL for its request
 *       callback's arg and its copied error). */

/* TODO: start the next URL (acquire): wb_http_get with a callback that
 *       fills the URL's result, then hands the place to the next URL
 *       (release), and after the last one calls done and frees it all. */

int limited_fetch(struct ev_loop *loop, const char *const *urls, size_t n,
                  unsigned limit, long timeout_ms, lf_done_cb done, void *arg) {
  /* TODO: check limit, allocate, and start a watcher that begins the first
   *       `limit` requests on the loop's next turn. */
  (void)loop, (void)urls, (void)n, (void)limit, (void)timeout_ms, (void)done,
      (void)arg;
  return -ENOSYS;
}
