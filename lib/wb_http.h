/* wb_http.h - an HTTP client for libev loops: libcurl's multi interface
 * driven by ev_io and ev_timer watchers, so that a request never blocks the
 * loop. Chapter 02 explains how it works; later chapters reuse it.
 */
#ifndef WB_HTTP_H
#define WB_HTTP_H

#include <ev.h>
#include <stddef.h>

/* The largest response body a request accepts, in bytes. A longer body ends
 * the request with an error instead of growing memory without bound. */
#define WB_HTTP_BODY_MAX (8u << 20)

/* One request in flight. Opaque; valid from wb_http_get until its callback
 * has been called, and freed by the client right after that. */
typedef struct wb_http_req wb_http_req_t;

/* What runs when a request is over: exactly once for every request that
 * wb_http_get started, from a callback of `loop` (never from inside
 * wb_http_get), or from inside wb_http_cancel.
 *   status  the HTTP status the server answered (200, 404...), or 0 when no
 *           response arrived
 *   body    the response body, with a NUL byte after it so it can be used as
 *           a string; "" when there is none, never NULL. Owned by the client
 *           and valid until the callback returns: copy what you keep.
 *   len     the body's length in bytes, the NUL not counted
 *   error   NULL when a whole response arrived, whatever its status (a 404 is
 *           a response); otherwise a sentence saying what went wrong, e.g.
 *           "Operation timed out after 200 milliseconds with 0 bytes
 *           received", "Empty reply from server", "cancelled". Valid until
 *           the callback returns.
 *   arg     the pointer given to wb_http_get, untouched
 * By the time the callback runs, the request has already released its curl
 * handles, sockets and watchers: if it was the loop's last work, ev_run
 * returns after the callback. */
typedef void (*wb_http_cb)(struct ev_loop *loop, long status,
                           const char *body, size_t len, const char *error,
                           void *arg);

/* Starts a GET of `url` on `loop` and returns at once; the transfer happens
 * while the caller runs the loop, alongside everything else on it.
 * `timeout_ms` bounds the whole request, connection included, in
 * milliseconds (0: no limit). When `req` is not NULL, *req receives the
 * request's handle, for wb_http_cancel.
 * Returns 0, or a negative errno value when the request could not be
 * started (-ENOMEM: out of memory; -EIO: libcurl refused); then `cb` is
 * never called. Errors of the transfer itself (refused connection, timeout,
 * a body over WB_HTTP_BODY_MAX) come through `cb`.
 * The first request initialises libcurl if the program has not: programs
 * should call curl_global_init(CURL_GLOBAL_DEFAULT) once at start, before
 * any thread exists, and curl_global_cleanup() at the end. */
int wb_http_get(struct ev_loop *loop, const char *url, long timeout_ms,
                wb_http_cb cb, void *arg, wb_http_req_t **req /* OUT */);

/* Stops a request that has not finished: its callback is called before
 * wb_http_cancel returns, with status 0 and the error "cancelled", and the
 * request is freed. Calling it for a request whose callback has already
 * been called is an error (the handle is gone). */
void wb_http_cancel(wb_http_req_t *req);

#endif /* WB_HTTP_H */
