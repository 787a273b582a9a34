/* fetch_multiple.c - exercise 03.3: a client that shares one libcurl multi
 * handle, and a gather of GETs over it with an error per URL.
 * Read README.md in this folder, then replace each TODO.
 */
#include "fetch_multiple.h"

#include <curl/curl.h>
#include <stdlib.h>

/* TODO: the client: the loop, ONE multi handle, the ev_timer curl asks
 *       for, the timeout for each request, and the socket watchers. */

/* TODO: a transfer (its easy handle, its gather, its index, its body so
 *       far, an error buffer) and a gather (client, n, how many are still
 *       running, the callbacks and arg, the results, the transfers). */

/* TODO: CURLMOPT_SOCKETFUNCTION and CURLMOPT_TIMERFUNCTION callbacks, the
 *       ev_io and ev_timer callbacks that hand events back to curl, and a
 *       check after each curl_multi_socket_action: which transfers ended?
 *       (CURLINFO_PRIVATE leads from an easy handle to its transfer.) */

int fm_client_new(struct ev_loop *loop, long timeout_ms, fm_client_t **out) {
  /* TODO: allocate the client, make its multi handle, set its callbacks. */
  (void)loop, (void)timeout_ms, (void)out;
  return -1;
}

int fm_fetch_multiple(fm_client_t *client, const char *const *urls, size_t n,
                      fm_each_cb on_each, fm_done_cb done, void *arg) {
  /* TODO: allocate the gather, an easy handle per URL (CURLOPT_PRIVATE,
   *       the timeout, the write callback), add them all to the client's
   *       multi handle; for n == 0, arrange for done from the loop. */
  (void)client, (void)urls, (void)n, (void)on_each, (void)done, (void)arg;
  return -1;
}

void fm_client_free(fm_client_t *client) {
  /* TODO: clean up the multi handle, stop the timer and every watcher. */
  (void)client;
}
