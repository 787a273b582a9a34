/* wb_lag.c - the loop-lag probe (see wb_lag.h). */
#define _GNU_SOURCE
#include "wb_lag.h"
#include "wb_sys.h"

#include <dirent.h>
#include <time.h>

/* Straight from the kernel: code under test that defines clock_gettime()
 * cannot make a blocked loop look idle (wb_sys.h). */
double wb_now_ms(void) { return wb_sys_now_ms(); }

static void lag_check_cb(struct ev_loop *loop, ev_check *w, int revents) {
  wb_lag_t *lag = w->data;
  (void)loop, (void)revents;
  lag->busy_since = wb_now_ms() / 1e3;
}

static void lag_close(wb_lag_t *lag) {
  if (lag->busy_since > 0) {
    double busy = wb_now_ms() / 1e3 - lag->busy_since;
    if (busy > lag->max_s)
      lag->max_s = busy;
    lag->busy_since = 0;
  }
}

static void lag_prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents) {
  (void)loop, (void)revents;
  lag_close(w->data);
}

void wb_lag_start(struct ev_loop *loop, wb_lag_t *lag) {
  lag->busy_since = 0;
  lag->max_s = 0;
  /* At EV_MAXPRI the check watcher runs first among the callbacks of an
   * iteration; at default priority it may run after a slow callback and
   * measure nothing. */
  ev_check_init(&lag->check, lag_check_cb);
  ev_set_priority(&lag->check, EV_MAXPRI);
  lag->check.data = lag;
  ev_check_start(loop, &lag->check);
  ev_unref(loop);
  ev_prepare_init(&lag->prepare, lag_prepare_cb);
  lag->prepare.data = lag;
  ev_prepare_start(loop, &lag->prepare);
  ev_unref(loop);
}

void wb_lag_stop(struct ev_loop *loop, wb_lag_t *lag) {
  lag_close(lag);
  if (ev_is_active(&lag->check)) {
    ev_ref(loop);
    ev_check_stop(loop, &lag->check);
  }
  if (ev_is_active(&lag->prepare)) {
    ev_ref(loop);
    ev_prepare_stop(loop, &lag->prepare);
  }
}

double wb_lag_longest_ms(wb_lag_t *lag) {
  lag_close(lag);
  return lag->max_s * 1e3;
}

int wb_lag_owns(const ev_watcher *w) {
  return w->cb == (void (*)(struct ev_loop *, ev_watcher *, int))lag_check_cb ||
         w->cb == (void (*)(struct ev_loop *, ev_watcher *, int))lag_prepare_cb;
}

int wb_open_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    return -1;
  for (struct dirent *e; (e = readdir(d));)
    n += e->d_name[0] != '.';
  closedir(d);
  return n - 1; /* the directory's own descriptor */
}

void wb_measured_print(FILE *out, double lag_ms, double elapsed_ms,
                       int errors) {
  fprintf(out, "measured: lag_ms=%.0f elapsed_ms=%.0f open_fds=%d errors=%d\n",
          lag_ms, elapsed_ms, wb_open_fds(), errors);
  fflush(out);
}
