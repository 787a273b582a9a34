/* gather_ops.c - exercise 06.1, the reference solution: gather over
 * operations that may fail. Each slot holds a value or a copy of an error;
 * in fail-fast mode the first error cancels the rest before done is called.
 */
#include "gather_ops.h"

#include <stdio.h>
#include <stdlib.h>

struct gather;

/* What an operation's callback gets as arg: which gather, which slot. */
struct slot_ctx {
  struct gather *g;
  size_t index;
};

struct gather {
  struct ev_loop *loop;
  enum gather_mode mode;
  gather_done_cb done;
  void *arg;
  size_t n;
  size_t answered;
  long failed;               /* index of the first error in time, or -1 */
  struct gather_slot *slots; /* n slots, in the order of the operations */
  struct op **ops;           /* ops[i]: running, or NULL once it answered
                                or was cancelled */
  struct slot_ctx *ctx;      /* ctx[i] is operation i's callback arg */
};

static void gather_free(struct gather *g) {
  free(g->slots);
  free(g->ops);
  free(g->ctx);
  free(g);
}

/* Cancels every operation still running; their slots say so. Before this,
 * the ops are live; after it, none of them will ever call back. */
static void gather_cancel_running(struct gather *g) {
  for (size_t i = 0; i < g->n; i++) {
    if (!g->ops[i])
      continue;
    op_cancel(g->loop, g->ops[i]);
    g->ops[i] = NULL;
    struct op_error *e = &g->slots[i].err;
    e->code = OP_ECANCELED;
    e->sys_errno = 0;
    snprintf(e->message, sizeof e->message,
             "operation %zu cancelled: operation %ld failed first", i,
             g->failed);
  }
}

/* The gather is over: nothing of it is running any more, so done may run,
 * and once it has returned the slots can go. */
static void gather_finish(struct gather *g) {
  g->done(g->loop, g->slots, g->n, g->failed, g->arg);
  gather_free(g);
}

static void op_answered(struct ev_loop *loop, long value,
                        const struct op_error *err, void *arg) {
  struct slot_ctx *ctx = arg;
  struct gather *g = ctx->g;
  struct gather_slot *slot = &g->slots[ctx->index];
  (void)loop;
  g->ops[ctx->index] = NULL; /* it has answered: never cancel it now */
  g->answered++;
  if (err) {
    /* A copy, not the pointer: *err is freed when this callback returns. */
    slot->err = *err;
    slot->value = 0;
    if (g->failed < 0)
      g->failed = (long)ctx->index;
    if (g->mode == GATHER_FAIL_FAST) {
      gather_cancel_running(g); /* first cancel, then report */
      gather_finish(g);
      return;
    }
  } else {
    slot->value = value;
    slot->err.code = OP_OK;
  }
  if (g->answered == g->n)
    gather_finish(g);
}

/* n == 0: done must still come from the loop, never from gather_ops. */
static void gather_empty(int revents, void *arg) {
  (void)revents;
  gather_finish(arg);
}

int gather_ops(struct ev_loop *loop, size_t n, enum gather_mode mode,
               gather_done_cb done, void *arg) {
  struct gather *g = calloc(1, sizeof *g);
  if (!g)
    return -1;
  *g = (struct gather){.loop = loop, .mode = mode, .done = done,
                       .arg = arg, .n = n, .failed = -1};
  if (n == 0) {
    ev_once(loop, -1, 0, 0., gather_empty, g);
    return 0;
  }
  g->slots = calloc(n, sizeof *g->slots);
  g->ops = calloc(n, sizeof *g->ops);
  g->ctx = calloc(n, sizeof *g->ctx);
  if (!g->slots || !g->ops || !g->ctx)
    goto fail;
  for (size_t i = 0; i < n; i++) {
    g->ctx[i] = (struct slot_ctx){.g = g, .index = i};
    g->ops[i] = op_start(loop, i, op_answered, &g->ctx[i]);
    if (!g->ops[i])
      goto fail_started; /* ops never answer from inside op_start */
  }
  return 0;

fail_started:
  for (size_t i = 0; i < n; i++)
    if (g->ops[i])
      op_cancel(loop, g->ops[i]);
fail:
  gather_free(g);
  return -1;
}
