/* wait_first.c - asyncio.wait(tasks, timeout=..., return_when=
 * FIRST_COMPLETED), then cancelling what is pending. Each task is an HTTP
 * GET of /delay/MS from the workbook's server (the guide's 2.0, 1.0 and
 * 3.0 s are 200, 100 and 300 ms, its timeout of 1.5 s is 150 ms), so a
 * cancel has a socket to close, not only a timer to stop. The server runs
 * in a child process, so the descriptors counted here are the client's.
 * expect: lag_ms < 50, elapsed_ms < 250, errors < 1
 */
#define _POSIX_C_SOURCE 200809L
#include "wb_http.h"
#include "wb_lag.h"
#include "wb_server.h"
#include "wb_trace.h"

#include <curl/curl.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum task_state { TASK_PENDING, TASK_DONE, TASK_CANCELLED };

struct task {
  const char *name;
  unsigned ms;
  wb_http_req_t *req; /* NULL once the request has ended */
  enum task_state state;
  int completions; /* how often its completion was reported: must be 1 */
  struct wait *wait;
};

enum return_when { FIRST_COMPLETED, ALL_COMPLETED };

/* One asyncio.wait in progress: its tasks, its timeout, its mode. */
struct wait {
  struct ev_loop *loop;
  struct task *tasks;
  int n;
  enum return_when mode;
  ev_timer timeout;
  int waiting; /* 1 until the wait has returned */
  void (*resume)(struct wait *w);
};

/* asyncio.wait returns: the done set is every task in state TASK_DONE, the
 * pending set every task still TASK_PENDING. It returns once only. */
static void wait_return(struct wait *w) {
  if (!w->waiting)
    return;
  w->waiting = 0;
  ev_timer_stop(w->loop, &w->timeout);
  w->resume(w);
}

static void wait_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents) {
  (void)loop, (void)revents;
  wait_return(t->data); /* the timeout: done and pending as they are now */
}

/* A task's completion, reported exactly once, whether it finished or was
 * cancelled (wb_http calls this from inside wb_http_cancel then). */
static void task_done_cb(struct ev_loop *loop, long status, const char *body,
                         size_t len, const char *error, void *arg) {
  struct task *t = arg;
  struct wait *w = t->wait;
  (void)loop, (void)status, (void)len;
  t->req = NULL; /* wb_http frees the request after this callback */
  t->completions++;
  if (error && strcmp(error, "cancelled") == 0) {
    t->state = TASK_CANCELLED;
    printf("%s: cancelled\n", t->name);
    wb_trace_mark("%s: cancelled", t->name);
    return;
  }
  t->state = TASK_DONE;
  printf("%s: completed %s\n", t->name, error ? error : body);
  wb_trace_mark("%s: completed", t->name);
  int done = 0;
  for (int i = 0; i < w->n; i++)
    done += w->tasks[i].state != TASK_PENDING;
  if (w->mode == FIRST_COMPLETED || done == w->n)
    wait_return(w);
}

static void wait_tasks(struct wait *w, double timeout_s) {
  w->waiting = 1;
  ev_timer_init(&w->timeout, wait_timeout_cb, timeout_s, 0.);
  w->timeout.data = w;
  ev_timer_start(w->loop, &w->timeout);
}

/* ---- async def main() ------------------------------------------------------ */

static int port, errors, fds_at_start;

static struct task tasks[] = {
    {.name = "Task 1", .ms = 200},
    {.name = "Task 2", .ms = 100},
    {.name = "Task 3", .ms = 300},
};
#define NTASKS (int)(sizeof tasks / sizeof tasks[0])

/* After `done, pending = await asyncio.wait(...)`. */
static void main_resume(struct wait *w) {
  printf("Completed tasks:\n");
  for (int i = 0; i < w->n; i++)
    if (w->tasks[i].state == TASK_DONE)
      printf("  - %s\n", w->tasks[i].name);
  printf("descriptors open before cancelling: %d\n",
         wb_open_fds() - fds_at_start);
  for (int i = 0; i < w->n; i++) /* for task in pending: task.cancel() */
    if (w->tasks[i].state == TASK_PENDING)
      wb_http_cancel(w->tasks[i].req);
  int left = wb_open_fds() - fds_at_start;
  printf("descriptors open after cancelling: %d\n", left);
  errors += left > 0;
}

static void async_main(int revents, void *arg) {
  struct wait *w = arg;
  char url[128];
  (void)revents;
  for (int i = 0; i < NTASKS; i++) {
    struct task *t = &tasks[i];
    t->wait = w;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/delay/%u", port, t->ms);
    wb_trace_mark("%s: created", t->name);
    if (wb_http_get(w->loop, url, 5000, task_done_cb, t, &t->req) < 0) {
      t->state = TASK_DONE; /* could not start: nothing to wait for */
      t->completions = 1;
      errors++;
    }
  }
  wait_tasks(w, 0.150);
}

/* The server in a child process, which writes its port into `p[1]`. */
static pid_t server_fork(void) {
  int p[2];
  if (pipe(p) != 0)
    return -1;
  pid_t pid = fork();
  if (pid == 0) {
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    wb_server_t *srv;
    ev_timer forever; /* the server's own watchers do not keep a loop alive */
    int port = -1;
    if (loop && wb_server_open(&srv, loop, "127.0.0.1", 0) == 0)
      port = wb_server_port(srv);
    if (write(p[1], &port, sizeof port) != sizeof port || port < 0)
      _exit(1);
    ev_timer_init(&forever, NULL, 1e9, 0.);
    ev_timer_start(loop, &forever);
    ev_run(loop, 0);
    _exit(0);
  }
  close(p[1]);
  if (pid < 0 || read(p[0], &port, sizeof port) != sizeof port || port < 0)
    port = -1;
  close(p[0]);
  return pid;
}

int main(void) {
  wb_lag_t lag;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  pid_t server = server_fork();
  if (server < 0 || port < 0) {
    fprintf(stderr, "wait_first: could not start the local server\n");
    return 1;
  }
  double t0 = wb_now_ms();
  struct wait w = {.loop = ev_loop_new(EVFLAG_AUTO), .tasks = tasks,
                   .n = NTASKS, .mode = FIRST_COMPLETED,
                   .resume = main_resume};
  fds_at_start = wb_open_fds();
  wb_lag_start(w.loop, &lag);
  ev_once(w.loop, -1, 0, 0., async_main, &w);
  ev_run(w.loop, 0); /* nothing is left once the pending are cancelled */
  wb_lag_stop(w.loop, &lag);
  ev_loop_destroy(w.loop);
  double elapsed = wb_now_ms() - t0;
  for (int i = 0; i < NTASKS; i++)
    errors += tasks[i].completions != 1;
  kill(server, SIGKILL);
  waitpid(server, NULL, 0);
  curl_global_cleanup();
  wb_measured_print(stdout, wb_lag_longest_ms(&lag), elapsed, errors);
  return 0;
}
