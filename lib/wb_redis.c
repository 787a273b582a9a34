/* wb_redis.c - starts and stops a private redis-server (see wb_redis.h), and
 * asks it two things over a short blocking connection. It allocates nothing
 * and speaks just enough of Redis's protocol (RESP) for those two questions,
 * so the harness that uses it never shows up in a test's leak counts.
 */
#define _GNU_SOURCE
#include "wb_redis.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Removes the folder and whatever the server left in it (socket, log). */
static void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    char path[192];
    for (struct dirent *e; (e = readdir(d));) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      unlink(path);
    }
    closedir(d);
  }
  rmdir(dir);
}

int wb_redis_parse(const char *address, char *host, size_t hostlen, int *port) {
  if (!address || !*address)
    return -1;
  if (strchr(address, '/')) {
    if (strlen(address) >= sizeof ((struct sockaddr_un *)0)->sun_path ||
        strlen(address) >= hostlen)
      return -1;
    snprintf(host, hostlen, "%s", address);
    *port = 0;
    return 0;
  }
  const char *colon = strrchr(address, ':');
  char *end;
  long p = colon ? strtol(colon + 1, &end, 10) : 0;
  if (!colon || colon == address || *end || p <= 0 || p > 65535 ||
      (size_t)(colon - address) >= hostlen)
    return -1;
  snprintf(host, hostlen, "%.*s", (int)(colon - address), address);
  *port = (int)p;
  return 0;
}

/* A blocking connection to `address`, with 1 s bounds on connect, send and
 * receive (on Linux SO_SNDTIMEO also bounds connect). -1 on failure. */
static int connect_to(const char *address) {
  char host[108];
  int port, fd = -1;
  struct timeval tv = {1, 0};
  if (wb_redis_parse(address, host, sizeof host, &port) < 0)
    return -1;
  if (port == 0) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", host);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return -1;
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
      return fd;
    close(fd);
    return -1;
  }
  /* getaddrinfo allocates inside libc; it is freed before returning. */
  char service[8];
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
  snprintf(service, sizeof service, "%d", port);
  if (getaddrinfo(host, service, &hints, &ai) != 0)
    return -1;
  for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      continue;
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(ai);
  return fd;
}

/* Whether buf[0..len) holds one whole reply: a line (+, -, :) or a bulk
 * string ($N, then N bytes and CRLF). Enough for INFO and CLIENT KILL. */
static int reply_complete(const char *buf, size_t len) {
  const char *eol = memmem(buf, len, "\r\n", 2);
  if (!eol)
    return 0;
  if (buf[0] != '$')
    return 1;
  long n = atol(buf + 1);
  return n < 0 || (size_t)(eol - buf) + 2 + (size_t)n + 2 <= len;
}

/* Sends `cmd` (already in RESP) and reads one reply into buf, NUL ended.
 * Returns its length, or -1. */
static int query(const char *address, const char *cmd, char *buf, size_t len) {
  int fd = connect_to(address);
  if (fd < 0)
    return -1;
  size_t got = 0, n = strlen(cmd);
  if (send(fd, cmd, n, MSG_NOSIGNAL) != (ssize_t)n) {
    close(fd);
    return -1;
  }
  while (got + 1 < len && !(got && reply_complete(buf, got))) {
    ssize_t r = recv(fd, buf + got, len - 1 - got, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  close(fd);
  buf[got] = 0;
  return got && reply_complete(buf, got) ? (int)got : -1;
}

static int count_once(const char *address) {
  char buf[4096];
  if (query(address, "*2\r\n$4\r\nINFO\r\n$7\r\nclients\r\n", buf, sizeof buf) < 0)
    return -1;
  const char *at = strstr(buf, "connected_clients:");
  if (!at)
    return -1;
  return atoi(at + strlen("connected_clients:")) - 1; /* minus this one */
}

int wb_redis_client_count(const char *address) {
  int n = count_once(address);
  /* A client that closed its socket just before is still counted until
   * the server has read the end of file, an iteration of its loop later:
   * while any is counted, ask again a few times over about 20 ms. A
   * connection that stays open is counted every time. */
  for (int i = 0; i < 5 && n > 0; i++) {
    sleep_ms(4);
    n = count_once(address);
  }
  return n;
}

int wb_redis_kill_clients(const char *address) {
  char buf[256];
  if (query(address,
            "*6\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$4\r\nTYPE\r\n$6\r\nnormal\r\n"
            "$6\r\nSKIPME\r\n$3\r\nyes\r\n",
            buf, sizeof buf) < 0 ||
      buf[0] != ':')
    return -1;
  return atoi(buf + 1);
}

/* In the child: the log file as stdout and stderr, no other descriptor of
 * the parent's, then redis-server. Only async-signal-safe calls. */
static void exec_server(const wb_redis_t *r) {
  char log[96], sock[120];
  prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test or program */
  snprintf(log, sizeof log, "%s/redis.log", r->dir);
  snprintf(sock, sizeof sock, "%s", r->path);
  int in = open("/dev/null", O_RDONLY);
  int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
      dup2(out, 2) < 0)
    _exit(126);
  struct rlimit rl;
  int top = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536
                ? (int)rl.rlim_cur
                : 65536;
  for (int fd = 3; fd < top; fd++)
    close(fd);
  /* --maxclients stays below a sandbox's 256 descriptors, so the server
   * does not try to raise its limit (and complain in the log). --hz 100:
   * it acts on SIGTERM in its next tick, 10 ms away instead of 100. */
  char *argv[] = {"redis-server", "--port",    "0",  "--unixsocket",
                  sock,           "--save",    "",   "--appendonly",
                  "no",           "--dir",     (char *)r->dir,
                  "--maxclients", "200",       "--hz", "100", NULL};
  execvp("redis-server", argv);
  execv("/usr/bin/redis-server", argv);
  execv("/usr/sbin/redis-server", argv);
  _exit(127);
}

/* The first line of the server's log that says what went wrong, for the
 * message when it exits at once. */
static void print_log(const wb_redis_t *r) {
  char log[96], line[256];
  snprintf(log, sizeof log, "%s/redis.log", r->dir);
  FILE *f = fopen(log, "r");
  if (!f)
    return;
  int shown = 0;
  while (shown < 3 && fgets(line, sizeof line, f))
    if (strstr(line, "#") || strstr(line, "rror") || strstr(line, "FATAL")) {
      fprintf(stderr, "  redis-server: %s", line);
      shown++;
    }
  fclose(f);
}

int wb_redis_start(wb_redis_t *r, unsigned wait_ms) {
  const char *base = getenv("TMPDIR");
  if (!base || !*base || strlen(base) > 40)
    base = "/tmp";
  memset(r, 0, sizeof *r);
  snprintf(r->dir, sizeof r->dir, "%s/wb-redis-XXXXXX", base);
  if (!mkdtemp(r->dir)) {
    fprintf(stderr, "wb_redis: cannot create a folder in %s: %s\n", base,
            strerror(errno));
    r->dir[0] = 0;
    return -1;
  }
  snprintf(r->path, sizeof r->path, "%s/redis.sock", r->dir);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "wb_redis: cannot start redis-server: %s\n", strerror(errno));
    remove_dir(r->dir);
    return -1;
  }
  if (pid == 0)
    exec_server(r);
  r->pid = pid;

  double deadline = now_ms() + (wait_ms ? wait_ms : 5000);
  unsigned pause = 1;
  for (;;) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      r->pid = 0;
      if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        fprintf(stderr, "wb_redis: redis-server is not installed (Debian: "
                        "apt-get install redis-server)\n");
      else
        fprintf(stderr, "wb_redis: redis-server exited at once; its log says:\n"),
            print_log(r);
      break;
    }
    int fd = connect_to(r->path);
    if (fd >= 0) {
      close(fd);
      return 0;
    }
    if (now_ms() > deadline) {
      fprintf(stderr, "wb_redis: redis-server did not accept connections on "
                      "%s within %u ms\n", r->path, wait_ms ? wait_ms : 5000);
      print_log(r);
      break;
    }
    sleep_ms(pause);
    pause = pause < 4 ? pause * 2 : 4;
  }
  wb_redis_stop(r);
  return -1;
}

void wb_redis_stop(wb_redis_t *r) {
  if (r->pid > 0) {
    int status;
    kill(r->pid, SIGTERM);
    double deadline = now_ms() + 1000;
    while (waitpid(r->pid, &status, WNOHANG) == 0) {
      if (now_ms() > deadline) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, &status, 0);
        break;
      }
      sleep_ms(1);
    }
  }
  r->pid = 0;
  if (r->dir[0])
    remove_dir(r->dir);
  r->dir[0] = 0;
}

const char *wb_redis_address(int argc, char **argv, wb_redis_t *own) {
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--redis"))
      return argv[i + 1];
  if (wb_redis_start(own, 0) < 0) {
    fprintf(stderr, "no Redis to talk to: install redis-server, or give "
                    "--redis SOCKET_PATH or --redis HOST:PORT\n");
    return NULL;
  }
  return own->path;
}
