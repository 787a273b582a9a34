/* closed_client.c - the guide's good_fetch: `async with` a client closes
 * it on every path. Here the client is one TCP connection to an HTTP server
 * (a socket and its ev_io), and client_close, the __aexit__, runs on every
 * way out: answer, error, refused connection. Ten fetches leave nothing.
 * Usage: closed_client [PORT]   (default: the workbook's server)
 * expect: leaked_fds < 1, answered > 9, lag_ms < 50, errors < 1
 */
#include "http_client.h" /* the client, ten fetches, main */

/* The end of the `async with` block: __aexit__ closes the client. Every
 * other way out of client_io closes it too. */
static void client_done(struct ev_loop *loop, struct client *c) {
  client_close(loop, c);
}
