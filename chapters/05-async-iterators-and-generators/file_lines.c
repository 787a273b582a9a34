/* file_lines.c - the guide's read_lines(path) as aiofiles does it: a
 * regular file is never "not ready", so the loop cannot wait on it; a
 * worker thread reads it with plain blocking calls and hands the lines to
 * the loop through an ev_async. Usage: file_lines [FILE] (without FILE, a
 * small data.txt is written to a temporary file and read back)
 * expect: lag_ms < 150, elapsed_ms < 2000, errors < 1
 */
#define _GNU_SOURCE /* getline, mkstemp */
#include "wb_lag.h"
#include "wb_trace.h"

#include <errno.h>
#include <ev.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- read_lines(path): the worker reads, the loop hands over ----------- */

struct file_lines;
typedef void (*file_line_cb)(struct ev_loop *loop, struct file_lines *fl,
                             const char *line, int status);

struct line_item {
  struct line_item *next;
  char text[]; /* the line, without its newline */
};

struct file_lines {
  ev_async wake; /* the worker's one way into the loop */
  struct ev_loop *loop;
  pthread_t thread;
  char *path;
  file_line_cb cb;
  void *data; /* the caller's */
  /* Shared with the worker, under `lock`: the lines read and not yet
   * handed over, in order, and whether the worker has finished. */
  pthread_mutex_t lock;
  struct line_item *head, **tail;
  int finished, error; /* error: 0 or a positive errno value */
};

/* The worker thread: blocking reads are fine here, the loop is elsewhere.
 * It touches the loop only through ev_async_send, the one libev call that
 * may come from another thread. */
static void *file_lines_worker(void *arg) {
  struct file_lines *fl = arg;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int error = 0;
  FILE *f = fopen(fl->path, "r");
  if (!f)
    error = errno;
  while (f && (n = getline(&line, &cap, f)) >= 0) {
    if (n > 0 && line[n - 1] == '\n')
      line[--n] = '\0'; /* line.strip(), the end of it */
    struct line_item *it = malloc(sizeof *it + (size_t)n + 1);
    if (!it) {
      error = ENOMEM;
      break;
    }
    it->next = NULL;
    memcpy(it->text, line, (size_t)n + 1);
    pthread_mutex_lock(&fl->lock);
    *fl->tail = it, fl->tail = &it->next;
    pthread_mutex_unlock(&fl->lock);
    ev_async_send(fl->loop, &fl->wake); /* several sends may wake it once */
  }
  if (f && ferror(f) && !error)
    error = EIO;
  free(line);
  if (f)
    fclose(f);
  pthread_mutex_lock(&fl->lock);
  fl->finished = 1, fl->error = error;
  pthread_mutex_unlock(&fl->lock);
  ev_async_send(fl->loop, &fl->wake);
  return NULL;
}

/* On the loop: take every line the worker has queued, hand them over in
 * order; once the worker is done, stop waiting for it and report the end. */
static void file_lines_wake_cb(struct ev_loop *loop, ev_async *w, int revents) {
  struct file_lines *fl = (struct file_lines *)w;
  (void)revents;
  pthread_mutex_lock(&fl->lock);
  struct line_item *it = fl->head;
  int finished = fl->finished, error = fl->error;
  fl->head = NULL, fl->tail = &fl->head;
  pthread_mutex_unlock(&fl->lock);
  while (it) {
    struct line_item *next = it->next;
    fl->cb(loop, fl, it->text, 1);
    free(it);
    it = next;
  }
  if (finished) {
    ev_async_stop(loop, &fl->wake);
    fl->cb(loop, fl, NULL, error ? -error : 0);
  }
}

/* Joins the worker once it has said it is finished, and frees what the
 * two threads shared. Not in the callback above: the worker may not have
 * returned yet, and a join inside a callback would hold the loop until the
 * system runs it again. */
static void file_lines_close(struct file_lines *fl) {
  pthread_join(fl->thread, NULL);
  pthread_mutex_destroy(&fl->lock);
}

/* Starts reading `path`: cb gets each line (status 1), then the end (0)
 * or an error (a negative errno value). The ev_async is started here, on
 * the loop's thread, before the worker exists. Returns 0 or -errno. */
static int file_lines_start(struct ev_loop *loop, struct file_lines *fl,
                            char *path, file_line_cb cb, void *data) {
  fl->loop = loop, fl->path = path, fl->cb = cb, fl->data = data;
  fl->head = NULL, fl->tail = &fl->head;
  fl->finished = fl->error = 0;
  pthread_mutex_init(&fl->lock, NULL);
  ev_async_init(&fl->wake, file_lines_wake_cb);
  ev_async_start(loop, &fl->wake);
  int rc = pthread_create(&fl->thread, NULL, file_lines_worker, fl);
  if (rc != 0) {
    ev_async_stop(loop, &fl->wake);
    pthread_mutex_destroy(&fl->lock);
    return -rc;
  }
  return 0;
}

/* ---- async def main(): async for line in read_lines(path): print(line) -- */

struct app {
  struct ev_loop *loop;
  struct file_lines fl;
  char *path;
  int lines, errors, started;
};

static void print_line(struct ev_loop *loop, struct file_lines *fl,
                       const char *line, int status) {
  struct app *app = fl->data;
  (void)loop;
  if (status == 1) {
    printf("%s\n", line);
    wb_trace_mark("reader: line %d", ++app->lines);
  } else if (status < 0) {
    printf("read_lines: %s: %s\n", app->path, strerror(-status));
    app->errors++;
  }
}

static void async_main(int revents, void *arg) {
  struct app *app = arg;
  (void)revents;
  if (file_lines_start(app->loop, &app->fl, app->path, print_line, app) < 0)
    app->errors++;
  else
    app->started = 1;
}

int main(int argc, char **argv) {
  static struct app app;
  char tmp[] = "/tmp/data-XXXXXX";
  if (argc > 1) {
    app.path = argv[1];
  } else { /* the guide's data.txt */
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
      perror("file_lines: a temporary file");
      return 1;
    }
    fputs("alpha\nbravo\ncharlie\ndelta\necho\n", f);
    fclose(f);
    app.path = tmp;
  }
  wb_lag_t lag;
  double t0 = wb_now_ms();
  struct ev_loop *loop = app.loop = ev_loop_new(EVFLAG_AUTO);
  wb_lag_start(loop, &lag);
  ev_once(loop, -1, 0, 0., async_main, &app);
  ev_run(loop, 0); /* returns once the end (or the error) came */
  if (app.started)
    file_lines_close(&app.fl); /* `async with` ends: the thread is gone */
  wb_lag_stop(loop, &lag);
  ev_loop_destroy(loop);
  if (argc <= 1)
    unlink(tmp);
  wb_measured_print(stdout, wb_lag_longest_ms(&lag), wb_now_ms() - t0,
                    app.errors);
  return app.errors ? 1 : 0;
}
