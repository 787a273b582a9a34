/* util.c - buffers, files, hashing and clocks for the grader. */
#define _GNU_SOURCE
#include "gr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void *gr_xmalloc(size_t n) {
  void *p = calloc(1, n ? n : 1);
  if (!p) {
    fprintf(stderr, "grader: out of memory\n");
    exit(70);
  }
  return p;
}

char *gr_xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(gr_xmalloc(n), s, n);
}

void gr_buf_add(gr_buf_t *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
      fprintf(stderr, "grader: out of memory\n");
      exit(70);
    }
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = 0;
}

void gr_buf_printf(gr_buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (n < 0) {
    fprintf(stderr, "grader: out of memory\n");
    exit(70);
  }
  gr_buf_add(b, s, (size_t)n);
  free(s);
}

void gr_buf_free(gr_buf_t *b) {
  free(b->data);
  *b = (gr_buf_t){0};
}

int gr_read_file(const char *path, size_t max, gr_buf_t *out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  char chunk[65536];
  gr_buf_add(out, "", 0);
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return -e;
    }
    if (n == 0)
      break;
    if (out->len + (size_t)n > max) {
      close(fd);
      return -EFBIG;
    }
    gr_buf_add(out, chunk, (size_t)n);
  }
  close(fd);
  return 0;
}

int gr_write_file(const char *path, const char *data, size_t len) {
  char tmp[PATH_MAX + 16];
  snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return -errno;
  for (size_t off = 0; off < len;) {
    ssize_t n = write(fd, data + off, len - off);
    if (n <= 0) {
      int e = errno;
      close(fd);
      unlink(tmp);
      return -e;
    }
    off += (size_t)n;
  }
  close(fd);
  /* Renamed into place, so a reader never sees half a file. */
  return rename(tmp, path) < 0 ? -errno : 0;
}

int gr_copy_file(const char *from, const char *to) {
  gr_buf_t b = {0};
  int err = gr_read_file(from, 64 << 20, &b);
  if (err == 0)
    err = gr_write_file(to, b.data, b.len);
  gr_buf_free(&b);
  return err;
}

int gr_mkdirs(const char *path) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
        return -errno;
      *p = '/';
    }
  if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
    return -errno;
  return 0;
}

int gr_rmtree(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0)
    return errno == ENOENT ? 0 : -errno;
  if (!S_ISDIR(st.st_mode))
    return unlink(path) < 0 ? -errno : 0;
  DIR *d = opendir(path);
  if (d) {
    for (struct dirent *e; (e = readdir(d));) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      char sub[PATH_MAX];
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      gr_rmtree(sub);
    }
    closedir(d);
  }
  return rmdir(path) < 0 ? -errno : 0;
}

int gr_is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int gr_is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

unsigned long long gr_hash(unsigned long long h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

double gr_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int gr_color(FILE *f) {
  const char *nc = getenv("NO_COLOR");
  const char *term = getenv("TERM");
  return isatty(fileno(f)) && !(nc && *nc) && !(term && !strcmp(term, "dumb"));
}

const char *gr_c(FILE *f, const char *code) { return gr_color(f) ? code : ""; }

int gr_run_capture(char *const argv[], gr_buf_t *out, size_t cap) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return -1;
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return -1;
  }
  if (pid == 0) {
    dup2(p[1], 1);
    dup2(p[1], 2);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(p[1]);
  char chunk[4096];
  for (ssize_t n; (n = read(p[0], chunk, sizeof chunk)) != 0;) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    if (out && out->len < cap)
      gr_buf_add(out, chunk, (size_t)n < cap - out->len ? (size_t)n : cap - out->len);
  }
  close(p[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return status;
}

char *gr_xasprintf(const char *fmt, ...) {
  gr_buf_t b = {0};
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  gr_buf_add(&b, s ? s : "", s ? strlen(s) : 0);
  free(s);
  return b.data;
}

const char *gr_pts(double v, char buf[32]) {
  snprintf(buf, 32, "%.2f", v);
  char *dot = strchr(buf, '.');
  if (dot) {
    char *end = buf + strlen(buf) - 1;
    while (end > dot && *end == '0')
      *end-- = 0;
    if (end == dot)
      *end = 0;
  }
  if (!strcmp(buf, "-0"))
    strcpy(buf, "0");
  return buf;
}

int gr_full(double score, double max) {
  return max > 0 && score > max - 1e-6;
}

/* One tally for the process: each command that judges (verify, examples,
 * pictures --check) runs alone in its grader. */
static int verdicts[2];

void gr_verdict(int ok, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs(ok ? "  ok    " : "  FAIL  ", stdout);
  vprintf(fmt, ap);
  fputc('\n', stdout);
  va_end(ap);
  verdicts[!!ok]++;
}

int gr_verdicts(int ok) { return verdicts[!!ok]; }

unsigned long long gr_hash_file(unsigned long long h, const char *path) {
  gr_buf_t b = {0};
  if (gr_read_file(path, 64 << 20, &b) == 0)
    h = gr_hash(h, b.data, b.len);
  h = gr_hash(h, "\0", 1);
  gr_buf_free(&b);
  return h;
}
