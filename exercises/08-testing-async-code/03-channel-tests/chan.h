/* chan.h - the contract of the code under test in exercise 08.3: a
 * bounded channel between callbacks on one libev loop, asyncio.Queue with
 * a maxsize: put waits while the channel is full, get waits while it is
 * empty. You do not write it: you write the tests (chan_tests.c).
 */
#ifndef CHAN_H
#define CHAN_H

#include <ev.h>
#include <stddef.h>

/* How an operation ended, as its callback is told. */
#define CHAN_OK 0
#define CHAN_CLOSED 1 /* the channel was closed first */

typedef struct chan chan_t;

/* A put ended: CHAN_OK when the channel took the item, CHAN_CLOSED when
 * it did not (the item stays the caller's). */
typedef void (*chan_put_cb)(struct ev_loop *loop, int status, void *arg);

/* A get ended: CHAN_OK with the item, or CHAN_CLOSED with NULL. */
typedef void (*chan_get_cb)(struct ev_loop *loop, int status, void *item,
                            void *arg);

/* A channel on `loop` that holds at most `capacity` (>= 1) items. Returns
 * NULL when memory ran out (then nothing is left allocated). */
chan_t *chan_new(struct ev_loop *loop, size_t capacity);

/* Offers `item` (any pointer, NULL too). Returns at once, 0; or -1 when
 * memory ran out, and then nothing changed and cb is never called.
 * cb(loop, status, arg) is called exactly once, from the loop, never from
 * inside a chan_* call: with CHAN_OK as soon as the channel has taken the
 * item (at once when it holds fewer than `capacity` items or a get is
 * waiting; otherwise after a get has made room: the channel never holds
 * more than `capacity` items), or with CHAN_CLOSED when the channel is
 * closed before it took the item. Waiting puts are taken in the order
 * they were made. */
int chan_put(chan_t *c, void *item, chan_put_cb cb, void *arg);

/* Asks for the next item. Returns at once, 0; or -1 when memory ran out
 * (nothing changed, cb never called). cb(loop, status, item, arg) is
 * called exactly once, from the loop, never from inside a chan_* call:
 * with CHAN_OK and the oldest item (items come out in the order they were
 * taken in; waiting gets are served in the order they were made), or with
 * CHAN_CLOSED and NULL when the channel is closed and holds no item. Items
 * a closed channel still holds are still handed out. */
int chan_get(chan_t *c, chan_get_cb cb, void *arg);

/* The number of items the channel holds right now (taken in, not yet
 * handed out): never more than its capacity. */
size_t chan_len(const chan_t *c);

/* Closes the channel: every waiting put and every waiting get ends with
 * CHAN_CLOSED (from the loop), and so does every later put. Closing twice
 * is harmless. */
void chan_close(chan_t *c);

/* Frees the channel. Call it once no operation is waiting and no callback
 * is due (after chan_close and a run of the loop, say); the items it still
 * holds are the caller's. Nothing is left: no memory, no watcher. */
void chan_free(chan_t *c);

#endif /* CHAN_H */
