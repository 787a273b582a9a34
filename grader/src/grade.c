/* grade.c - grades a submission: finds each learner file, compiles it (in
 * the sandbox, once per content: objects are cached by hash), links it
 * with the exercise's tests (compiled once) and the support library, runs
 * every test in a process of its own, and turns what came back on the
 * runner's authenticated channel into scores and plain-words messages.
 * Nothing a submission prints is ever parsed for a verdict.
 */
#define _GNU_SOURCE
#include "grade.h"
#include "../support/wbtest.h" /* struct wb_test: the size of a table entry */
#include "../support/wbtest_internal.h"

#include <jansson.h>

#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Part of every cache key: raised when what is checked at compile time, or
 * how a result is made, changes, so that nothing older is reused. */
#define CACHE_VERSION "15"
/* Learner files see the POSIX and GNU functions (usleep, strdup, asprintf)
 * as the chapter programs do; defined empty, so that a file's own
 * `#define _GNU_SOURCE` is the same definition and not a warning. */
#define LEARNER_CFLAGS                                                         \
  "-std=c17", "-D_GNU_SOURCE=", "-g", "-O1", "-Wall", "-Wextra",               \
      "-Werror=implicit-function-declaration", "-Werror=prio-ctor-dtor",        \
      "-Werror=return-type", "-Werror=incompatible-pointer-types"
#define TEST_CFLAGS "-std=c17", "-g", "-O1", "-Wall", "-Wextra", "-Wpedantic", "-Werror"



/* check --timeline: where each test's picture goes, or NULL. */
static const char *timeline_dir;

void gr_grade_timeline(const char *dir) { timeline_dir = dir; }

static const char *status_words[] = {
    "passed", "failed", "crashed", "timed out", "no result", "not run",
    "could not grade"};

const char *gr_status_text(enum gr_test_status s) { return status_words[s]; }

/* Jobs are referenced by the engine until they end: each is allocated on
 * its own, so nothing moves a job in flight. */
static gr_job_t *new_job(void) {
  gr_job_t *job = gr_xmalloc(sizeof(gr_job_t));
  memset(job, 0, sizeof *job);
  job->engine_frees = 1;
  return job;
}

#define xasprintf gr_xasprintf

/* ---- Compiling --------------------------------------------------------- */


/* The C files of a folder, in name order: the headers only (`sources`
 * 0), or the .c files too. */
static unsigned long long hash_folder(unsigned long long h, const char *dir, int sources) {
  DIR *d = opendir(dir);
  char *names[64];
  int n = 0;
  if (!d)
    return h;
  for (struct dirent *e; (e = readdir(d)) && n < 64;) {
    size_t len = strlen(e->d_name);
    if (len > 2 && (!strcmp(e->d_name + len - 2, ".h") ||
                    (sources && !strcmp(e->d_name + len - 2, ".c"))))
      names[n++] = gr_xstrdup(e->d_name);
  }
  closedir(d);
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (strcmp(names[i], names[j]) > 0) {
        char *t = names[i];
        names[i] = names[j];
        names[j] = t;
      }
  for (int i = 0; i < n; i++) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    h = gr_hash(h, names[i], strlen(names[i]));
    h = gr_hash_file(h, p);
    free(names[i]);
  }
  return h;
}

/* The exercise's headers are part of every key: a changed contract must
 * rebuild both sides. */
static unsigned long long hash_headers(unsigned long long h, const char *dir) {
  return hash_folder(h, dir, 0);
}

static void cache_path(const gr_workbook_t *wb, unsigned long long key,
                       const char *ext, char *out) {
  snprintf(out, PATH_MAX, "%s/cache/%016llx%s", wb->build, key, ext);
}

static void add_args(gr_job_t *job, int *n, const char *const *args) {
  for (int i = 0; args[i] && *n < 62; i++)
    job->argv[(*n)++] = gr_xstrdup(args[i]);
}

static void add_words(gr_job_t *job, int *n, const char *words) {
  char *copy = gr_xstrdup(words), *save = NULL;
  for (char *w = strtok_r(copy, " ", &save); w && *n < 62;
       w = strtok_r(NULL, " ", &save))
    job->argv[(*n)++] = gr_xstrdup(w);
  free(copy);
}

static void base_env(gr_job_t *job, int sanitize) {
  int n = 0;
  job->env[n++] = gr_xstrdup("PATH=/usr/bin:/bin");
  job->env[n++] = gr_xstrdup("HOME=/tmp");
  job->env[n++] = gr_xstrdup("LANG=C.UTF-8");
  job->env[n++] = gr_xstrdup("TZ=UTC");
  job->env[n++] = gr_xstrdup("TMPDIR=/tmp");
  if (sanitize)
    job->env[n++] = gr_xstrdup(
        "ASAN_OPTIONS=detect_leaks=1:exitcode=23:hard_rss_limit_mb=1024:"
        "allocator_may_return_null=1:print_summary=1:"
        "detect_stack_use_after_return=1");
  job->env[n] = NULL;
}

static void link_exercise(struct ex_ctx *c);
static void compile_done(gr_job_t *job);

/* Rewrites "async_sleep.c:12:5: error" to the name the learner knows. */
static char *learner_log(struct ex_ctx *c, const char *log) {
  gr_buf_t b = {0};
  const gr_exercise_t *ex = c->res->ex;
  for (const char *s = log; *s;) {
    const char *eol = strchr(s, '\n');
    size_t len = eol ? (size_t)(eol - s + 1) : strlen(s);
    int replaced = 0;
    for (int f = 0; f < ex->nfiles && !replaced; f++) {
      size_t fl = strlen(ex->files[f]);
      if (len > fl && !strncmp(s, ex->files[f], fl) && s[fl] == ':') {
        gr_buf_add(&b, c->display[f], strlen(c->display[f]));
        gr_buf_add(&b, s + fl, len - fl);
        replaced = 1;
      }
    }
    if (!replaced)
      gr_buf_add(&b, s, len);
    s += len;
  }
  gr_buf_add(&b, "", 0);
  return b.data;
}

/* The first failure names the exercise's state, except that a fault of the
 * workbook's own (its tests did not build) always wins: whichever job ends
 * first, an exercise that cannot be graded fairly says so. */
static void ex_fail(struct ex_ctx *c, enum gr_ex_state st, char *detail) {
  gr_grade_fail(c, st, detail);
}

void gr_grade_fail(struct ex_ctx *c, enum gr_ex_state st, char *detail) {
  if (c->failed && st == GR_EX_INTERNAL && c->res->state != GR_EX_INTERNAL) {
    free(c->res->detail);
    c->failed = 0;
  }
  if (!c->failed) {
    c->failed = 1;
    c->res->state = st;
    c->res->detail = detail;
  } else {
    free(detail);
  }
}

struct compile_data {
  struct ex_ctx *c;
  int index;     /* into c->objs */
  int learner;   /* a learner file (sandboxed, errors shown) */
  enum gr_cc mode;
  char dir[PATH_MAX]; /* its own writable folder: c->work/ccINDEX */
  char out[PATH_MAX];
};

/* Every job that writes gets a folder of its own, never shared with
 * another job in flight: the engine hands a compile's folder to the uid
 * of the slot it runs in, and two jobs sharing one would take it from
 * each other (a link then "cannot open output file": no fault of the
 * learner's). */
static int job_folder(char *out, const char *work, const char *kind, int index) {
  snprintf(out, PATH_MAX, "%s/%s%d", work, kind, index);
  if (gr_mkdirs(out) < 0)
    return -1;
  chmod(out, 0755);
  return 0;
}

void gr_grade_compile(struct ex_ctx *c, int index, const char *src, enum gr_cc mode) {
  const gr_exercise_t *ex = c->res->ex;
  int learner = mode == GR_CC_LEARNER || mode == GR_CC_TESTS_FILE;
  int impl = mode == GR_CC_IMPL_SHIPPED || mode == GR_CC_IMPL_GRADING;
  gr_workbook_t *wb = c->wb;
  const char *san = c->opt->sanitize ? WB_SAN : "";
  unsigned long long key = gr_hash(GR_HASH_INIT, CACHE_VERSION, sizeof CACHE_VERSION);
  key = gr_hash(key, WB_CC, strlen(WB_CC));
  key = gr_hash(key, san, strlen(san) + 1);
  key = gr_hash(key, &(int){(int)mode}, sizeof(int));
  key = gr_hash_file(key, src);
  key = hash_headers(key, ex->dir);
  if (!learner || mode == GR_CC_TESTS_FILE) {
    char wbtest[PATH_MAX];
    snprintf(wbtest, sizeof wbtest, "%s/grader/support/wbtest.h", wb->root);
    key = gr_hash_file(key, wbtest);
  }
  c->keys[index] = key;
  cache_path(wb, key, ".o", c->objs[index]);
  if (gr_is_file(c->objs[index]))
    return; /* compiled before: same source, same headers, same flags */
  c->res->cached = 0;
  struct compile_data *d = gr_xmalloc(sizeof *d);
  d->c = c;
  d->index = index;
  d->learner = learner;
  d->mode = mode;
  char copy[PATH_MAX * 2];
  /* An implementation under test is compiled as impl.c: its object names
   * no file that would tell a test which one it is. */
  if (job_folder(d->dir, c->work, "cc", index) < 0 ||
      ((learner || impl) &&
       (snprintf(copy, sizeof copy, "%s/%s", d->dir, impl ? "impl.c" : strrchr(src, '/') + 1),
        gr_copy_file(src, copy) < 0))) {
    ex_fail(c, GR_EX_INTERNAL, xasprintf("could not prepare %s to compile it", d->dir));
    free(d);
    return;
  }
  gr_job_t *job = new_job();
  int n = 0;
  job->argv[n++] = gr_xstrdup(WB_CC);
  if (learner) {
    static const char *const lf[] = {LEARNER_CFLAGS, NULL};
    add_args(job, &n, lf);
  } else if (impl) {
    static const char *const shipped[] = {IMPL_SHIPPED_CFLAGS, NULL};
    static const char *const grading[] = {IMPL_GRADING_CFLAGS, NULL};
    add_args(job, &n, mode == GR_CC_IMPL_SHIPPED ? shipped : grading);
  } else {
    static const char *const tf[] = {TEST_CFLAGS, NULL};
    add_args(job, &n, tf);
    /* Paths relative to the workbook (what messages show), whichever copy
     * of it compiled the test first: cached objects are shared by content. */
    char map[PATH_MAX + 32];
    snprintf(map, sizeof map, "-ffile-prefix-map=%s/=", wb->root);
    job->argv[n++] = gr_xstrdup(map);
  }
  if (c->opt->sanitize)
    add_words(job, &n, WB_SAN);
  char inc[PATH_MAX + 4];
  /* Learner files see only their exercise's headers (copied next to them)
   * and the workbook's shared runtime (lib/, server/). */
  snprintf(inc, sizeof inc, "-I%s", c->work);
  job->argv[n++] = gr_xstrdup(inc);
  snprintf(inc, sizeof inc, "-I%s/lib", wb->root);
  job->argv[n++] = gr_xstrdup(inc);
  snprintf(inc, sizeof inc, "-I%s/server", wb->root);
  job->argv[n++] = gr_xstrdup(inc);
  if (!learner || mode == GR_CC_TESTS_FILE) {
    snprintf(inc, sizeof inc, "-I%s/grader/support", wb->root);
    job->argv[n++] = gr_xstrdup(inc);
  }
  job->argv[n++] = gr_xstrdup("-c");
  /* Learner files are compiled from their copy in the work folder, by
   * their bare name, so messages start with that name. */
  job->argv[n++] = gr_xstrdup(impl ? "impl.c" : learner ? strrchr(src, '/') + 1 : src);
  job->argv[n++] = gr_xstrdup("-o");
  snprintf(d->out, sizeof d->out, "%s/obj.o", d->dir);
  job->argv[n++] = gr_xstrdup(d->out);
  job->argv[n] = NULL;
  base_env(job, 0);
  job->sb.compile = 1;
  job->sb.trusted = !learner;
  job->sb.workdir = d->dir;
  static char lib_dir[PATH_MAX], server_dir[PATH_MAX];
  snprintf(lib_dir, sizeof lib_dir, "%s/lib", wb->root);
  snprintf(server_dir, sizeof server_dir, "%s/server", wb->root);
  job->sb.ro[0] = lib_dir;
  job->sb.ro[1] = server_dir;
  job->sb.ro[2] = c->work; /* the exercise's headers, read-only */
  static char support_dir[PATH_MAX];
  snprintf(support_dir, sizeof support_dir, "%s/grader/support", wb->root);
  if (mode == GR_CC_TESTS_FILE)
    job->sb.ro[3] = support_dir; /* wbtest.h */
  job->sb.timeout_s = 60;
  job->out_cap = 32 << 10;
  job->done = compile_done;
  job->data = d;
  job->group = c->group;
  c->pending++;
  gr_engine_submit(job);
}

/* The names of build/reserved-symbols.txt, sorted (made with the grader). */
static char **reserved_names;
static size_t nreserved;
static const char *reserved_dir;

static int by_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Where a global name the learner's file defines already comes from, or
 * NULL if nowhere. Each entry is "NAME\0FROM". */
static const char *is_reserved(const char *name) {
  char base[256];
  snprintf(base, sizeof base, "%.*s", (int)strcspn(name, "@"), name);
  const char *key = base;
  char **hit = nreserved ? bsearch(&key, reserved_names, nreserved, sizeof *reserved_names, by_str)
                         : NULL;
  return hit ? *hit + strlen(*hit) + 1 : NULL;
}

/* 0, or -1 if the list is missing (the workbook was not built whole). */
static int load_reserved(const gr_workbook_t *wb) {
  if (reserved_dir)
    return nreserved ? 0 : -1;
  reserved_dir = wb->build;
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/reserved-symbols.txt", wb->build);
  static gr_buf_t b;
  if (gr_read_file(path, 16 << 20, &b) < 0)
    return -1;
  size_t cap = 4096;
  reserved_names = gr_xmalloc(cap * sizeof *reserved_names);
  char *save = NULL;
  for (char *l = strtok_r(b.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    if (nreserved == cap) {
      char **more = gr_xmalloc(2 * cap * sizeof *more);
      memcpy(more, reserved_names, cap * sizeof *more);
      free(reserved_names);
      reserved_names = more;
      cap *= 2;
    }
    char *tab = strchr(l, '\t');
    if (!tab)
      continue;
    *tab = 0; /* "NAME\0FROM" */
    reserved_names[nreserved++] = l;
  }
  qsort(reserved_names, nreserved, sizeof *reserved_names, by_str);
  return nreserved ? 0 : -1;
}

/* What goes into the cache was made as a job's uid: it becomes the
 * grader's, read-only to others, so that no later job running as that uid
 * (without bubblewrap, the cache is in view) can change another
 * submission's build through it. */
static int own_cached(const char *path, mode_t mode) {
  if (gr_sandbox_own_uid() && chown(path, 0, 0) < 0)
    return -1; /* then it is used from where it is, and not kept */
  chmod(path, mode);
  return 0;
}

/* The learner's calls of malloc, calloc, realloc, strdup and strndup go to
 * the support library's wb__learner_* functions (wraps.c), which count
 * them and fail the one a test asks for (wb_fail_alloc): the learner's
 * N-th allocation, not that of the test or of Check. Done after the ELF
 * check, which refuses wb__ names in the learner's own source. */
int gr_route_allocations(const char *obj) {
  char *argv[32];
  int n = 0;
  static char pairs[8][64];
  argv[n++] = "objcopy";
  int k = 0;
#define X(fn)                                                                  \
  snprintf(pairs[k], sizeof pairs[k], #fn "=wb__learner_" #fn);                \
  argv[n++] = "--redefine-sym";                                                \
  argv[n++] = pairs[k++];
  WB_ALLOC_FUNCS(X)
#undef X
  argv[n++] = (char *)obj;
  argv[n] = NULL;
  gr_buf_t out = {0};
  int st = gr_run_capture(argv, &out, 4096);
  gr_buf_free(&out);
  return st == 0 ? 0 : -1;
}

static void compile_done(gr_job_t *job) {
  struct compile_data *d = job->data;
  struct ex_ctx *c = d->c;
  struct stat st;
  char *why = NULL;
  int ok = job->status != -1 && WIFEXITED(job->status) &&
           WEXITSTATUS(job->status) == 0 && lstat(d->out, &st) == 0 &&
           S_ISREG(st.st_mode);
  if (ok && d->learner && load_reserved(c->wb) < 0) {
    ex_fail(c, GR_EX_INTERNAL,
            xasprintf("build/reserved-symbols.txt is missing: the workbook is "
                      "not fully built (run make)."));
    ok = 0;
  } else if (ok && d->learner &&
             (why = gr_elf_forbidden(d->out, is_reserved, d->mode == GR_CC_TESTS_FILE))) {
    ex_fail(c, GR_EX_BAD_FILE, why);
    unlink(d->out);
    free(d);
    --c->pending;
    return;
  } else if (ok && (d->mode == GR_CC_LEARNER || d->mode == GR_CC_IMPL_SHIPPED ||
                    d->mode == GR_CC_IMPL_GRADING) &&
             gr_route_allocations(d->out) < 0) {
    ex_fail(c, GR_EX_INTERNAL,
            xasprintf("the grader could not prepare your compiled file "
                      "(objcopy failed): a fault of the grader or the "
                      "machine, not of your file."));
    ok = 0;
  }
  if (ok && own_cached(d->out, 0644) < 0)
    snprintf(c->objs[d->index], PATH_MAX, "%s", d->out); /* not cached */
  else if (ok && rename(d->out, c->objs[d->index]) < 0)
    ok = 0;
  if (!ok) {
    const gr_exercise_t *ex = c->res->ex;
    const char *src = d->learner || c->ct ? NULL : ex->sources[d->index - c->nobjs_learner];
    int hidden = 0;
    for (int t = 0; src && t < ex->ntests; t++)
      hidden |= ex->tests[t].hidden && !strcmp(ex->tests[t].source, src);
    if (hidden) {
      /* The instructor sees why; the learner's report shows neither the
       * hidden file's path nor its code. */
      fprintf(stderr, "grader: the hidden test file %s did not compile:\n%s\n",
              src, job->out.data ? job->out.data : "");
      ex_fail(c, GR_EX_INTERNAL,
              xasprintf("one of the instructor's hidden test files (%s) did "
                        "not compile: a fault of the hidden tests, not of the "
                        "submission. The grader's error output says more.",
                        strrchr(src, '/') + 1));
    } else if (!d->learner || job->status == -1) {
      ex_fail(c, GR_EX_INTERNAL,
              xasprintf("the workbook's own %s did not compile: this "
                        "is a fault of the workbook, not of the submission.\n%s",
                        c->ct ? "implementation under test" : "test file",
                        job->out.data ? job->out.data : ""));
    } else if (job->timed_out) {
      ex_fail(c, GR_EX_COMPILE_ERROR,
              xasprintf("compiling took longer than %.0f s and was stopped.",
                        job->sb.timeout_s));
    } else {
      ex_fail(c, GR_EX_COMPILE_ERROR,
              learner_log(c, job->out.data ? job->out.data : "(no message)"));
    }
  }
  free(d);
  if (--c->pending == 0 && !c->failed)
    link_exercise(c);
}

/* ---- Linking and running ----------------------------------------------- */

static void run_tests(struct ex_ctx *c, int source);
static void link_done(gr_job_t *job);

struct link_data {
  struct ex_ctx *c;
  int source;
  char dir[PATH_MAX]; /* its own writable folder: c->work/lnSOURCE */
  char out[PATH_MAX];
};

/* The runner and the test-support library, which holds the parts of the
 * runtime that tests use (server, lag probe) but not the chapters' helpers
 * such as lib/wb_http: an exercise may ask the learner to write those. */
static void runtime_paths(const gr_workbook_t *wb, int sanitize, char *runner,
                          char *support) {
  const char *v = sanitize ? "asan" : "obj";
  snprintf(runner, PATH_MAX, "%s/%s/grader/support/runner.o", wb->build, v);
  if (sanitize)
    snprintf(support, PATH_MAX, "%s/asan/libwbtest.a", wb->build);
  else
    snprintf(support, PATH_MAX, "%s/libwbtest.a", wb->build);
}

static unsigned long long stat_key(unsigned long long h, const char *path) {
  struct stat st;
  if (stat(path, &st) == 0) {
    h = gr_hash(h, &st.st_size, sizeof st.st_size);
    h = gr_hash(h, &st.st_mtim, sizeof st.st_mtim);
  }
  return h;
}

/* ---- Results cached by content --------------------------------------- */
/* The same binaries (same learner files, tests, runtime) run with the same
 * options pass the same tests: an exercise whose every test passed in one
 * run is kept under a key made of all of them and reused, unless
 * --no-cache. Nothing else is kept: a failure may say more about the
 * machine (a busy core, too few descriptors, a job killed from outside)
 * than about the code, and a kept one would be handed to every identical
 * file; passes gathered over several runs would add up lucky ones. */

/* A test is kept under its file and name: a hidden test may share a name
 * with a visible one. */
static void result_name(const gr_test_t *t, char *out, size_t len) {
  const char *base = strrchr(t->source, '/');
  snprintf(out, len, "%s%s:%s", t->hidden ? "hidden/" : "", base ? base + 1 : t->source,
           t->name);
}

/* Fills in the kept passes of every test of this exercise and returns how
 * many there are, or leaves the tests alone and returns 0. */
static int load_results(struct ex_ctx *c) {
  char path[PATH_MAX], name[256];
  cache_path(c->wb, c->result_key, ".result", path);
  json_t *root = json_load_file(path, 0, NULL);
  json_t *tests = json_object_get(root, "passed");
  gr_ex_result_t *res = c->res;
  int reused = 0;
  for (int t = 0; json_is_object(tests) && t < res->ntests; t++) {
    gr_test_result_t *tr = &res->tests[t];
    result_name(tr->test, name, sizeof name);
    json_t *r = json_object_get(tests, name);
    if (!json_is_object(r))
      continue;
    const char *o = json_string_value(json_object_get(r, "output"));
    const char *m = json_string_value(json_object_get(r, "message"));
    tr->status = GR_PASS;
    tr->score = tr->test->points;
    tr->secs = json_number_value(json_object_get(r, "secs"));
    tr->output = o && *o ? gr_xstrdup(o) : NULL;
    tr->message = m && *m ? gr_xstrdup(m) : NULL;
    reused++;
  }
  /* Learner-written tests: how each did, said once for the exercise. */
  const char *detail = json_string_value(json_object_get(root, "detail"));
  int learner_tests = (int)json_integer_value(json_object_get(root, "learner_tests"));
  if (reused == res->ntests && res->ex->learner_tests && (!detail || !learner_tests))
    reused = 0; /* kept by an older grader: not whole */
  if (reused == res->ntests && detail) {
    free(res->detail);
    res->detail = gr_xstrdup(detail);
    res->learner_test_count = learner_tests;
  }
  json_decref(root);
  if (reused == res->ntests)
    return reused;
  for (int t = 0; t < res->ntests; t++) { /* all or nothing */
    gr_test_result_t *tr = &res->tests[t];
    free(tr->output);
    tr->output = NULL;
    free(tr->message);
    tr->message = NULL;
    tr->status = GR_NOT_RUN;
    tr->score = 0;
    tr->secs = 0;
  }
  return 0;
}

static void save_results(struct ex_ctx *c) {
  gr_ex_result_t *res = c->res;
  char name[256];
  if (!c->result_key || res->state != GR_EX_BUILT || res->results_cached == res->ntests)
    return;
  json_t *tests = json_object();
  int kept = 0;
  for (int t = 0; t < res->ntests; t++)
    if (res->tests[t].status != GR_PASS)
      return; /* kept only when every test passed in this one run */
  for (int t = 0; t < res->ntests; t++) {
    gr_test_result_t *tr = &res->tests[t];
    result_name(tr->test, name, sizeof name);
    json_object_set_new(tests, name, json_pack("{s:s?, s:s?, s:f}", "output", tr->output,
                                               "message", tr->message, "secs", tr->secs));
    kept++;
  }
  if (!kept) {
    json_decref(tests);
    return;
  }
  json_t *root = json_pack("{s:o}", "passed", tests);
  if (res->ex->learner_tests) {
    if (res->wrong_tests) { /* a wrong test is worth saying again */
      json_decref(root);
      return;
    }
    json_object_set_new(root, "detail", json_string(res->detail ? res->detail : ""));
    json_object_set_new(root, "learner_tests", json_integer(res->learner_test_count));
  }
  char path[PATH_MAX], tmp[PATH_MAX + 32];
  cache_path(c->wb, c->result_key, ".result", path);
  snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
  /* written aside, then renamed: a reader never sees half a file */
  if (json_dump_file(root, tmp, JSON_COMPACT) == 0)
    rename(tmp, path);
  else
    unlink(tmp);
  json_decref(root);
}

static unsigned long long bin_key(struct ex_ctx *c, int s, const char *runner,
                                  const char *support) {
  int tobj = c->nobjs_learner + s;
  unsigned long long key = gr_hash(GR_HASH_INIT, "bin", 3);
  for (int i = 0; i < c->nobjs_learner; i++)
    key = gr_hash(key, &c->keys[i], sizeof c->keys[i]);
  key = gr_hash(key, &c->keys[tobj], sizeof c->keys[tobj]);
  key = stat_key(key, runner);
  return stat_key(key, support);
}

static void link_exercise(struct ex_ctx *c) {
  const gr_exercise_t *ex = c->res->ex;
  char runner[PATH_MAX], support[PATH_MAX];
  runtime_paths(c->wb, c->opt->sanitize, runner, support);
  unsigned long long rk = gr_hash(GR_HASH_INIT, "result" CACHE_VERSION, sizeof("result" CACHE_VERSION));
  unsigned long long keys[GR_MAX_BINS];
  for (int s = 0; s < c->nbins; s++) {
    keys[s] = bin_key(c, s, runner, support);
    rk = gr_hash(rk, &keys[s], sizeof keys[s]);
  }
  int opts[4] = {c->opt->sanitize, (int)(c->opt->test_timeout_s * 1000),
                 c->in_place, c->opt->libev_flags};
  c->result_key = gr_hash(rk, opts, sizeof opts);
  /* A kept pass has no picture: with --timeline every test runs. A handout
   * keeps no result of learner-written tests: what it shows is not a pass. */
  if (c->ct && c->ct_handout)
    c->result_key = 0;
  else if (!c->opt->no_cache && !timeline_dir)
    c->res->results_cached = load_results(c);
  if (c->res->results_cached == ex->ntests)
    return; /* every test passed before: nothing to run */
  for (int s = 0; s < c->nbins; s++) {
    char cached[PATH_MAX];
    cache_path(c->wb, keys[s], ".bin", cached);
    /* The test runs from its own hard link in the work folder: the sandbox
     * then shows it that folder only, never the whole cache. For tests the
     * learner wrote, the folder's name is random and the program's name
     * the same for every implementation: neither tells which it is. */
    char folder[PATH_MAX];
    if (c->ct) {
      unsigned char raw[8];
      if (getrandom(raw, sizeof raw, 0) != sizeof raw)
        for (size_t i = 0; i < sizeof raw; i++)
          raw[i] = (unsigned char)rand();
      snprintf(folder, sizeof folder, "%s/%02x%02x%02x%02x%02x%02x%02x%02x", c->work,
               raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7]);
    }
    if (c->ct ? gr_mkdirs(folder) < 0 || chmod(folder, 0755) < 0
              : job_folder(folder, c->work, "ln", s) < 0) {
      ex_fail(c, GR_EX_INTERNAL, xasprintf("could not create %s", folder));
      return;
    }
    if (c->ct)
      snprintf(c->bin[s], PATH_MAX, "%s/tests", folder);
    else
      snprintf(c->bin[s], PATH_MAX, "%s/test%d", folder, s);
    if (gr_is_file(cached) && link(cached, c->bin[s]) == 0) {
      if (c->ct)
        gr_catch_bin_ready(c, s);
      else
        run_tests(c, s);
      continue;
    }
    c->res->cached = 0;
    gr_job_t *job = new_job();
    struct link_data *d = gr_xmalloc(sizeof *d);
    d->c = c;
    d->source = s;
    snprintf(d->dir, sizeof d->dir, "%s", folder);
    snprintf(d->out, sizeof d->out, "%s", cached);
    int n = 0;
    job->argv[n++] = gr_xstrdup(WB_CC);
    if (c->opt->sanitize)
      add_words(job, &n, WB_SAN);
    job->argv[n++] = gr_xstrdup("-o");
    job->argv[n++] = gr_xstrdup(c->bin[s]);
    /* The runner comes first: its .preinit_array entry then runs before
     * anything of the learner's. */
    job->argv[n++] = gr_xstrdup(runner);
    for (int i = 0; i < c->nobjs_learner; i++)
      job->argv[n++] = gr_xstrdup(c->objs[i]);
    job->argv[n++] = gr_xstrdup(c->objs[c->nobjs_learner + s]);
    job->argv[n++] = gr_xstrdup(support);
    add_words(job, &n, WB_LIBS);
    gr_buf_t wrap = {0};
    gr_buf_printf(&wrap, "-Wl,--wrap=ev_timer_again,--wrap=ev_once");
#define X(type) gr_buf_printf(&wrap, ",--wrap=ev_" #type "_start,--wrap=ev_" #type "_stop");
    WB_WATCHER_TYPES(X)
#undef X
    job->argv[n++] = wrap.data;
    job->argv[n] = NULL;
    base_env(job, 0);
    job->sb.compile = 1;
    job->sb.workdir = d->dir;
    static char build_dir[PATH_MAX];
    snprintf(build_dir, sizeof build_dir, "%s", c->wb->build);
    job->sb.ro[0] = build_dir;
    if (ex->impl_prebuilt)
      job->sb.ro[1] = ex->impl; /* a handout's reference objects */
    job->sb.timeout_s = 60;
    job->out_cap = 32 << 10;
    job->done = link_done;
    job->data = d;
    job->group = c->group;
    c->pending_links++;
    gr_engine_submit(job);
  }
}

static int tests_in_source(const struct ex_ctx *c, int source) {
  const gr_exercise_t *ex = c->res->ex;
  int n = 0;
  if (c->ct)
    return gr_catch_tests(c);
  for (int t = 0; t < ex->ntests; t++)
    n += !strcmp(ex->tests[t].source, ex->sources[source]);
  return n;
}

/* A test may use 1024 MiB (RLIMIT_AS); a program image of more than this
 * cannot even start. */
#define MAX_IMAGE_BYTES (768 << 20)

static void link_done(gr_job_t *job) {
  struct link_data *d = job->data;
  long long image;
  struct ex_ctx *c = d->c;
  c->pending_links--;
  if (job->status == -1 || !WIFEXITED(job->status) ||
      WEXITSTATUS(job->status) != 0) {
    const char *log = job->out.data ? job->out.data : "";
    if (strstr(log, "undefined reference to `wb_"))
      ex_fail(c, GR_EX_LINK_ERROR,
              xasprintf("your file calls a function of the workbook's own "
                        "library, which exercises do not get: the exercise "
                        "asks you to write that part yourself.\n%s",
                        log));
    else if (strstr(log, "undefined reference"))
      ex_fail(c, GR_EX_LINK_ERROR,
              xasprintf("your file compiled, but a function the tests call "
                        "is missing (was it renamed, deleted or made "
                        "static?):\n%s",
                        log));
    else if (strstr(log, "multiple definition"))
      ex_fail(c, GR_EX_LINK_ERROR,
              xasprintf("your file defines a function that the workbook "
                        "already has (main, or a test helper?):\n%s",
                        log));
    else if (job->status != -1 && !job->timed_out && WIFEXITED(job->status) &&
             (strstr(log, "relocation") || strstr(log, "undefined symbol")) &&
             !strstr(log, "cannot open") && !strstr(log, "Permission denied"))
      ex_fail(c, GR_EX_LINK_ERROR,
              xasprintf("your file compiled, but the tests could not be "
                        "linked with it:\n%s", log));
    else
      /* Anything else (a file the linker cannot read or write, a killed
       * or timed-out link, the sandbox) is no doing of the learner's. */
      ex_fail(c, GR_EX_INTERNAL,
              xasprintf("linking the tests failed for a reason of the "
                        "grader's or the machine's, not the submission's "
                        "(rebuild with make if a part is missing):\n%s", log));
  } else if ((image = gr_elf_load_size(c->bin[d->source])) > MAX_IMAGE_BYTES) {
    ex_fail(c, GR_EX_BAD_FILE,
            xasprintf("the test program would need %lld MiB of memory before "
                      "it even starts (a large global, static or thread-local "
                      "array?), more than a test may use (%d MiB). Make it "
                      "smaller, or allocate it with malloc when it is needed.",
                      image >> 20, MAX_IMAGE_BYTES >> 20));
  } else if (!gr_elf_tests_table_ok(c->bin[d->source], (size_t)tests_in_source(c, d->source),
                                    sizeof(struct wb_test)) && c->ct) {
    ex_fail(c, GR_EX_BAD_FILE,
            xasprintf("the grader found %d WB_TEST declarations in your file, "
                      "but the compiled program holds another number of tests: "
                      "write each test as WB_TEST(name, 1) { ... } END_TEST, "
                      "WB_TEST at the start of its line and never inside a "
                      "macro or #if, and add no test table of your own.",
                      tests_in_source(c, d->source)));
  } else if (!gr_elf_tests_table_ok(c->bin[d->source], (size_t)tests_in_source(c, d->source),
                                    sizeof(struct wb_test))) {
    ex_fail(c, GR_EX_BAD_FILE,
            xasprintf("the test program's table of tests is not the "
                      "workbook's: does your file add tests of its own, or "
                      "define __start_wb_tests or __stop_wb_tests? Only the "
                      "workbook's tests count."));
  } else {
    /* Keep the binary for next time (same objects, same runtime). */
    if (own_cached(c->bin[d->source], 0755) == 0 &&
        link(c->bin[d->source], d->out) < 0 && errno != EEXIST) {
      /* a missing cache entry only costs time */
    }
    if (!c->failed && c->ct)
      gr_catch_bin_ready(c, d->source);
    else if (!c->failed)
      run_tests(c, d->source);
  }
  free(d);
}

struct test_data {
  struct ex_ctx *c;
  gr_test_result_t *tr;
  int test, source;
  int attempt;     /* tries that did not start before this one */
  char secret[40];
};

#define START_TRIES 4 /* a test program that could not start is tried again */

/* What a test may print that the report keeps, and the room its trace
 * gets on top with --timeline (WB_TEST_TRACE_EVENTS events, about 250
 * bytes each as JSON). */
#define TEST_OUT_CAP (16 << 10)
#define TRACE_OUT_CAP (8 << 20)

static void test_done(gr_job_t *job);

/* One test in a process of its own, `attempt` 0 the first time; its
 * verdict goes into *tr, test `t` of the exercise (-1: a learner-written
 * test's run, catch.c). */
static void submit_run(struct ex_ctx *c, gr_test_result_t *tr, int t, int source,
                       int attempt, double delay) {
  gr_job_t *job = new_job();
  struct test_data *d = gr_xmalloc(sizeof *d);
  d->c = c;
  d->tr = tr;
  d->test = t;
  d->source = source;
  d->attempt = attempt;
  unsigned char raw[16];
  if (getrandom(raw, sizeof raw, 0) != sizeof raw)
    for (size_t i = 0; i < sizeof raw; i++)
      raw[i] = (unsigned char)(rand() ^ (int)getpid());
  for (int i = 0; i < 16; i++)
    snprintf(d->secret + 2 * i, 3, "%02x", raw[i]);
  int n = 0;
  job->argv[n++] = gr_xstrdup(c->bin[source]);
  job->argv[n++] = gr_xstrdup("--run");
  job->argv[n++] = gr_xstrdup(tr->test->name);
  job->argv[n] = NULL;
  base_env(job, c->opt->sanitize);
  int e = 0;
  while (job->env[e])
    e++;
  /* The runner reports where it was stuck half a second before the
   * grader's hard limit. */
  job->env[e++] = xasprintf("WB_ALARM_MS=%d",
                            (int)(c->opt->test_timeout_s * 1000) - 500);
  /* Only when asked: the tests then run on the backends it names. */
  if (c->opt->libev_flags)
    job->env[e++] = xasprintf("LIBEV_FLAGS=%d", c->opt->libev_flags);
  /* check --timeline: the test hands its recorded loop over on its
   * output, at its end (lib/wb_trace.h); there is room for it. */
  if (timeline_dir)
    job->env[e++] = gr_xstrdup("WB_TRACE=-");
  job->env[e] = NULL;
  job->secret = d->secret;
  /* Tests the learner wrote see their own program's folder only: never
   * the other implementations' programs, which they could compare. */
  job->sb.workdir = c->ct ? gr_catch_bin_dir(c, source) : c->work;
  job->sb.sanitizer = c->opt->sanitize;
  job->sb.timeout_s = c->opt->test_timeout_s;
  job->out_cap = TEST_OUT_CAP + (timeline_dir ? TRACE_OUT_CAP : 0);
  job->done = test_done;
  job->data = d;
  job->group = c->group;
  if (delay > 0)
    gr_engine_submit_after(job, delay);
  else
    gr_engine_submit(job);
}

static void submit_test(struct ex_ctx *c, int t, int source, int attempt, double delay) {
  submit_run(c, &c->res->tests[t], t, source, attempt, delay);
}

void gr_grade_run(struct ex_ctx *c, gr_test_result_t *tr, int bin) {
  submit_run(c, tr, -1, bin, 0, 0);
}

/* The next test of `source` after test `after` still to run, or -1. */
static int next_test(const struct ex_ctx *c, int source, int after) {
  const gr_exercise_t *ex = c->res->ex;
  for (int t = after + 1; t < ex->ntests; t++)
    if (!strcmp(ex->tests[t].source, ex->sources[source]) &&
        c->res->tests[t].status != GR_PASS) /* a kept pass is not run again */
      return t;
  return -1;
}

static void run_tests(struct ex_ctx *c, int source) {
  /* first_failure: one at a time; test_done starts the next. */
  for (int t = next_test(c, source, -1); t >= 0; t = next_test(c, source, t)) {
    submit_test(c, t, source, 0, 0);
    if (c->opt->first_failure)
      break;
  }
}

/* first_failure: after test `t` ended, the next one, or (when it failed)
 * none: the rest are marked not run. */
static void run_next_test(struct ex_ctx *c, int source, int t) {
  int failed = c->res->tests[t].status != GR_PASS;
  for (int n = next_test(c, source, t); n >= 0; n = next_test(c, source, n)) {
    if (!failed) {
      submit_test(c, n, source, 0, 0);
      return;
    }
    gr_test_result_t *tr = &c->res->tests[n];
    tr->status = GR_FAIL;
    tr->not_run = 1;
    tr->message = gr_xstrdup("not run: an earlier test failed");
  }
}

/* Replaces each "{cb:0xOFFSET}" of msg by "name() (file:line)". */
static char *symbolize(const char *bin, const char *msg) {
  if (!strstr(msg, "{cb:0x"))
    return gr_xstrdup(msg);
  gr_buf_t out = {0};
  for (const char *s = msg; *s;) {
    const char *m = strstr(s, "{cb:0x");
    if (!m) {
      gr_buf_add(&out, s, strlen(s));
      break;
    }
    gr_buf_add(&out, s, (size_t)(m - s));
    const char *end = strchr(m, '}');
    if (!end) {
      gr_buf_add(&out, m, strlen(m));
      break;
    }
    char addr[32];
    snprintf(addr, sizeof addr, "%.*s", (int)(end - m - 4), m + 4);
    char *argv[] = {"addr2line", "-f", "-s", "-e", (char *)bin, addr, NULL};
    gr_buf_t res = {0};
    int st = gr_run_capture(argv, &res, 4096);
    char fn[128] = "", loc[256] = "";
    if (st == 0 && res.data &&
        sscanf(res.data, "%127s %255s", fn, loc) == 2 && strcmp(fn, "??")) {
      char *disc = strstr(loc, " (");
      if (disc)
        *disc = 0;
      if (!strncmp(loc, "??", 2))
        gr_buf_printf(&out, "%s()", fn);
      else
        gr_buf_printf(&out, "%s() (%s)", fn, loc);
    } else {
      gr_buf_printf(&out, "a callback at %s", addr);
    }
    gr_buf_free(&res);
    s = end + 1;
  }
  return out.data;
}

static const char *signal_words(int sig) {
  switch (sig) {
  case SIGSEGV: return "a segmentation fault (a bad or NULL pointer, or memory used after free?)";
  case SIGBUS: return "a bus error (a bad pointer?)";
  case SIGABRT: return "an abort (a failed assert, or memory corruption detected by free?)";
  case SIGFPE: return "an arithmetic error (division by zero?)";
  case SIGILL: return "an illegal instruction";
  case SIGXCPU: return "the CPU time limit (an endless loop?)";
  case SIGXFSZ: return "the file size limit (it wrote too much to a file)";
  case SIGKILL: return "SIGKILL (the memory limit, or it killed itself?)";
  case SIGPIPE: return "a broken pipe";
  default: return strsignal(sig);
  }
}

/* Parses the runner's record "WB1 SECRET NAME STATUS LEN\nMSG". Only a
 * record with this test's secret counts; anything else on the channel is
 * ignored. Returns the status word or NULL. */
static const char *parse_record(const gr_buf_t *r, const char *secret,
                                const char *name, char *msg, size_t msglen) {
  if (!r->data)
    return NULL;
  char head[256];
  snprintf(head, sizeof head, "WB1 %s %s ", secret, name);
  const char *p = strstr(r->data, head);
  if (!p)
    return NULL;
  p += strlen(head);
  static char status[16];
  size_t len;
  if (sscanf(p, "%15s %zu", status, &len) != 2)
    return NULL;
  const char *body = strchr(p, '\n');
  if (!body)
    return NULL;
  body++;
  size_t have = strlen(body);
  if (len > have)
    len = have;
  snprintf(msg, msglen, "%.*s", (int)len, body);
  return status;
}

/* The signal that ended a job, or 0. bubblewrap reports its child's death
 * by signal N as exit status 128 + N. */
static int job_signal(const gr_job_t *job) {
  if (WIFSIGNALED(job->status))
    return WTERMSIG(job->status);
  if (gr_isolation() == GR_ISO_BWRAP && WIFEXITED(job->status) &&
      WEXITSTATUS(job->status) > 128)
    return WEXITSTATUS(job->status) - 128;
  return 0;
}

/* Draws a test's trace as TIMELINE/EXERCISE/TEST.svg (and .json); the
 * picture's path, or a sentence saying why there is none ("no picture:
 * ..."), malloc'ed. */
static char *draw_timeline(struct ex_ctx *c, const struct test_data *d,
                           const char *trace, int cut) {
  const gr_test_result_t *tr = d->tr;
  if (!trace)
    return xasprintf("no picture: the test printed no timeline (it ended "
                     "before its teardown: a crash, or exit() in the code?)");
  char dir[PATH_MAX], base[PATH_MAX * 2], err[512];
  snprintf(dir, sizeof dir, "%s/%s", timeline_dir, c->res->ex->id);
  snprintf(base, sizeof base, "%s/%s", dir, tr->test->name);
  char *title = xasprintf("%s: %s (%s)", c->res->ex->id, tr->test->name,
                          gr_status_text(tr->status));
  gr_tl_opts_t o = {.title = title};
  int rc = gr_mkdirs(dir) < 0 ? (snprintf(err, sizeof err, "cannot create %s", dir), -1)
                              : gr_timeline_files(trace, strlen(trace), c->bin[d->source],
                                                  &o, base, err, sizeof err);
  free(title);
  if (rc < 0)
    return xasprintf("no picture: the test's timeline %s%s", cut ? "was cut short (the "
                     "test printed too much) and " : "", err);
  return xasprintf("%s.svg", base);
}

/* Puts the picture where a message asks for it (WB_TIMELINE_MARK): its
 * path, or with no --timeline the command that draws it. */
static char *timeline_words(char *msg, const struct ex_ctx *c, const char *picture) {
  char *at = strstr(msg, WB_TIMELINE_MARK);
  if (!at)
    return msg;
  char *words;
  if (picture && !strncmp(picture, "no picture", 10))
    words = xasprintf("\n(%s.)", picture);
  else if (picture)
    words = xasprintf("\nThe picture of this run: %s (open it in a browser).", picture);
  else
    words = xasprintf("\nTo see this run as a picture: build/grader check %s --timeline",
                      c->res->ex->id);
  char *out = xasprintf("%.*s%s%s", (int)(at - msg), msg, words,
                        at + strlen(WB_TIMELINE_MARK));
  free(words);
  free(msg);
  return out;
}

static void test_done(gr_job_t *job) {
  struct test_data *d = job->data;
  gr_test_result_t *tr = d->tr;
  struct ex_ctx *c = d->c;
  /* Whether the runner got going: it says so before any learner code. If
   * not, nothing of the learner's ran and trying again is fair; usually
   * the machine was briefly short of something (descriptors, processes
   * that a killed test left and that are not yet gone). */
  int started = job->status != -1 && job->result.data &&
                strncmp(job->result.data, "WB0 started\n", 12) == 0;
  /* A program stuck before it started (seen under heavy load, once in a
   * few thousand runs: its sandbox never came up) ran nothing of the
   * learner's either: it is tried again too. */
  if (!started && d->attempt + 1 < START_TRIES) {
    submit_run(c, d->tr, d->test, d->source, d->attempt + 1, 0.1 * (1 << d->attempt));
    free(d);
    return;
  }
  char msg[16384];
  const char *st = parse_record(&job->result, d->secret, tr->test->name, msg,
                                sizeof msg);
  /* The test's timeline (--timeline) is no part of what it printed. */
  int trace_cut = 0;
  char *trace = timeline_dir ? gr_timeline_take(&job->out, &trace_cut) : NULL;
  if (timeline_dir && job->out.len > TEST_OUT_CAP) {
    job->out_dropped += job->out.len - TEST_OUT_CAP;
    job->out.len = TEST_OUT_CAP;
    job->out.data[TEST_OUT_CAP] = 0;
  }
  const char *out = job->out.data ? job->out.data : "";
  gr_san_files_t files = {.n = c->res->ex->nfiles};
  for (int f = 0; f < files.n; f++) {
    files.files[f] = c->res->ex->files[f];
    files.shown[f] = c->display[f];
  }
  char *san = c->opt->sanitize ? gr_sanitizer_explain(out, &files) : NULL;
  tr->secs = job->secs;
  if (job->out.len || job->out_dropped)
    tr->output = job->out_dropped
                     ? xasprintf("[output cut: the first %zu bytes are "
                                 "kept, %zu more were dropped]\n%s",
                                 job->out.len, job->out_dropped, out)
                     : gr_xstrdup(out);
  if (job->status == -1) {
    tr->status = GR_GRADER_ERROR;
    tr->message = xasprintf("could not grade: %s", out);
  } else if (st && !strcmp(st, "grader")) {
    /* A fixture of the support library failed (runner.c). */
    tr->status = GR_GRADER_ERROR;
    tr->message = xasprintf("could not grade: %s (a fault of the grader or "
                            "the machine, not of the submission)", msg);
  } else if (st && !strcmp(st, "pass") && !san) {
    tr->status = GR_PASS;
    tr->score = tr->test->points;
  } else if (st && (!strcmp(st, "fail") || !strcmp(st, "error"))) {
    tr->status = GR_FAIL;
    tr->message = symbolize(c->bin[d->source], msg);
  } else if (st && !strcmp(st, "timeout")) {
    tr->status = GR_TIMEOUT;
    char *where = symbolize(c->bin[d->source], msg);
    tr->message = xasprintf("the test did not finish within %.0f s: %s",
                            c->opt->test_timeout_s, where);
    free(where);
  } else if (!started) {
    tr->status = GR_GRADER_ERROR;
    tr->message = xasprintf("could not grade: the test program did not start "
                            "(a fault of the grader or the machine, not of "
                            "the submission; %d tries, the last %s %d)%s%s",
                            d->attempt + 1,
                            job->timed_out ? "timed out, status"
                            : WIFSIGNALED(job->status) ? "killed by signal"
                                                       : "exit status",
                            WIFSIGNALED(job->status) ? WTERMSIG(job->status)
                                                     : WEXITSTATUS(job->status),
                            *out ? ":\n" : ".", out);
  } else if (san) {
    tr->status = GR_CRASH;
    tr->message = gr_xstrdup(san);
  } else if (job->timed_out) {
    tr->status = GR_TIMEOUT;
    tr->message = xasprintf(
        "the test did not finish within %.0f s and was stopped (an endless "
        "loop, a blocking call, or a loop that never runs out of work?)",
        c->opt->test_timeout_s);
  } else if (job_signal(job)) {
    tr->status = GR_CRASH;
    tr->message = xasprintf("the test process was killed by %s",
                            signal_words(job_signal(job)));
  } else {
    tr->status = GR_NO_RESULT;
    tr->message = xasprintf(
        "the test process ended (exit status %d) before the test finished: "
        "a test counts only when it runs to its end. Does your code call "
        "exit(), or return from a callback into nothing?",
        WIFEXITED(job->status) ? WEXITSTATUS(job->status) : -1);
  }
  char *picture = timeline_dir ? draw_timeline(c, d, trace, trace_cut) : NULL;
  if (tr->message)
    tr->message = timeline_words(tr->message, c, picture);
  free(picture);
  free(trace);
  /* Paths inside the workbook are shown relative to it. */
  if (tr->message) {
    char prefix[PATH_MAX + 1];
    snprintf(prefix, sizeof prefix, "%s/", c->wb->root);
    for (char *at; (at = strstr(tr->message, prefix));)
      memmove(at, at + strlen(prefix), strlen(at + strlen(prefix)) + 1);
  }
  free(san);
  if (c->ct)
    gr_catch_run_done(c, tr);
  else if (c->opt->first_failure)
    run_next_test(c, d->source, d->test);
  free(d);
}

/* ---- One exercise, then the whole submission --------------------------- */

static void start_exercise(struct ex_ctx *c, const char *sub, int in_place) {
  const gr_exercise_t *ex = c->res->ex;
  gr_ex_result_t *res = c->res;
  res->state = GR_EX_BUILT;
  res->cached = 1;
  res->max = ex->max_points;
  res->ntests = ex->ntests;
  for (int t = 0; t < ex->ntests; t++) {
    res->tests[t].test = &ex->tests[t];
    res->tests[t].status = GR_NOT_RUN;
  }
  if (gr_mkdirs(c->work) < 0) {
    ex_fail(c, GR_EX_INTERNAL, xasprintf("could not create %s", c->work));
    return;
  }
  chmod(c->work, 0755);
  /* The exercise's headers come from the workbook, never the submission. */
  DIR *d = opendir(ex->dir);
  if (d) {
    for (struct dirent *e; (e = readdir(d));) {
      size_t len = strlen(e->d_name);
      if (len > 2 && !strcmp(e->d_name + len - 2, ".h")) {
        char from[PATH_MAX], to[PATH_MAX];
        snprintf(from, sizeof from, "%s/%s", ex->dir, e->d_name);
        snprintf(to, sizeof to, "%s/%s", c->work, e->d_name);
        gr_copy_file(from, to);
      }
    }
    closedir(d);
  }
  for (int f = 0; f < ex->nfiles; f++) {
    char src[PATH_MAX], to[PATH_MAX];
    char other[PATH_MAX];
    int where = gr_upload_locate(sub, ex, ex->files[f], src, other);
    if (where == -1) {
      ex_fail(c, GR_EX_MISSING, gr_upload_missing(sub, ex->files[f]));
      return;
    }
    if (where == -2) {
      ex_fail(c, GR_EX_BAD_FILE,
              xasprintf("%s is in the submission twice, at %s and at %s: "
                        "which one to grade is not the grader's guess. "
                        "Upload only the one you mean.",
                        ex->files[f], src + strlen(sub) + 1,
                        other + strlen(sub) + 1));
      return;
    }
    if (where == 1) {
      free(res->found_at);
      res->found_at = xasprintf("%s was found at %s", ex->files[f],
                                src + strlen(sub) + 1);
    }
    if (in_place)
      snprintf(c->display[f], PATH_MAX, "exercises/%s/%s", ex->id, ex->files[f]);
    else
      snprintf(c->display[f], PATH_MAX, "%s", ex->files[f]);
    char *why = gr_upload_check(src, c->display[f]);
    if (why) {
      ex_fail(c, GR_EX_BAD_FILE, why);
      return;
    }
    snprintf(to, sizeof to, "%s/%s", c->work, ex->files[f]);
    if (gr_copy_file(src, to) < 0) {
      ex_fail(c, GR_EX_INTERNAL, xasprintf("could not copy %s", src));
      return;
    }
    gr_grade_compile(c, f, to, ex->learner_tests ? GR_CC_TESTS_FILE : GR_CC_LEARNER);
  }
  c->nobjs_learner = ex->nfiles;
  if (ex->learner_tests) {
    gr_catch_start(c); /* its implementations, in place of test files */
  } else {
    c->nbins = ex->nsources;
    for (int s = 0; s < ex->nsources; s++)
      gr_grade_compile(c, ex->nfiles + s, ex->sources[s], GR_CC_TEST);
  }
  if (c->pending == 0 && !c->failed)
    link_exercise(c);
}

static void finish_exercise(struct ex_ctx *c) {
  gr_ex_result_t *res = c->res;
  if (c->ct || res->ex->learner_tests)
    gr_catch_finish(c);
  res->score = 0;
  for (int t = 0; t < res->ntests; t++) {
    gr_test_result_t *tr = &res->tests[t];
    if (res->state != GR_EX_BUILT) {
      tr->status = res->state == GR_EX_INTERNAL ? GR_GRADER_ERROR : GR_NOT_RUN;
      tr->score = 0;
    }
    res->score += tr->score;
  }
  if (!res->detail)
    res->detail = gr_xstrdup("");
  save_results(c);
}

/* Every grader process has a scratch folder of its own under build/work,
 * named after the machine and the process, and holds a lock on a file
 * next to it for as long as it lives (the kernel drops it on any death,
 * kill -9 included). A folder whose lock can be taken belongs to a grader
 * that is gone: on this machine, in a container beside it, or on another
 * machine sharing the workbook over the network. */
static char root[PATH_MAX];
static pid_t root_owner;

/* At a normal exit: the scratch folder goes, then its lock. */
static void remove_work_root(void) {
  char lock[PATH_MAX + 8];
  if (!root[0] || getpid() != root_owner || getenv("WB_KEEP_WORK"))
    return;
  snprintf(lock, sizeof lock, "%s.lock", root);
  gr_rmtree(root);
  unlink(lock);
}

static const char *work_root(const gr_workbook_t *wb) {
  if (root[0])
    return root;
  root_owner = getpid();
  atexit(remove_work_root);
  char host[64] = "host";
  gethostname(host, sizeof host - 1);
  for (char *h = host; *h; h++)
    if (!isalnum((unsigned char)*h) && *h != '-')
      *h = '_';
  for (int attempt = 0; attempt < 8; attempt++) {
    char lock[PATH_MAX + 8];
    snprintf(root, sizeof root, "%s/work/%s-%d%s%.0d", wb->build, host, (int)getpid(),
             attempt ? "-" : "", attempt);
    snprintf(lock, sizeof lock, "%s.lock", root);
    gr_mkdirs(wb->build);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/work", wb->build);
    gr_mkdirs(dir);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
      return root; /* the descriptor stays open: the lock is ours till exit */
    if (fd >= 0)
      close(fd); /* the same name, held by a grader elsewhere: another */
  }
  root[0] = 0; /* no folder of our own: grading cannot start */
  return NULL;
}

static void clean_stale_work(const gr_workbook_t *wb) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/work", wb->build);
  const char *mine = work_root(wb);
  DIR *d = mine ? opendir(dir) : NULL;
  if (!d)
    return;
  for (struct dirent *e; (e = readdir(d));) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".lock") != 0)
      continue;
    char lock[PATH_MAX + 256], path[PATH_MAX + 256];
    snprintf(lock, sizeof lock, "%s/%s", dir, e->d_name);
    snprintf(path, sizeof path, "%s/%.*s", dir, (int)(n - 5), e->d_name);
    if (!strcmp(path, mine))
      continue;
    int fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
      gr_rmtree(path);
      unlink(lock);
    }
    if (fd >= 0)
      close(fd);
  }
  closedir(d);
}

/* One submission in flight. */
struct sub_ctx {
  gr_group_t group; /* first: the group's done callback finds the rest */
  gr_workbook_t *wb;
  gr_grading_t *g;
  struct ex_ctx *ctx;
  char work[PATH_MAX];
  double start;
  gr_graded_cb done;
  void *data;
};

static void submission_done(gr_group_t *group) {
  struct sub_ctx *s = (struct sub_ctx *)group;
  gr_grading_t *g = s->g;
  for (int i = 0; i < g->nex; i++) {
    finish_exercise(&s->ctx[i]);
    g->score += g->ex[i].score;
    g->max += g->ex[i].max;
  }
  free(s->ctx);
  if (!getenv("WB_KEEP_WORK"))
    gr_rmtree(s->work);
  g->secs = gr_now() - s->start;
  gr_graded_cb done = s->done;
  void *data = s->data;
  free(s);
  if (done)
    done(g, data);
}

int gr_grade_start(gr_workbook_t *wb, const char *submission,
                   gr_exercise_t **only, int nonly, const gr_options_t *opt,
                   gr_grading_t *g, gr_graded_cb done, void *data) {
  char sub[PATH_MAX];
  memset(g, 0, sizeof *g);
  if (!realpath(submission, sub) || !gr_is_dir(sub)) {
    fprintf(stderr, "grader: %s is not a folder\n", submission);
    return -1;
  }
  g->submission = submission;
  g->assignment = wb->assignment[0] ? wb->assignment : NULL;
  gr_sandbox_require(wb->build);
  g->isolation = gr_isolation();
  struct sub_ctx *s = gr_xmalloc(sizeof *s);
  memset(s, 0, sizeof *s);
  s->start = gr_now();
  s->wb = wb;
  s->g = g;
  s->done = done;
  s->data = data;
  s->group.pending = 1; /* held until every exercise has started */
  s->group.done = submission_done;
  char cache[PATH_MAX];
  static unsigned seq;
  static int cleaned;
  if (!cleaned++)
    clean_stale_work(wb);
  const char *scratch = work_root(wb);
  if (!scratch) {
    fprintf(stderr, "grader: could not make a scratch folder of its own in %s/work\n",
            wb->build);
    free(s);
    return -1;
  }
  snprintf(s->work, sizeof s->work, "%s/%u", scratch, seq++);
  snprintf(cache, sizeof cache, "%s/cache", wb->build);
  if (gr_mkdirs(cache) < 0 || gr_mkdirs(s->work) < 0) {
    fprintf(stderr, "grader: could not create %s\n", s->work);
    free(s);
    return -1;
  }
  chmod(s->work, 0755);
  g->nex = nonly ? nonly : wb->nex;
  g->ex = gr_xmalloc(sizeof *g->ex * (size_t)g->nex);
  memset(g->ex, 0, sizeof *g->ex * (size_t)g->nex);
  s->ctx = gr_xmalloc(sizeof *s->ctx * (size_t)g->nex);
  memset(s->ctx, 0, sizeof *s->ctx * (size_t)g->nex);
  char exdir[PATH_MAX];
  snprintf(exdir, sizeof exdir, "%s/exercises", wb->root);
  int in_place = !strcmp(sub, wb->root) || !strcmp(sub, exdir);
  for (int i = 0; i < g->nex; i++) {
    struct ex_ctx *c = &s->ctx[i];
    c->wb = wb;
    c->opt = opt;
    if ((nonly ? only[i] : &wb->ex[i])->learner_tests && !opt->sanitize) {
      /* A broken implementation may leak or touch freed memory: only the
       * sanitizer build lets a learner's test see that. */
      c->own_opt = *opt;
      c->own_opt.sanitize = 1;
      c->opt = &c->own_opt;
    }
    c->res = &g->ex[i];
    c->res->ex = nonly ? only[i] : &wb->ex[i];
    c->group = &s->group;
    c->in_place = in_place;
    snprintf(c->work, sizeof c->work, "%s/%d", s->work, i);
    start_exercise(c, sub, in_place);
  }
  gr_group_release(&s->group);
  return 0;
}

int gr_grade(gr_workbook_t *wb, const char *submission, gr_exercise_t **only,
             int nonly, const gr_options_t *opt, gr_grading_t *g) {
  gr_engine_init(opt->jobs);
  if (gr_grade_start(wb, submission, only, nonly, opt, g, NULL, NULL) < 0)
    return -1;
  gr_engine_run();
  return 0;
}

unsigned long long gr_submission_hash(const gr_workbook_t *wb, const char *dir) {
  unsigned long long h = GR_HASH_INIT;
  for (int i = 0; i < wb->nex; i++) {
    const gr_exercise_t *ex = &wb->ex[i];
    for (int f = 0; f < ex->nfiles; f++) {
      char path[PATH_MAX];
      struct stat st;
      h = gr_hash(h, ex->files[f], strlen(ex->files[f]) + 1);
      if (gr_upload_locate(dir, ex, ex->files[f], path, NULL) < 0 || lstat(path, &st) < 0) {
        h = gr_hash(h, "missing", 8);
        continue;
      }
      /* what the file is (a link is refused, a regular file graded), and
       * where it was found, count as much as what it holds */
      unsigned mode = (unsigned)st.st_mode;
      h = gr_hash(h, &mode, sizeof mode);
      h = gr_hash(h, path + strlen(dir), strlen(path + strlen(dir)) + 1);
      if (S_ISREG(st.st_mode))
        h = gr_hash_file(h, path);
    }
  }
  return h;
}

unsigned long long gr_tests_hash(const gr_workbook_t *wb, const gr_options_t *o) {
  /* The test runtime by its sources, not its build: shards graded on
   * machines that each built the workbook agree. */
  unsigned long long h = gr_hash(GR_HASH_INIT, CACHE_VERSION, sizeof CACHE_VERSION);
  static const char *const runtime[] = {"grader/support", "lib", "server"};
  for (size_t i = 0; i < sizeof runtime / sizeof runtime[0]; i++) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", wb->root, runtime[i]);
    h = hash_folder(h, dir, 1);
  }
  for (int i = 0; i < wb->nex; i++) {
    const gr_exercise_t *ex = &wb->ex[i];
    h = gr_hash(h, ex->id, strlen(ex->id) + 1);
    h = hash_headers(h, ex->dir);
    for (int s = 0; s < ex->nsources; s++)
      h = gr_hash_file(h, ex->sources[s]);
    h = gr_catch_hash(h, ex);
    for (int t = 0; t < ex->ntests; t++) {
      h = gr_hash(h, ex->tests[t].name, strlen(ex->tests[t].name) + 1);
      h = gr_hash(h, &ex->tests[t].points, sizeof ex->tests[t].points);
      h = gr_hash(h, ex->tests[t].visibility, strlen(ex->tests[t].visibility) + 1);
    }
  }
  int opts[3] = {o->sanitize, (int)(o->test_timeout_s * 1000), o->libev_flags};
  return gr_hash(h, opts, sizeof opts);
}

int gr_ex_incomplete(const gr_ex_result_t *e) {
  if (e->state == GR_EX_INTERNAL)
    return 1;
  for (int t = 0; t < e->ntests; t++)
    if (e->tests[t].status == GR_GRADER_ERROR)
      return 1;
  return 0;
}

int gr_ex_incomplete_count(const gr_grading_t *g) {
  int n = 0;
  for (int i = 0; i < g->nex; i++)
    n += gr_ex_incomplete(&g->ex[i]);
  return n;
}

void gr_grading_free(gr_grading_t *g) {
  for (int i = 0; i < g->nex; i++) {
    free(g->ex[i].detail);
    free(g->ex[i].found_at);
    for (int t = 0; t < g->ex[i].ntests; t++) {
      free(g->ex[i].tests[t].message);
      free(g->ex[i].tests[t].output);
    }
  }
  free(g->ex);
  memset(g, 0, sizeof *g);
}
