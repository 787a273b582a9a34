/* An honest alternative: an ev_idle hands items out, waiting puts live in
 * a growing array, and the join is noticed by the hand-out. */
#include "work_queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct wp { int item; wq_status_cb cb; void *arg; };
struct wk { struct work_queue *q; int busy; };

struct work_queue {
  struct ev_loop *loop;
  ev_idle idle;
  wq_process_fn process; void *parg;
  int *ring; size_t cap, head, count;
  struct wp *wait; size_t nwait, wcap;
  size_t pending;
  int dropped, closing;
  wq_status_cb jcb; void *jarg;
  wq_status_cb ccb; void *carg;
  unsigned n, busy;
  struct wk *wk;
};

static void poke(struct work_queue *q) { ev_idle_start(q->loop, &q->idle); }

static void fin(void *token) {
  struct wk *w = token;
  w->busy = 0;
  w->q->busy--;
  w->q->pending--;
  poke(w->q);
}

static void idle_cb(struct ev_loop *loop, ev_idle *i, int revents) {
  struct work_queue *q = i->data;
  (void)revents;
  ev_idle_stop(loop, i);
  if (q->closing) {
    q->pending -= q->count;
    q->dropped |= q->count > 0;
    q->count = 0;
    while (q->nwait) {
      struct wp p = q->wait[0];
      memmove(q->wait, q->wait + 1, --q->nwait * sizeof *q->wait);
      q->pending--;
      q->dropped = 1;
      if (p.cb)
        p.cb(loop, -ECANCELED, p.arg);
    }
  } else {
    for (unsigned k = 0; k < q->n && q->count && !q->closing; k++) {
      if (q->wk[k].busy)
        continue;
      int item = q->ring[q->head];
      q->head = (q->head + 1) % q->cap;
      q->count--;
      q->wk[k].busy = 1;
      q->busy++;
      struct wp p = {0, NULL, NULL};
      int had = 0;
      if (q->nwait) {
        p = q->wait[0];
        memmove(q->wait, q->wait + 1, --q->nwait * sizeof *q->wait);
        q->ring[(q->head + q->count++) % q->cap] = p.item;
        had = 1;
      }
      q->process(loop, item, q->parg, fin, &q->wk[k]);
      if (had && p.cb)
        p.cb(loop, 0, p.arg);
      k = (unsigned)-1; /* start over: a worker may be free again */
    }
  }
  if (q->jcb && q->pending == 0) {
    wq_status_cb cb = q->jcb;
    q->jcb = NULL;
    cb(loop, q->dropped ? -ECANCELED : 0, q->jarg);
  }
  if (q->closing && q->busy == 0) {
    ev_idle_stop(loop, i);
    wq_status_cb cb = q->ccb;
    void *arg = q->carg;
    free(q->ring); free(q->wait); free(q->wk); free(q);
    if (cb)
      cb(loop, 0, arg);
  }
}

int wq_new(work_queue_t **out, struct ev_loop *loop, size_t maxsize,
           unsigned nworkers, wq_process_fn process, void *process_arg) {
  if (!maxsize || !nworkers)
    return -EINVAL;
  struct work_queue *q = calloc(1, sizeof *q);
  int *ring = malloc(maxsize * sizeof *ring);
  struct wk *wk = calloc(nworkers, sizeof *wk);
  if (!q || !ring || !wk) {
    free(q); free(ring); free(wk);
    return -ENOMEM;
  }
  q->loop = loop; q->ring = ring; q->cap = maxsize; q->wk = wk; q->n = nworkers;
  q->process = process; q->parg = process_arg;
  for (unsigned k = 0; k < nworkers; k++)
    wk[k].q = q;
  ev_idle_init(&q->idle, idle_cb);
  q->idle.data = q;
  *out = q;
  return 0;
}

int wq_put(work_queue_t *q, int item, wq_status_cb put_done, void *put_arg) {
  if (q->closing)
    return -EPIPE;
  if (q->count < q->cap) {
    q->ring[(q->head + q->count++) % q->cap] = item;
    q->pending++;
    poke(q);
    return 0;
  }
  if (q->nwait == q->wcap) {
    size_t c = q->wcap ? 2 * q->wcap : 4;
    struct wp *w = realloc(q->wait, c * sizeof *w);
    if (!w)
      return -ENOMEM;
    q->wait = w;
    q->wcap = c;
  }
  q->wait[q->nwait++] = (struct wp){item, put_done, put_arg};
  q->pending++;
  return 1;
}

int wq_join(work_queue_t *q, wq_status_cb done, void *arg) {
  if (q->closing) return -EPIPE;
  if (q->jcb) return -EBUSY;
  q->jcb = done; q->jarg = arg;
  poke(q);
  return 0;
}

void wq_close(work_queue_t *q, wq_status_cb closed, void *arg) {
  q->closing = 1; q->ccb = closed; q->carg = arg;
  poke(q);
}
