/* pitfall_unclosed_client.c - closed_client.c with the guide's third
 * pitfall: the client is never closed (bad_fetch). When the answer is in,
 * the watcher is stopped, so the loop can end, but the socket stays open
 * and the client's memory is never freed: one descriptor and 1 KiB lost per
 * fetch, ten of each here.
 * Usage: pitfall_unclosed_client [PORT]
 * symptom: leaked_fds > 8 (a socket left open per fetch)
 */
#include "http_client.h" /* the client, ten fetches, main */

/* The end of the block, without the close. */
static void client_done(struct ev_loop *loop, struct client *c) {
  /* WRONG: the watcher is stopped, so nothing looks wrong and ev_run
   * returns, but the socket is still open and the client never freed. */
  ev_io_stop(loop, &c->io);
}
