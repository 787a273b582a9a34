/* gather_get.h - the contract of the code under test in exercise 08.2:
 * asyncio.gather(*(client.get(u) for u in urls), return_exceptions=True)
 * over real HTTP, on a libev loop. You do not write it: you write the
 * tests (gather_tests.c) that hold any implementation to it.
 */
#ifndef GATHER_GET_H
#define GATHER_GET_H

#include <ev.h>
#include <stddef.h>

/* The result of one GET. */
typedef struct gather_result {
  long status;       /* the HTTP status (200, 404, 500...), 0 when no
                        response arrived */
  const char *body;  /* the response body, NUL-terminated; "" when none */
  size_t len;        /* its length in bytes */
  const char *error; /* NULL when a whole response arrived, whatever its
                        status (a 500 is a response); otherwise a sentence
                        saying what went wrong (connection closed without
                        a response, refused, timed out...) */
} gather_result_t;

/* What runs when every GET has ended: results[i] is the result of
 * urls[i], in the order of the URLs, whatever the order in which the
 * requests finished. `results` and everything it points to belong to
 * gather_get and are valid until the callback returns: copy what you
 * keep. `arg` is the pointer given to gather_get, untouched. */
typedef void (*gather_get_cb)(struct ev_loop *loop,
                              const gather_result_t *results, size_t n,
                              void *arg);

/* Starts a GET of each of the `n` URLs on `loop`, all at once, and returns
 * without waiting: the requests are in flight together while the caller
 * runs the loop. `timeout_ms` (> 0) bounds each request, connection
 * included. `urls` need not outlive the call.
 * cb(loop, results, n, arg) is then called exactly once, from the loop
 * (never from inside gather_get), when every request has ended; for n == 0
 * too, on the loop's next iteration, with no results. One request that
 * fails affects only its own slot.
 * Returns 0, or -1 when memory ran out: then nothing was started, nothing
 * is left allocated, and cb is never called.
 * Once cb has returned, nothing of the gather is left: no memory, no open
 * descriptor, no active watcher. */
int gather_get(struct ev_loop *loop, const char *const *urls, size_t n,
               long timeout_ms, gather_get_cb cb, void *arg);

#endif /* GATHER_GET_H */
