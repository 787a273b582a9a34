/* shutdown_fetch.c - exercise 10.3: a bounded batch of GETs that stops
 * cleanly on SIGINT and reports what it did as JSON. Read README.md in
 * this folder, then replace each TODO.
 */
#include "shutdown_fetch.h"
#include "wb_http.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TODO: a struct for the batch (the loop, the URLs, n, the next URL and
 *       how many ended, the options, done and its arg, a timer for the
 *       loop's next turn, an ev_signal for SIGINT, whether it came), and
 *       one slot per URL (its request's handle, its status, its error). */

/* TODO: the summary: a JSON document made with jansson (json_pack,
 *       json_dumps), one result per URL in the order of the URLs. */

/* TODO: start the next URL; the request callback that records the result,
 *       hands its place on, and after the last one reports. */

/* TODO: the SIGINT callback: nothing new starts, every request in flight
 *       is cancelled, every URL not done is marked, report with 130. */

int shutdown_fetch(struct ev_loop *loop, const char *const *urls, size_t n,
                   const struct sf_options *opt, sf_done_cb done, void *arg) {
  /* TODO: check the arguments, allocate, start the timer and the signal
   *       watcher. */
  (void)loop, (void)urls, (void)n, (void)opt, (void)done, (void)arg;
  return -ENOSYS;
}
