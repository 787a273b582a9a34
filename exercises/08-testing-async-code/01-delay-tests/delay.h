/* delay.h - the contract of the code under test in exercise 08.1: a
 * cancellable asynchronous delay on a libev loop. You do not write it: you
 * write the tests (delay_tests.c) that hold any implementation to it.
 */
#ifndef DELAY_H
#define DELAY_H

#include <ev.h>

/* How a delay ended, as its callback is told. */
#define DELAY_DONE 0      /* the time was up */
#define DELAY_CANCELLED 1 /* delay_cancel was called first */

typedef struct delay delay_t;

/* What runs when a delay ends: cb(loop, status, arg), with the loop given
 * to delay_start, DELAY_DONE or DELAY_CANCELLED, and `arg` untouched. */
typedef void (*delay_cb)(struct ev_loop *loop, int status, void *arg);

/* Starts a delay of `ms` milliseconds on `loop` and returns at once: it
 * never waits and never calls cb itself. Exactly one of these follows:
 *   - the time is up: the loop calls cb(loop, DELAY_DONE, arg), not sooner
 *     than `ms` milliseconds after delay_start (0 is allowed: then the loop
 *     calls it on its next iteration);
 *   - delay_cancel(d) is called before that: cb(loop, DELAY_CANCELLED, arg)
 *     runs from inside delay_cancel, and never again.
 * Delays do not wait for each other: any number can run on one loop at
 * once, their waits overlap, no callback holds the loop, and they end in
 * the order of their deadlines.
 * Returns the delay's handle, or NULL when memory ran out: then nothing is
 * started and cb is never called.
 * Once cb has returned, the delay has left nothing behind: no active
 * watcher, no memory; the handle is no longer valid. */
delay_t *delay_start(struct ev_loop *loop, unsigned ms, delay_cb cb,
                     void *arg);

/* Cancels a delay whose callback has not run yet: calls
 * cb(loop, DELAY_CANCELLED, arg) before it returns, then frees the delay.
 * Calling it after the callback has run is an error (the handle is gone). */
void delay_cancel(delay_t *d);

#endif /* DELAY_H */
