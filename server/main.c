/* main.c - build/wbserver: the workbook's HTTP server as a program, for
 * trying the examples by hand against a server that stays up.
 * Usage: wbserver [PORT]   (default 8080; 0 picks a free port)
 */
#include "wb_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents) {
  (void)w;
  (void)revents;
  ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv) {
  struct ev_loop *loop = EV_DEFAULT;
  wb_server_t *srv;
  ev_signal sigint, sigterm;
  int port = argc > 1 ? atoi(argv[1]) : 8080;
  int err = wb_server_open(&srv, loop, "127.0.0.1", port);
  if (err < 0) {
    fprintf(stderr, "wbserver: cannot listen on 127.0.0.1:%d: %s\n", port,
            strerror(-err));
    return 1;
  }
  printf("wbserver: serving on http://127.0.0.1:%d/ (Ctrl-C stops)\n",
         wb_server_port(srv));
  fflush(stdout);
  /* The server's own watchers are unref'ed; the signal watchers keep the
   * loop running until Ctrl-C or SIGTERM. */
  ev_signal_init(&sigint, on_signal, SIGINT);
  ev_signal_init(&sigterm, on_signal, SIGTERM);
  ev_signal_start(loop, &sigint);
  ev_signal_start(loop, &sigterm);
  ev_run(loop, 0);
  wb_server_close(srv);
  return 0;
}
