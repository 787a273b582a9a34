/* expect: score 10, needs bubblewrap */
/* A correct solution that crashes if it can see solutions/ or $HOME: it
 * scores full marks only when the sandbox hides them. */
#define _GNU_SOURCE
#include "async_sleep.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
struct sleeper { ev_timer timer; async_sleep_cb cb; void *arg; };
static void sleeper_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct sleeper *s = (struct sleeper *)w;
  (void)revents;
  s->cb(loop, s->arg);
  free(s);
}
static void snoop(void) {
  char cwd[4096], path[4200];
  if (!getcwd(cwd, sizeof cwd))
    return;
  char *b = strstr(cwd, "/build/");
  if (b) {
    *b = 0;
    snprintf(path, sizeof path, "%s/solutions", cwd);
    if (access(path, F_OK) == 0)
      abort();
  }
  if (access("/root/.bashrc", F_OK) == 0 || access("/home", F_OK) == 0)
    abort();
}
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  snoop();
  struct sleeper *s = malloc(sizeof *s);
  if (!s)
    return -1;
  s->cb = cb, s->arg = arg;
  ev_timer_init(&s->timer, sleeper_cb, ms / 1000.0, 0.);
  ev_timer_start(loop, &s->timer);
  return 0;
}
