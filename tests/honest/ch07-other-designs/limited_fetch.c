/* An honest alternative: the first requests start inside limited_fetch,
 * ev_once ends an empty fetch, errors live in fixed buffers. */
#include "limited_fetch.h"
#include "wb_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct lf;
struct one { struct lf *f; char err[200]; };
struct lf {
  struct ev_loop *loop; const char *const *urls; size_t n, next, left;
  long tmo; lf_done_cb done; void *arg;
  struct lf_result *res; struct one *one;
};

static void end(struct lf *f) {
  f->done(f->loop, f->res, f->n, f->arg);
  free(f->res); free(f->one); free(f);
}

static void got(struct ev_loop *loop, long status, const char *body, size_t len,
                const char *error, void *arg);

static int go(struct lf *f) {
  while (f->next < f->n) {
    size_t i = f->next++;
    if (wb_http_get(f->loop, f->urls[i], f->tmo, got, &f->one[i], NULL) == 0)
      return 1;
    f->res[i].error = "could not start";
    f->left--;
  }
  return 0;
}

static void got(struct ev_loop *loop, long status, const char *body, size_t len,
                const char *error, void *arg) {
  struct one *o = arg;
  struct lf *f = o->f;
  size_t i = (size_t)(o - f->one);
  (void)loop, (void)body;
  f->res[i].status = status;
  f->res[i].len = len;
  if (error)
    snprintf(o->err, sizeof o->err, "%s", error);
  else if (status >= 400)
    snprintf(o->err, sizeof o->err, "HTTP %ld", status);
  if (error || status >= 400)
    f->res[i].error = o->err;
  f->left--;
  go(f);
  if (f->left == 0)
    end(f);
}

static void empty(int revents, void *arg) {
  (void)revents;
  end(arg);
}

int limited_fetch(struct ev_loop *loop, const char *const *urls, size_t n,
                  unsigned limit, long timeout_ms, lf_done_cb done, void *arg) {
  if (!limit)
    return -EINVAL;
  struct lf *f = calloc(1, sizeof *f);
  if (!f)
    return -ENOMEM;
  f->res = n ? calloc(n, sizeof *f->res) : NULL;
  f->one = n ? calloc(n, sizeof *f->one) : NULL;
  if (n && (!f->res || !f->one)) {
    free(f->res); free(f->one); free(f);
    return -ENOMEM;
  }
  f->loop = loop; f->urls = urls; f->n = f->left = n; f->tmo = timeout_ms;
  f->done = done; f->arg = arg;
  for (size_t i = 0; i < n; i++)
    f->one[i].f = f;
  if (n == 0) {
    ev_once(loop, -1, 0, 0., empty, f);
    return 0;
  }
  for (unsigned k = 0; k < limit && go(f); k++)
    ;
  if (f->left == 0) /* none could start */
    ev_once(loop, -1, 0, 0., empty, f);
  return 0;
}
