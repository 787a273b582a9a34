/* with_cleanup.c - the guide's with_cleanup: acquire, do_work and release
 * are each asynchronous, and release runs on every path once the resource
 * is held. The resource is a socketpair, so a leak would show as open
 * descriptors. Usage: with_cleanup [N]  (N calls that all fail in do_work;
 * without N, three calls: one succeeds, one fails in acquire, one in work)
 * expect: lag_ms < 50, elapsed_ms < 600, open_fds < 6, errors < 1
 */
#include "cleanup_calls.h" /* struct call, acquire, release, finally */

/* ---- do_work ends: the message through the resource -------------------- */

static void work_resume(struct ev_loop *loop, ev_timer *w, int revents) {
  struct call *c = (struct call *)w;
  char reply[16];
  (void)revents;
  /* MSG_NOSIGNAL: a peer that hung up is an error value (EPIPE), not a
   * SIGPIPE that kills the program. */
  if (send(c->fd[0], "work", 4, MSG_NOSIGNAL) < 0) {
    op_error_set(&c->err, OP_ESYS, errno, "do_work: send: %s",
                 strerror(errno));
  } else {
    ssize_t n = recv(c->fd[1], reply, sizeof reply - 1, 0);
    reply[n > 0 ? n : 0] = '\0';
    printf("%s: Work done: %s-result\n", c->name, reply);
  }
  if (c->err.code != OP_OK)
    report_error(c);
  wb_trace_mark("%s: work %s", c->name, c->err.code ? "failed" : "done");
  with_cleanup_finally(loop, c);
}

/* Without N: one call succeeds, one fails in acquire, one in work. */
static enum fail_at mixed(int i) { return (enum fail_at)(i % 3); }
static enum fail_at in_work(int i) { return (void)i, FAIL_WORK; }

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 3;
  if (n < 1 || n > 500)
    return fprintf(stderr, "usage: with_cleanup [N: 1 to 500]\n"), 2;
  struct run r;
  struct call *calls = run_calls(n, argc > 1 ? in_work : mixed, &r);
  if (!calls)
    return fprintf(stderr, "with_cleanup: out of memory\n"), 1;
  /* Right means: every call ended, release ran exactly when acquire had
   * succeeded, and each call's error is the one arranged for it. */
  int wrong = 0;
  for (int i = 0; i < n; i++) {
    const struct call *c = &calls[i];
    enum op_code want = c->fail_at == FAIL_NONE      ? OP_OK
                        : c->fail_at == FAIL_ACQUIRE ? OP_EACQUIRE
                                                     : OP_ESYS;
    wrong += c->err.code != want ||
             c->released != (c->fail_at == FAIL_ACQUIRE ? 0 : 1);
  }
  free(calls);
  wb_measured_print(stdout, r.lag_ms, r.elapsed_ms, wrong + r.pending);
  return wrong + r.pending ? 1 : 0;
}
