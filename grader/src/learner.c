/* learner.c - the learner's commands: list, check, watch, hint, reset.
 * Progress and hint counters live in build/state/, one small file per
 * exercise, so they survive between runs and vanish with `make clean`.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void state_path(const gr_workbook_t *wb, const gr_exercise_t *ex,
                       const char *what, char *out) {
  char id[160];
  snprintf(id, sizeof id, "%s", ex->id);
  for (char *p = id; *p; p++)
    if (*p == '/')
      *p = '_';
  snprintf(out, PATH_MAX, "%s/state/%s.%s", wb->build, id, what);
}

static int state_get(const gr_workbook_t *wb, const gr_exercise_t *ex,
                     const char *what, char *buf, size_t len) {
  char path[PATH_MAX];
  gr_buf_t b = {0};
  state_path(wb, ex, what, path);
  int ok = gr_read_file(path, 4096, &b) == 0;
  snprintf(buf, len, "%s", ok && b.data ? b.data : "");
  gr_buf_free(&b);
  return ok;
}

static void state_put(const gr_workbook_t *wb, const gr_exercise_t *ex,
                      const char *what, const char *value) {
  char path[PATH_MAX], dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/state", wb->build);
  gr_mkdirs(dir);
  state_path(wb, ex, what, path);
  gr_write_file(path, value, strlen(value));
}

/* A fingerprint of what the learner's files of `ex` hold now, to tell
 * whether they changed since the last check. */
static void files_print(const gr_exercise_t *ex, char *out, size_t len) {
  unsigned long long h = GR_HASH_INIT;
  for (int f = 0; f < ex->nfiles; f++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", ex->dir, ex->files[f]);
    h = gr_hash_file(h, path);
  }
  snprintf(out, len, "%016llx", h);
}

/* Whether the learner's files changed after the last check of `ex`. */
static int changed_since_check(const gr_workbook_t *wb, const gr_exercise_t *ex) {
  char was[64], now[64];
  if (!state_get(wb, ex, "files", was, sizeof was) || !was[0])
    return 0;
  files_print(ex, now, sizeof now);
  return strcmp(was, now) != 0;
}

/* Which hints of an exercise were shown ("MASK LAST": a bit per hint, and
 * the index of the last one shown, -1 for none). */
struct hints_seen {
  unsigned mask;
  int last;
};

static struct hints_seen hints_get(const gr_workbook_t *wb, const gr_exercise_t *ex) {
  char buf[64];
  struct hints_seen h = {0, -1};
  if (state_get(wb, ex, "hints", buf, sizeof buf) && sscanf(buf, "%u %d", &h.mask, &h.last) < 2)
    h.last = -1;
  return h;
}

static void hints_put(const gr_workbook_t *wb, const gr_exercise_t *ex,
                      struct hints_seen h) {
  char buf[64];
  snprintf(buf, sizeof buf, "%u %d", h.mask, h.last);
  state_put(wb, ex, "hints", buf);
}

static void print_hint(FILE *f, int i, int n, const char *hint) {
  fprintf(f, "Hint %d of %d: %.*s\n", i + 1, n, gr_hint_text_len(hint), hint);
}

static int resolve(gr_workbook_t *wb, int argc, char **argv,
                   gr_exercise_t **out) {
  for (int i = 0; i < argc; i++) {
    out[i] = gr_workbook_find(wb, argv[i]);
    if (!out[i]) {
      fprintf(stderr, "grader: no exercise called \"%s\". `build/grader list` "
                      "shows them all.\n", argv[i]);
      return -1;
    }
  }
  return argc;
}

int gr_cmd_list(gr_workbook_t *wb, int argc, char **argv) {
  FILE *f = stdout;
  /* --ids [--assignment FILE]: just the exercise ids, for scripts */
  int ids = 0;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--ids")) {
      ids = 1;
    } else if (!strcmp(argv[i], "--assignment") && i + 1 < argc) {
      if (gr_assignment_apply(wb, argv[++i]) < 0)
        return 2;
    } else {
      fprintf(stderr, "usage: grader list [--ids] [--assignment FILE]\n");
      return 2;
    }
  }
  if (ids) {
    for (int i = 0; i < wb->nex; i++)
      fprintf(f, "%s\n", wb->ex[i].id);
    return 0;
  }
  int done = 0;
  const char *green = gr_c(f, "\033[32m"), *off = gr_c(f, "\033[0m"),
             *dim = gr_c(f, "\033[2m");
  for (int i = 0; i < wb->nex; i++) {
    char st[64];
    gr_exercise_t *ex = &wb->ex[i];
    if (!state_get(wb, ex, "status", st, sizeof st))
      snprintf(st, sizeof st, "not checked yet");
    int passed = !strncmp(st, "passed", 6);
    int changed = changed_since_check(wb, ex);
    done += passed && !changed;
    fprintf(f, "%s%-8s%s %-44s %s%s%s%s\n", passed && !changed ? green : dim,
            passed && !changed ? "done" : "to do", off, ex->id, dim, st,
            changed ? ", changed since (check it again)" : "", off);
  }
  fprintf(f, "\n%d/%d exercises done.\n", done, wb->nex);
  return 0;
}

/* Every test of an exercise with its points, passed or not. */
static void show_tests(FILE *f, const gr_ex_result_t *e) {
  const char *green = gr_c(f, "\033[32m"), *red = gr_c(f, "\033[31m"),
             *off = gr_c(f, "\033[0m");
  /* Tests the learner wrote: how each did on the correct implementation;
   * then the broken implementations, caught or not. */
  if (e->ex->learner_tests && e->detail && *e->detail)
    gr_indent(f, e->detail, "       ", 80);
  for (int t = 0; t < e->ntests; t++) {
    const gr_test_result_t *tr = &e->tests[t];
    int ok = tr->status == GR_PASS;
    fprintf(f, "       %s%-5s%s %-48s %s/%s point%s\n", ok ? green : red,
            ok ? "ok" : tr->status == GR_NOT_RUN ? "-" : "FAIL", off,
            tr->test->name, GR_PTS(tr->score), GR_PTS(tr->test->points),
            tr->test->points == 1 ? "" : "s");
  }
}

/* The first failure of an exercise, in the words the learner needs; the
 * failing test (NULL when the exercise did not build). */
static const gr_test_result_t *show_first_failure(FILE *f, const gr_ex_result_t *e) {
  if (e->state != GR_EX_BUILT) {
    const char *what[] = {"", "Missing file", "Unusable file", "Compile error",
                          "Link error", "Could not grade"};
    fprintf(f, "\n  %s:\n", what[e->state]);
    gr_indent(f, e->detail, "    ", 25);
    return NULL;
  }
  for (int t = 0; t < e->ntests; t++) {
    const gr_test_result_t *tr = &e->tests[t];
    if (tr->status == GR_PASS || (e->ex->impl_prebuilt && tr->status == GR_NOT_RUN))
      continue;
    if (e->ex->learner_tests) {
      fprintf(f, "\n  Not caught yet: %s (%s)\n", tr->test->name, tr->test->what);
      gr_indent(f, tr->message, "    ", 20);
      return tr;
    }
    fprintf(f, "\n  First failing test: %s (%s)\n", tr->test->name,
            gr_status_text(tr->status));
    gr_indent(f, tr->message, "    ", 20);
    if (tr->output && *tr->output) {
      fprintf(f, "  Its output:\n");
      gr_indent(f, tr->output, "    | ", 10);
    }
    return tr;
  }
  return NULL;
}

/* The first hint not yet shown that fits the failing test (a hint that
 * names no test fits any); marks it shown. */
static void show_fitting_hint(FILE *f, const gr_workbook_t *wb,
                              const gr_exercise_t *ex, const gr_test_result_t *tr) {
  char *hints[16];
  int nh = gr_exercise_hints(ex, hints, 16);
  if (nh == 0)
    return;
  struct hints_seen seen = hints_get(wb, ex);
  int pick = -1;
  for (int i = 0; i < nh && pick < 0; i++)
    if (!(seen.mask & (1u << i)) &&
        (!tr || gr_hint_helps(hints[i], tr->test->name) != 0))
      pick = i;
  if (pick >= 0) {
    fputc('\n', f);
    fputs("  ", f);
    print_hint(f, pick, nh, hints[pick]);
    fprintf(f, "  (`build/grader hint %s` for another one)\n", ex->id);
    seen.mask |= 1u << pick;
    seen.last = pick;
    hints_put(wb, ex, seen);
  } else {
    fprintf(f, "\n  You have seen every hint that fits this failure; "
               "`build/grader hint %s --all` shows them all again.\n", ex->id);
  }
  for (int i = 0; i < nh; i++)
    free(hints[i]);
}

static void default_options(gr_options_t *opt) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  /* Every field: one left as the stack had it (libev_flags) once reached
   * the tests as LIBEV_FLAGS, and no loop could be made. */
  memset(opt, 0, sizeof *opt);
  /* Twice the cores: a test mostly waits on its timers, and the learner
   * waits for the verdict of one exercise. */
  opt->jobs = n > 0 ? 2 * (int)n : 4;
  /* Memory errors and leaks are part of every check (the sanitizer build). */
  opt->sanitize = 1;
  opt->test_timeout_s = 5;
  opt->quiet = 0;
}

/* check --timeline: each test's picture, listed after the results. */
static void show_timelines(FILE *f, const gr_workbook_t *wb, const gr_grading_t *g) {
  const char *dim = gr_c(f, "\033[2m"), *off = gr_c(f, "\033[0m");
  int shown = 0;
  for (int i = 0; i < g->nex; i++) {
    const gr_ex_result_t *e = &g->ex[i];
    for (int t = 0; t < e->ntests; t++) {
      char svg[PATH_MAX * 2];
      snprintf(svg, sizeof svg, "%s/timeline/%s/%s.svg", wb->build, e->ex->id,
               e->tests[t].test->name);
      if (!gr_is_file(svg))
        continue;
      if (!shown++)
        fprintf(f, "\nTimelines of your tests (open a .svg in a browser; the .json next to "
                   "it opens in https://ui.perfetto.dev):\n");
      fprintf(f, "  %s%-5s%s build/timeline/%s/%s.svg\n", dim,
              e->tests[t].status == GR_PASS ? "ok" : "FAIL", off, e->ex->id,
              e->tests[t].test->name);
    }
  }
  if (!shown)
    fprintf(f, "\nNo timelines were drawn: no test of these exercises ran (does the "
               "exercise build?).\n");
}

static int timelines; /* check --timeline */

static int pristine(const gr_workbook_t *wb, const gr_exercise_t *ex,
                    const char *file, gr_buf_t *out);

/* Whether the learner's files are still the starting ones. */
static int untouched(const gr_workbook_t *wb, const gr_exercise_t *ex) {
  int same = 1;
  for (int f = 0; f < ex->nfiles && same; f++) {
    gr_buf_t stub = {0}, mine = {0};
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/exercises/%s/%s", wb->root, ex->id, ex->files[f]);
    same = pristine(wb, ex, ex->files[f], &stub) == 0 &&
           gr_read_file(path, 1 << 20, &mine) == 0 && stub.len == mine.len &&
           !memcmp(stub.data, mine.data, stub.len);
    gr_buf_free(&stub);
    gr_buf_free(&mine);
  }
  return same;
}

/* Checks the given exercises (all when n == 0) in place and prints the
 * learner's view. Returns how many did not pass, or -1. */
static int check_and_show(gr_workbook_t *wb, gr_exercise_t **sel, int n) {
  gr_options_t opt;
  gr_grading_t g;
  default_options(&opt);
  if (gr_grade(wb, wb->root, sel, n, &opt, &g) < 0)
    return -1;
  FILE *f = stdout;
  const char *green = gr_c(f, "\033[32m"), *red = gr_c(f, "\033[31m"),
             *bold = gr_c(f, "\033[1m"), *off = gr_c(f, "\033[0m");
  int failing = 0, internal = 0;
  const gr_ex_result_t *current = NULL;
  for (int i = 0; i < g.nex; i++) {
    const gr_ex_result_t *e = &g.ex[i];
    int passed = e->state == GR_EX_BUILT && gr_full(e->score, e->max);
    /* A handout has no broken implementations: tests the learner wrote
     * pass here when they all pass on the correct one. */
    int here = e->ex->impl_prebuilt && e->state == GR_EX_BUILT &&
               !gr_ex_incomplete(e) && e->wrong_tests == 0 && e->learner_test_count > 0 &&
               !untouched(wb, e->ex);
    passed |= here;
    char st[64];
    if (here)
      snprintf(st, sizeof st, "passed here: %d tests (catches graded on submission)",
               e->learner_test_count);
    else if (e->ex->impl_prebuilt && e->state == GR_EX_BUILT && !gr_ex_incomplete(e))
      snprintf(st, sizeof st, "%s", e->wrong_tests ? "failing: some tests fail on the correct code"
                                                   : "to do: write your tests");
    else if (passed)
      snprintf(st, sizeof st, "passed %s/%s points", GR_PTS(e->score), GR_PTS(e->max));
    else if (gr_ex_incomplete(e))
      snprintf(st, sizeof st, "could not grade");
    else if (e->state != GR_EX_BUILT)
      snprintf(st, sizeof st, "%s", e->state == GR_EX_COMPILE_ERROR ? "compile error"
                                                                    : "not built");
    else
      snprintf(st, sizeof st, "failing: %s/%s points", GR_PTS(e->score), GR_PTS(e->max));
    state_put(wb, e->ex, "status", st);
    char print[64];
    files_print(e->ex, print, sizeof print);
    state_put(wb, e->ex, "files", print);
    internal += gr_ex_incomplete(e);
    fprintf(f, "  %s%s%s %-46s %s\n", passed ? green : red,
            passed ? "ok  " : "FAIL", off, e->ex->id, st);
    if (!passed) {
      failing++;
      if (!current)
        current = e;
    }
    /* The tests one by one, for the exercises asked for by name and for
     * the one to work on now. */
    if (e->state == GR_EX_BUILT && (n > 0 || current == e))
      show_tests(f, e);
  }
  if (timelines)
    show_timelines(f, wb, &g);
  if (current) {
    fprintf(f, "\n%s%s%s: %s\n", bold, current->ex->id, off, current->ex->title);
    const gr_test_result_t *tr = show_first_failure(f, current);
    if (!gr_ex_incomplete(current))
      show_fitting_hint(f, wb, current->ex, tr);
  }
  /* Progress over the whole workbook, from the saved statuses. */
  int done = 0;
  const gr_exercise_t *next = NULL;
  for (int i = 0; i < wb->nex; i++) {
    char st[64];
    state_get(wb, &wb->ex[i], "status", st, sizeof st);
    if (!strncmp(st, "passed", 6))
      done++;
    else if (!next)
      next = &wb->ex[i];
  }
  fprintf(f, "\n%sProgress: %d/%d exercises done.%s", bold, done, wb->nex, off);
  if (next)
    fprintf(f, " Next: %s (read exercises/%s/README.md, edit exercises/%s/%s, "
               "then `build/grader check %s`).\n",
            next->id, next->id, next->id, next->files[0], next->id);
  else
    fprintf(f, " Every exercise passes: well done!\n");
  if (internal)
    fprintf(stderr, "grader: some exercises could not be graded (see above): "
                    "that is a fault of the workbook, not yours.\n");
  gr_grading_free(&g);
  return internal ? -1 : failing;
}

int gr_cmd_check(gr_workbook_t *wb, int argc, char **argv) {
  int no_fail = 0, n = 0;
  char *names[200];
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--no-fail"))
      no_fail = 1;
    else if (!strcmp(argv[i], "--timeline"))
      timelines = 1;
    else if (argv[i][0] == '-') {
      fprintf(stderr, "grader: check does not know \"%s\".\nusage: grader check "
                      "[EXERCISE...] [--timeline] [--no-fail]\n", argv[i]);
      return 2;
    } else if (n < 200)
      names[n++] = argv[i];
  }
  gr_exercise_t *sel[200];
  if (resolve(wb, n, names, sel) < 0)
    return 2;
  static char dir[PATH_MAX];
  if (timelines) {
    /* Pictures of this check only: the exercises' old ones go first. */
    snprintf(dir, sizeof dir, "%s/timeline", wb->build);
    for (int i = 0; i < (n ? n : wb->nex); i++) {
      char old[PATH_MAX * 2];
      snprintf(old, sizeof old, "%s/%s", dir, n ? sel[i]->id : wb->ex[i].id);
      gr_rmtree(old);
    }
    gr_grade_timeline(dir);
  }
  int failing = check_and_show(wb, sel, n);
  if (failing < 0)
    return 70;
  return no_fail ? 0 : failing > 0;
}

int gr_cmd_hint(gr_workbook_t *wb, int argc, char **argv) {
  gr_exercise_t *ex;
  int all = argc == 2 && !strcmp(argv[1], "--all");
  if (all)
    argc = 1;
  if (argc != 1 || resolve(wb, 1, argv, &ex) < 0) {
    if (argc != 1)
      fprintf(stderr, "usage: grader hint EXERCISE [--all]\n");
    return 2;
  }
  char *hints[16];
  int n = gr_exercise_hints(ex, hints, 16);
  if (n == 0) {
    printf("%s has no hints.\n", ex->id);
    return 0;
  }
  struct hints_seen seen = hints_get(wb, ex);
  if (all) {
    for (int i = 0; i < n; i++) {
      print_hint(stdout, i, n, hints[i]);
      putchar('\n');
    }
  } else {
    /* The next one not seen yet, going on from the last one shown. */
    int pick = -1;
    for (int k = 1; k <= n && pick < 0; k++) {
      int i = (seen.last + k) % n;
      if (!(seen.mask & (1u << i)))
        pick = i;
    }
    if (pick < 0) {
      printf("You have seen all %d hints of %s. `build/grader hint %s --all` "
             "shows them again; the lesson is chapters/%.*s/README.md.\n",
             n, ex->id, ex->id, (int)strcspn(ex->id, "/"), ex->id);
    } else {
      print_hint(stdout, pick, n, hints[pick]);
      seen.mask |= 1u << pick;
      seen.last = pick;
      hints_put(wb, ex, seen);
      int left = 0;
      for (int i = 0; i < n; i++)
        left += !(seen.mask & (1u << i));
      if (left)
        printf("\n(%d more: run the same command again.)\n", left);
      else
        printf("\nThat was the last hint. The lesson is chapters/%.*s/README.md.\n",
               (int)strcspn(ex->id, "/"), ex->id);
    }
  }
  for (int i = 0; i < n; i++)
    free(hints[i]);
  return 0;
}

/* The pristine stub: the committed version when the workbook is a git
 * checkout, otherwise the copy a handout keeps in .stubs/. */
static int pristine(const gr_workbook_t *wb, const gr_exercise_t *ex,
                    const char *file, gr_buf_t *out) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/.stubs/%s/%s", wb->root, ex->id, file);
  if (gr_read_file(path, 1 << 20, out) == 0)
    return 0;
  gr_buf_free(out);
  char spec[PATH_MAX];
  snprintf(spec, sizeof spec, "HEAD:exercises/%s/%s", ex->id, file);
  char *argv[] = {"git", "-C", (char *)wb->root, "show", spec, NULL};
  int st = gr_run_capture(argv, out, 1 << 20);
  return st == 0 && out->len > 0 ? 0 : -1;
}

int gr_cmd_reset(gr_workbook_t *wb, int argc, char **argv) {
  gr_exercise_t *ex;
  if (argc != 1 || resolve(wb, 1, argv, &ex) < 0) {
    if (argc != 1)
      fprintf(stderr, "usage: grader reset EXERCISE\n");
    return 2;
  }
  char stamp[32];
  time_t now = time(NULL);
  strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
  for (int f = 0; f < ex->nfiles; f++) {
    gr_buf_t stub = {0};
    if (pristine(wb, ex, ex->files[f], &stub) < 0) {
      fprintf(stderr, "grader: cannot find the original of %s (neither git "
                      "nor .stubs/ has it); nothing was changed.\n",
              ex->files[f]);
      gr_buf_free(&stub);
      return 1;
    }
    char path[PATH_MAX], backup[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", ex->dir, ex->files[f]);
    snprintf(backup, sizeof backup, "%s.backup-%s", path, stamp);
    if (gr_is_file(path) && gr_copy_file(path, backup) < 0) {
      fprintf(stderr, "grader: could not back up %s; nothing was changed.\n", path);
      gr_buf_free(&stub);
      return 1;
    }
    if (gr_write_file(path, stub.data, stub.len) < 0) {
      fprintf(stderr, "grader: could not write %s\n", path);
      gr_buf_free(&stub);
      return 1;
    }
    printf("Restored exercises/%s/%s; your version is in exercises/%s/%s.backup-%s\n",
           ex->id, ex->files[f], ex->id, ex->files[f], stamp);
    gr_buf_free(&stub);
  }
  state_put(wb, ex, "status", "reset");
  return 0;
}

/* ---- watch ---------------------------------------------------------------- */

struct watch {
  gr_workbook_t *wb;
  gr_exercise_t *ex;
  ev_stat stats[4];
  ev_timer settle;
  int busy;
};

static void settle_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct watch *wt = w->data;
  (void)revents;
  if (wt->busy) {
    /* Saved again while a check runs: check once more afterwards. */
    ev_timer_set(w, 0.1, 0.);
    ev_timer_start(loop, w);
    return;
  }
  wt->busy = 1;
  printf("\n--- %s changed: checking ---\n", wt->ex->id);
  check_and_show(wt->wb, &wt->ex, 1);
  printf("\nWatching exercises/%s/ (Ctrl-C stops).\n", wt->ex->id);
  fflush(stdout);
  wt->busy = 0;
}

static void stat_cb(struct ev_loop *loop, ev_stat *w, int revents) {
  struct watch *wt = w->data;
  (void)revents;
  /* Editors save in several steps: wait until the file is quiet for a
   * moment, then check once. */
  ev_timer_stop(loop, &wt->settle);
  ev_timer_set(&wt->settle, 0.05, 0.);
  ev_timer_start(loop, &wt->settle);
}

int gr_cmd_watch(gr_workbook_t *wb, int argc, char **argv) {
  struct watch wt = {.wb = wb};
  if (argc == 1 && resolve(wb, 1, argv, &wt.ex) < 0)
    return 2;
  if (argc == 0) {
    /* The first exercise that does not pass yet. */
    for (int i = 0; i < wb->nex && !wt.ex; i++) {
      char st[64];
      state_get(wb, &wb->ex[i], "status", st, sizeof st);
      if (strncmp(st, "passed", 6))
        wt.ex = &wb->ex[i];
    }
    if (!wt.ex)
      wt.ex = &wb->ex[wb->nex - 1];
  }
  struct ev_loop *loop = EV_DEFAULT;
  for (int f = 0; f < wt.ex->nfiles; f++) {
    char *path = gr_xmalloc(PATH_MAX);
    snprintf(path, PATH_MAX, "%s/%s", wt.ex->dir, wt.ex->files[f]);
    /* ev_stat uses inotify where it can; 0.1 s polling elsewhere. */
    ev_stat_init(&wt.stats[f], stat_cb, path, 0.1);
    wt.stats[f].data = &wt;
    ev_stat_start(loop, &wt.stats[f]);
  }
  ev_init(&wt.settle, settle_cb);
  wt.settle.data = &wt;
  char st[64];
  if (state_get(wb, wt.ex, "status", st, sizeof st) && st[0])
    printf("%s: last checked: %s%s.\n", wt.ex->id, st,
           changed_since_check(wb, wt.ex) ? "; changed since: checking now"
                                          : "; checking again");
  check_and_show(wb, &wt.ex, 1);
  printf("\nWatching exercises/%s/ (Ctrl-C stops).\n", wt.ex->id);
  fflush(stdout);
  ev_run(loop, 0);
  return 0;
}
