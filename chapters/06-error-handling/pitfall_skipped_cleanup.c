/* pitfall_skipped_cleanup.c - with_cleanup.c with the classic mistake: the
 * error path of do_work reports the error and ends the call, skipping the
 * release. Every failed call leaks its descriptor: the count of open
 * descriptors grows by one per failure. Usage: pitfall_skipped_cleanup [N]
 * (N calls that all fail in do_work, 10 without N)
 * symptom: open_fds > 12 (a descriptor leaked per failed call)
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
  wb_trace_mark("%s: work %s", c->name, c->err.code ? "failed" : "done");
  if (c->err.code != OP_OK) {
    /* WRONG: the error path returns early, as if `raise` skipped the
     * `finally`. In C nothing runs the cleanup for you: the resource stays
     * open, and nobody holds a pointer that could close it any more. */
    report_error(c);
    call_finish(loop, c);
    return;
  }
  with_cleanup_finally(loop, c);
}

static enum fail_at in_work(int i) { return (void)i, FAIL_WORK; }

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 10;
  if (n < 1 || n > 500)
    return fprintf(stderr, "usage: pitfall_skipped_cleanup [N: 1 to 500]\n"), 2;
  struct run r;
  struct call *calls = run_calls(n, in_work, &r);
  if (!calls)
    return fprintf(stderr, "pitfall_skipped_cleanup: out of memory\n"), 1;
  /* The errors themselves came back right: only the cleanup is missing. */
  int wrong = 0;
  for (int i = 0; i < n; i++)
    wrong += calls[i].err.code != OP_ESYS;
  free(calls);
  wb_measured_print(stdout, r.lag_ms, r.elapsed_ms, wrong + r.pending);
  return wrong + r.pending ? 1 : 0;
}
