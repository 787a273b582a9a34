/* child_server.h - the workbook's HTTP server in a child process, for the
 * programs of chapter 07 that limit their own descriptors: the server keeps
 * its own limit, so every failure counted is the client's.
 */
#ifndef CHILD_SERVER_H
#define CHILD_SERVER_H

#include "wb_server.h"

#include <ev.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Forks a child that serves on 127.0.0.1 until it is killed. Returns the
 * port (and sets *pid), or -1. The child opens the listening socket itself
 * and sends its port back through a pipe: nothing of its loop is shared. */
static inline int child_server_start(pid_t *pid) {
  int port = -1, p[2];
  if (pipe(p) < 0)
    return -1;
  *pid = fork();
  if (*pid == 0) {
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    wb_server_t *srv = NULL;
    close(p[0]);
    if (loop && wb_server_open(&srv, loop, "127.0.0.1", 0) == 0)
      port = wb_server_port(srv);
    if (write(p[1], &port, sizeof port) != sizeof port || port < 0)
      _exit(1);
    close(p[1]);
    ev_ref(loop); /* the server's watchers are unref'ed: stay up anyway */
    ev_run(loop, 0);
    _exit(0);
  }
  close(p[1]);
  if (*pid < 0 || read(p[0], &port, sizeof port) != sizeof port)
    port = -1;
  close(p[0]);
  return port;
}

/* Stops the child and waits for it. */
static inline void child_server_stop(pid_t pid) {
  if (pid > 0) {
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
  }
}

#endif /* CHILD_SERVER_H */
