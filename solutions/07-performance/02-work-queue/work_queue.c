/* work_queue.c - exercise 07.2, the reference solution: asyncio.Queue with
 * N workers on one loop. Every hand-out happens in one callback, `kick_cb`,
 * run by a 0 s timer on the loop's next turn: so process is never called
 * from inside the caller's own call, and finish never recurses into the
 * next item.
 */
#include "work_queue.h"

#include <errno.h>
#include <stdlib.h>

/* A put that found the queue full, waiting for room. */
struct waiting {
  int item;
  wq_status_cb put_done;
  void *arg;
  struct waiting *next;
};

/* A worker is only a flag: the item it works on is the caller's business.
 * Its address is the token that finish gets back. */
struct worker {
  work_queue_t *q;
  int busy;
};

struct work_queue {
  struct ev_loop *loop;
  ev_timer kick; /* active only while there is something to hand out */
  wq_process_fn process;
  void *process_arg;
  int *items; /* a ring of `cap` items */
  size_t cap, head, count;
  struct waiting *waiting, **waiting_end; /* FIFO */
  size_t unfinished; /* put (waiting ones too), neither finished nor dropped */
  int dropped;       /* wq_close dropped something */
  int join_waiting;
  wq_status_cb join_done;
  void *join_arg;
  int closing;
  wq_status_cb closed;
  void *closed_arg;
  unsigned nworkers, nbusy;
  struct worker workers[];
};

/* Asks for kick_cb on the loop's next turn (once, however often asked). */
static void kick(work_queue_t *q) {
  if (!ev_is_active(&q->kick)) {
    ev_timer_set(&q->kick, 0., 0.);
    ev_timer_start(q->loop, &q->kick);
  }
}

static void finish(void *token) {
  struct worker *w = token;
  work_queue_t *q = w->q;
  w->busy = 0;
  q->nbusy--;
  q->unfinished--;
  kick(q); /* the worker is free: the next item goes out from the loop */
}

static struct worker *idle_worker(work_queue_t *q) {
  for (unsigned i = 0; i < q->nworkers; i++)
    if (!q->workers[i].busy)
      return &q->workers[i];
  return NULL;
}

/* Drops what wq_close cancels: the queued items, then the waiting ones,
 * whose put_done learns it (oldest first). */
static void drop_all(work_queue_t *q) {
  if (q->count) {
    q->unfinished -= q->count;
    q->count = 0;
    q->dropped = 1;
  }
  while (q->waiting) {
    struct waiting *p = q->waiting;
    if (!(q->waiting = p->next))
      q->waiting_end = &q->waiting;
    q->unfinished--;
    q->dropped = 1;
    wq_status_cb cb = p->put_done;
    void *arg = p->arg;
    free(p);
    if (cb)
      cb(q->loop, -ECANCELED, arg); /* may put again: -EPIPE, harmless */
  }
}

/* The loop's turn: hand items to idle workers, let waiting items in, end a
 * join, finish a close. Callbacks called from here may call back into the
 * queue; every step reads the state afresh. */
static void kick_cb(struct ev_loop *loop, ev_timer *t, int revents) {
  work_queue_t *q = t->data;
  struct worker *w;
  (void)revents;
  for (;;) {
    if (q->closing)
      drop_all(q);
    if (q->closing || q->count == 0 || !(w = idle_worker(q)))
      break;
    int item = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    w->busy = 1;
    q->nbusy++;
    /* Room: the oldest waiting item goes in, and its producer hears so. */
    struct waiting *p = q->waiting;
    if (p) {
      if (!(q->waiting = p->next))
        q->waiting_end = &q->waiting;
      q->items[(q->head + q->count++) % q->cap] = p->item;
    }
    q->process(loop, item, q->process_arg, finish, w);
    if (p) {
      if (p->put_done)
        p->put_done(loop, 0, p->arg);
      free(p);
    }
  }
  if (q->join_waiting && q->unfinished == 0) {
    q->join_waiting = 0;
    q->join_done(loop, q->dropped ? -ECANCELED : 0, q->join_arg);
  }
  if (q->closing && q->nbusy == 0) {
    ev_timer_stop(loop, &q->kick); /* a callback above may have kicked */
    wq_status_cb closed = q->closed;
    void *arg = q->closed_arg;
    free(q->items);
    free(q);
    if (closed)
      closed(loop, 0, arg);
  }
}

int wq_new(work_queue_t **out, struct ev_loop *loop, size_t maxsize,
           unsigned nworkers, wq_process_fn process, void *process_arg) {
  if (maxsize == 0 || nworkers == 0)
    return -EINVAL;
  work_queue_t *q = calloc(1, sizeof *q + nworkers * sizeof(struct worker));
  if (!q)
    return -ENOMEM;
  q->items = calloc(maxsize, sizeof *q->items);
  if (!q->items) {
    free(q);
    return -ENOMEM;
  }
  q->loop = loop;
  q->cap = maxsize;
  q->process = process;
  q->process_arg = process_arg;
  q->waiting_end = &q->waiting;
  q->nworkers = nworkers;
  for (unsigned i = 0; i < nworkers; i++)
    q->workers[i].q = q;
  ev_timer_init(&q->kick, kick_cb, 0., 0.);
  q->kick.data = q;
  *out = q;
  return 0;
}

int wq_put(work_queue_t *q, int item, wq_status_cb put_done, void *put_arg) {
  if (q->closing)
    return -EPIPE;
  if (q->count < q->cap) {
    q->items[(q->head + q->count++) % q->cap] = item;
    q->unfinished++;
    kick(q);
    return 0;
  }
  struct waiting *p = malloc(sizeof *p);
  if (!p)
    return -ENOMEM;
  *p = (struct waiting){item, put_done, put_arg, NULL};
  *q->waiting_end = p;
  q->waiting_end = &p->next;
  q->unfinished++;
  return 1; /* let in by kick_cb when a worker makes room */
}

int wq_join(work_queue_t *q, wq_status_cb done, void *arg) {
  if (q->closing)
    return -EPIPE;
  if (q->join_waiting)
    return -EBUSY;
  q->join_waiting = 1;
  q->join_done = done;
  q->join_arg = arg;
  kick(q); /* even with nothing left, done comes from the loop */
  return 0;
}

void wq_close(work_queue_t *q, wq_status_cb closed, void *arg) {
  q->closing = 1;
  q->closed = closed;
  q->closed_arg = arg;
  kick(q);
}
