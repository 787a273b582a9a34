/* batch_fetch.c - exercise 10.2: many GETs, at most N in flight, a timeout
 * for each and a deadline for the batch, one result per URL. Read
 * README.md in this folder, then replace each TODO.
 */
#include "batch_fetch.h"
#include "wb_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TODO: a struct for the batch (the loop, the URLs, n, the next URL to
 *       start and how many ended, the options, done and its arg, a timer
 *       for the loop's next turn, a timer for the deadline, whether the
 *       deadline passed, the results, and one slot per URL: the request's
 *       handle for wb_http_cancel, and the copied error). */

/* TODO: start the next URL; the request callback that fills its result,
 *       hands its place on, and after the last one calls done. */

/* TODO: the deadline's callback: nothing new starts, every request in
 *       flight is cancelled, every URL not done gets its error, done. */

int batch_fetch(struct ev_loop *loop, const char *const *urls, size_t n,
                const struct bf_options *opt, bf_done_cb done, void *arg) {
  /* TODO: check the arguments, allocate, start the two timers. */
  (void)loop, (void)urls, (void)n, (void)opt, (void)done, (void)arg;
  return -ENOSYS;
}
