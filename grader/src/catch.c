/* catch.c - grades an exercise whose learner writes the tests. The
 * workbook supplies the implementation under test: a correct one (the
 * reference) and broken ones, each with one kind of mistake, named by the
 * exercise's README ("## What your tests must catch"), kept in
 * tests/impl/ID/ (reference.c, NAME.patch against it or NAME.c), out of
 * any handout. A handout carries the reference's objects only (impl/ID/).
 *
 * Binaries (one per implementation, each linked with the learner's file):
 *   0  the reference, built as a handout ships it
 *   1  the reference, built another way, only when grading
 *   2+ each broken implementation, built like 1
 * Every learner test runs three times on the reference (twice on 1, once
 * on 0): a test that fails any run is wrong (every run) or flaky (some),
 * and earns nothing. Then, for each broken implementation, the good tests
 * run one after another until one fails: that implementation is caught,
 * and its points are earned. A test that recognised the shipped bytes of
 * the reference instead of testing what it does fails on binary 1, which
 * no learner has seen, and the broken ones are built like that one.
 * Always in the sanitizer build (--no-sanitize too): a broken
 * implementation that leaks or touches freed memory is caught only there.
 */
#define _GNU_SOURCE
#include "grade.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REF_RUNS 3

struct catch_ctx {
  int nltests;
  gr_test_t ltests[64];      /* the learner's tests, from their file */
  int nref;                  /* reference binaries: 2, or 1 in a handout */
  int nbroken;               /* binaries nref.. are ex->tests[0..nbroken-1] */
  gr_test_result_t *ref;     /* [nltests][REF_RUNS] */
  gr_test_result_t *brk;     /* [nltests][nbroken] */
  int ready[GR_MAX_BINS];    /* linked */
  int ref_pending;           /* reference runs not ended */
  int good[64];              /* passed every reference run */
  int checked;               /* every reference run ended */
  int at[GR_MAX_BINS];       /* per broken: the learner test running, or -1 */
  int caught_by[GR_MAX_BINS];/* per broken: the test that failed on it, or -1 */
  int grader_fault[GR_MAX_BINS];
  char dir[GR_MAX_BINS][PATH_MAX]; /* each binary's folder */
};

#define xasprintf gr_xasprintf

int gr_catch_tests(const struct ex_ctx *c) { return c->ct ? c->ct->nltests : 0; }

const char *gr_catch_bin_dir(struct ex_ctx *c, int bin) {
  char *d = c->ct->dir[bin];
  snprintf(d, PATH_MAX, "%s", c->bin[bin]);
  char *slash = strrchr(d, '/');
  if (slash)
    *slash = 0;
  return d;
}

/* The source of broken implementation `name`: NAME.c, or NAME.patch applied
 * to the reference in a folder of the exercise's work; 0, or -1 with *why. */
static int broken_source(struct ex_ctx *c, const char *name, int index, char *out,
                         char **why) {
  const gr_exercise_t *ex = c->res->ex;
  snprintf(out, PATH_MAX, "%s/%s.c", ex->impl, name);
  if (gr_is_file(out))
    return 0;
  char patch[PATH_MAX + 16], dir[PATH_MAX], ref[PATH_MAX + 16];
  snprintf(patch, sizeof patch, "%s/%s.patch", ex->impl, name);
  if (!gr_is_file(patch)) {
    *why = xasprintf("tests/impl/%s/%s.patch (or .c) is missing: the exercise's "
                     "README names it among the mistakes to catch.", ex->id, name);
    return -1;
  }
  snprintf(dir, sizeof dir, "%s/impl%d", c->work, index);
  snprintf(ref, sizeof ref, "%s/reference.c", ex->impl);
  snprintf(out, PATH_MAX, "%s/reference.c", dir);
  if (gr_mkdirs(dir) < 0 || gr_copy_file(ref, out) < 0) {
    *why = xasprintf("could not prepare %s", dir);
    return -1;
  }
  char *argv[] = {"git", "-C", dir, "apply", "-p1", patch, NULL};
  gr_buf_t log = {0};
  int st = gr_run_capture(argv, &log, 4096);
  if (st != 0)
    *why = xasprintf("tests/impl/%s/%s.patch does not apply to reference.c "
                     "(remake it): %s", ex->id, name, log.data ? log.data : "git apply failed");
  gr_buf_free(&log);
  return st == 0 ? 0 : -1;
}

void gr_catch_start(struct ex_ctx *c) {
  const gr_exercise_t *ex = c->res->ex;
  if (c->failed)
    return;
  struct catch_ctx *ct = gr_xmalloc(sizeof *ct);
  memset(ct, 0, sizeof *ct);
  char copy[PATH_MAX * 2];
  snprintf(copy, sizeof copy, "%s/%s", c->work, ex->files[0]);
  ct->nltests = gr_parse_tests(copy, ct->ltests, 64);
  if (ct->nltests <= 0) {
    free(ct);
    gr_grade_fail(c, GR_EX_BAD_FILE,
                  xasprintf("%s declares no tests: write each one as "
                            "WB_TEST(name, 1) { ... } END_TEST, WB_TEST at the "
                            "start of its line (the stub shows one).",
                            c->display[0]));
    return;
  }
  for (int i = 0; i < ct->nltests; i++)
    snprintf(ct->ltests[i].source, sizeof ct->ltests[i].source, "%s", c->display[0]);
  if (!ex->impl[0]) {
    free(ct);
    gr_grade_fail(c, GR_EX_INTERNAL,
                  xasprintf("the implementations your tests run on are missing "
                            "(tests/impl/%s in the workbook, impl/%s in a "
                            "handout): a fault of the workbook's copy, not of "
                            "your file.", ex->id, ex->id));
    return;
  }
  int nl = c->nobjs_learner;
  if (ex->impl_prebuilt) {
    /* A handout: the reference as it was shipped, nothing broken. */
    ct->nref = 1;
    c->ct_handout = 1;
    snprintf(c->objs[nl], PATH_MAX, "%s/reference%s.o", ex->impl,
             c->opt->sanitize ? ".asan" : "");
    if (!gr_is_file(c->objs[nl])) {
      free(ct);
      gr_grade_fail(c, GR_EX_INTERNAL,
                    xasprintf("%s is missing from this copy of the workbook: "
                              "ask for a new handout.", c->objs[nl]));
      return;
    }
    c->keys[nl] = gr_hash_file(GR_HASH_INIT, c->objs[nl]);
  } else {
    ct->nref = 2;
    ct->nbroken = ex->ntests;
    if (ct->nref + ct->nbroken > GR_MAX_BINS) {
      free(ct);
      gr_grade_fail(c, GR_EX_INTERNAL,
                    xasprintf("the exercise names %d broken implementations; "
                              "the grader takes at most %d.", ex->ntests,
                              GR_MAX_BINS - 2));
      return;
    }
    char ref[PATH_MAX + 16];
    snprintf(ref, sizeof ref, "%s/reference.c", ex->impl);
    char (*srcs)[PATH_MAX] = gr_xmalloc(sizeof *srcs * (size_t)ct->nbroken + 1);
    for (int b = 0; b < ct->nbroken; b++) {
      char *why = NULL;
      if (broken_source(c, ex->tests[b].name, b, srcs[b], &why) < 0) {
        free(srcs);
        free(ct);
        gr_grade_fail(c, GR_EX_INTERNAL, why);
        return;
      }
    }
    gr_grade_compile(c, nl, ref, GR_CC_IMPL_SHIPPED);
    gr_grade_compile(c, nl + 1, ref, GR_CC_IMPL_GRADING);
    for (int b = 0; b < ct->nbroken; b++)
      gr_grade_compile(c, nl + 2 + b, srcs[b], GR_CC_IMPL_GRADING);
    free(srcs);
  }
  c->ct = ct;
  c->nbins = ct->nref + ct->nbroken;
  size_t nref = (size_t)ct->nltests * REF_RUNS;
  size_t nbrk = (size_t)ct->nltests * (size_t)(ct->nbroken ? ct->nbroken : 1);
  ct->ref = gr_xmalloc(sizeof *ct->ref * nref);
  ct->brk = gr_xmalloc(sizeof *ct->brk * nbrk);
  memset(ct->ref, 0, sizeof *ct->ref * nref);
  memset(ct->brk, 0, sizeof *ct->brk * nbrk);
  for (int l = 0; l < ct->nltests; l++) {
    for (int k = 0; k < REF_RUNS; k++) {
      ct->ref[l * REF_RUNS + k].test = &ct->ltests[l];
      ct->ref[l * REF_RUNS + k].status = GR_NOT_RUN;
    }
    for (int b = 0; b < ct->nbroken; b++) {
      ct->brk[l * ct->nbroken + b].test = &ct->ltests[l];
      ct->brk[l * ct->nbroken + b].status = GR_NOT_RUN;
    }
  }
  ct->ref_pending = (int)nref;
  for (int b = 0; b < GR_MAX_BINS; b++)
    ct->at[b] = ct->caught_by[b] = -1;
}

/* Reference run k of every test goes to binary 1 (0 in a handout), the
 * last one to binary 0. */
static int ref_bin(const struct catch_ctx *ct, int k) {
  return ct->nref == 2 && k < REF_RUNS - 1 ? 1 : 0;
}

/* Broken implementation b: the next good test after its current one, or
 * nothing left (not caught). */
static void next_on_broken(struct ex_ctx *c, int b) {
  struct catch_ctx *ct = c->ct;
  int l = ct->at[b] + 1;
  while (l < ct->nltests && !ct->good[l])
    l++;
  ct->at[b] = l < ct->nltests ? l : ct->nltests;
  if (l < ct->nltests)
    gr_grade_run(c, &ct->brk[l * ct->nbroken + b], ct->nref + b);
}

void gr_catch_bin_ready(struct ex_ctx *c, int bin) {
  struct catch_ctx *ct = c->ct;
  ct->ready[bin] = 1;
  if (bin < ct->nref) {
    for (int l = 0; l < ct->nltests; l++)
      for (int k = 0; k < REF_RUNS; k++)
        if (ref_bin(ct, k) == bin)
          gr_grade_run(c, &ct->ref[l * REF_RUNS + k], bin);
  } else if (ct->checked) {
    next_on_broken(c, bin - ct->nref);
  }
}

void gr_catch_run_done(struct ex_ctx *c, gr_test_result_t *tr) {
  struct catch_ctx *ct = c->ct;
  if (tr >= ct->ref && tr < ct->ref + ct->nltests * REF_RUNS) {
    if (--ct->ref_pending > 0)
      return;
    for (int l = 0; l < ct->nltests; l++) {
      ct->good[l] = 1;
      for (int k = 0; k < REF_RUNS; k++)
        ct->good[l] &= ct->ref[l * REF_RUNS + k].status == GR_PASS;
    }
    ct->checked = 1;
    for (int b = 0; b < ct->nbroken && !c->failed; b++)
      if (ct->ready[ct->nref + b])
        next_on_broken(c, b);
    return;
  }
  int i = (int)(tr - ct->brk), l = i / ct->nbroken, b = i % ct->nbroken;
  if (tr->status == GR_GRADER_ERROR)
    ct->grader_fault[b] = 1;
  else if (tr->status != GR_PASS)
    ct->caught_by[b] = l;
  else if (!c->failed)
    next_on_broken(c, b);
}

/* The first lines of a message, on one line. */
static char *first_lines(const char *msg, int lines) {
  gr_buf_t b = {0};
  const char *s = msg ? msg : "";
  for (int n = 0; *s && n < lines; n++) {
    size_t len = strcspn(s, "\n");
    if (n)
      gr_buf_add(&b, " ", 1);
    gr_buf_add(&b, s, len);
    s += len + (s[len] == '\n');
  }
  gr_buf_add(&b, "", 0);
  return b.data;
}

void gr_catch_finish(struct ex_ctx *c) {
  gr_ex_result_t *res = c->res;
  const gr_exercise_t *ex = res->ex;
  struct catch_ctx *ct = c->ct;
  if (ct && res->state == GR_EX_BUILT && res->results_cached == res->ntests) {
    /* Kept from an earlier grading of the same files: said as it was. */
    free(ct->ref);
    free(ct->brk);
    free(ct);
    c->ct = NULL;
    return;
  }
  if (!ct || res->state != GR_EX_BUILT) {
    free(ct ? ct->ref : NULL);
    free(ct ? ct->brk : NULL);
    free(ct);
    c->ct = NULL;
    return;
  }
  gr_buf_t d = {0};
  int ngood = 0;
  res->learner_test_count = ct->nltests;
  gr_buf_printf(&d, "Your tests on the correct implementation (%d runs each%s):\n",
                REF_RUNS, ct->nref == 2 ? ", in two builds" : "");
  for (int l = 0; l < ct->nltests; l++) {
    int passed = 0, fault = 0, hangs = 0;
    const gr_test_result_t *bad = NULL;
    for (int k = 0; k < REF_RUNS; k++) {
      const gr_test_result_t *r = &ct->ref[l * REF_RUNS + k];
      passed += r->status == GR_PASS;
      fault |= r->status == GR_GRADER_ERROR;
      hangs += r->status == GR_TIMEOUT;
      if (r->status != GR_PASS && !bad)
        bad = r;
    }
    ngood += ct->good[l];
    if (passed == REF_RUNS) {
      gr_buf_printf(&d, "  ok     %s\n", ct->ltests[l].name);
      continue;
    }
    char *why = first_lines(bad->message, 4);
    if (fault) {
      gr_buf_printf(&d, "  ?      %s: could not be run: %s\n", ct->ltests[l].name, why);
    } else {
      res->wrong_tests++;
      gr_buf_printf(&d, "  %s  %s: %s %s: %s\n",
                    hangs == REF_RUNS ? "HANGS" : passed ? "FLAKY" : "WRONG",
                    ct->ltests[l].name,
                    passed ? "passed only" : "failed all", passed ? "some runs" : "runs",
                    why);
    }
    free(why);
  }
  if (res->wrong_tests)
    gr_buf_printf(&d, "A test that fails on the correct implementation, even "
                      "once, is wrong, flaky or stuck: it catches nothing. Fix "
                      "what it expects, wait for facts (counts, order) instead "
                      "of time, and end every wait with wb_run's deadline.\n");
  if (ct->nbroken == 0)
    gr_buf_printf(&d, "Which broken implementations your tests catch is graded "
                      "when you submit: they are not in your copy of the "
                      "workbook. The README says what kinds of mistakes they "
                      "make.\n");
  for (int b = 0; b < res->ntests; b++) {
    gr_test_result_t *tr = &res->tests[b];
    if (ct->nbroken == 0) {
      tr->status = GR_NOT_RUN;
      tr->message = xasprintf("graded when you submit: %s", ex->tests[b].what);
      continue;
    }
    if (ct->caught_by[b] >= 0) {
      const gr_test_result_t *r = &ct->brk[ct->caught_by[b] * ct->nbroken + b];
      tr->status = GR_PASS;
      tr->score = tr->test->points;
      char *how = first_lines(r->message, 2);
      tr->message = xasprintf("caught by your test %s (%s: %s)",
                              ct->ltests[ct->caught_by[b]].name,
                              gr_status_text(r->status), how);
      free(how);
      gr_buf_printf(&d, "Caught: %s (by %s)\n", ex->tests[b].what,
                    ct->ltests[ct->caught_by[b]].name);
    } else if (ct->grader_fault[b]) {
      tr->status = GR_GRADER_ERROR;
      tr->message = xasprintf("could not grade: a run of your tests on this "
                              "implementation failed for a reason of the "
                              "grader's or the machine's.");
    } else {
      tr->status = GR_FAIL;
      tr->message = ngood
          ? xasprintf("not caught: an implementation with this mistake (%s) "
                      "passed %s that pass%s on the correct one. Write a test "
                      "that fails on that mistake.",
                      ex->tests[b].what, ngood == 1 ? "your only test" : "all your tests",
                      ngood == 1 ? "es" : "")
          : xasprintf("not caught (%s): none of your tests passes on the "
                      "correct implementation, so none can catch anything.",
                      ex->tests[b].what);
    }
  }
  free(res->detail);
  res->detail = d.data;
  for (int i = 0; i < ct->nltests * REF_RUNS; i++) {
    free(ct->ref[i].message);
    free(ct->ref[i].output);
  }
  for (int i = 0; i < ct->nltests * ct->nbroken; i++) {
    free(ct->brk[i].message);
    free(ct->brk[i].output);
  }
  free(ct->ref);
  free(ct->brk);
  free(ct);
  c->ct = NULL;
}

unsigned long long gr_catch_hash(unsigned long long h, const gr_exercise_t *ex) {
  if (!ex->learner_tests || !ex->impl[0])
    return h;
  struct dirent **names;
  int n = scandir(ex->impl, &names, NULL, alphasort);
  for (int i = 0; i < n; i++) {
    char p[PATH_MAX + 256];
    snprintf(p, sizeof p, "%s/%s", ex->impl, names[i]->d_name);
    if (gr_is_file(p)) {
      h = gr_hash(h, names[i]->d_name, strlen(names[i]->d_name) + 1);
      h = gr_hash_file(h, p);
    }
    free(names[i]);
  }
  if (n >= 0)
    free(names);
  return h;
}

/* ---- A handout's reference objects ------------------------------------- */

/* Compiles tests/impl/ID/reference.c as a handout ships it (plain and
 * sanitizer builds, allocations routed) into OUT/impl/ID/reference.o and
 * reference.asan.o, for every exercise whose learner writes the tests: a
 * learner's `check` runs their tests on it, never seeing its source. */
int gr_cmd_ship_impl(gr_workbook_t *wb, int argc, char **argv) {
  if (argc < 1) {
    fprintf(stderr, "usage: grader ship-impl OUTDIR [EXERCISE...]\n");
    return 2;
  }
  int shipped = 0;
  /* The compiler runs in the exercise's folder under OUTDIR: a relative
   * OUTDIR would lead nowhere from there. */
  char outdir[PATH_MAX];
  if (gr_mkdirs(argv[0]) < 0 || !realpath(argv[0], outdir)) {
    fprintf(stderr, "grader: cannot create %s\n", argv[0]);
    return 1;
  }
  for (int i = 0; i < wb->nex; i++) {
    const gr_exercise_t *ex = &wb->ex[i];
    int wanted = argc == 1;
    for (int a = 1; a < argc && !wanted; a++)
      wanted = !strcmp(argv[a], ex->id);
    if (!wanted || !ex->learner_tests)
      continue;
    if (!ex->impl[0] || ex->impl_prebuilt) {
      fprintf(stderr, "grader: %s: tests/impl/%s/reference.c is missing\n", ex->id, ex->id);
      return 1;
    }
    char dir[PATH_MAX * 2], tmp[PATH_MAX * 2];
    snprintf(dir, sizeof dir, "%s/impl/%s", outdir, ex->id);
    snprintf(tmp, sizeof tmp, "%s/impl.c", dir);
    char ref[PATH_MAX + 16];
    snprintf(ref, sizeof ref, "%s/reference.c", ex->impl);
    if (gr_mkdirs(dir) < 0 || gr_copy_file(ref, tmp) < 0) {
      fprintf(stderr, "grader: cannot write %s\n", dir);
      return 1;
    }
    for (int san = 0; san < 2; san++) {
      char *args[64], out[PATH_MAX * 2 + 16], inc[4][PATH_MAX + 4];
      int n = 0;
      static const char *const flags[] = {IMPL_SHIPPED_CFLAGS, NULL};
      args[n++] = WB_CC;
      for (int f = 0; flags[f]; f++)
        args[n++] = (char *)flags[f];
      char *sanflags = gr_xstrdup(WB_SAN), *save = NULL;
      for (char *w = strtok_r(sanflags, " ", &save); san && w; w = strtok_r(NULL, " ", &save))
        args[n++] = w;
      snprintf(inc[0], sizeof inc[0], "-I%s", ex->dir);
      snprintf(inc[1], sizeof inc[1], "-I%s/lib", wb->root);
      snprintf(inc[2], sizeof inc[2], "-I%s/server", wb->root);
      for (int k = 0; k < 3; k++)
        args[n++] = inc[k];
      snprintf(out, sizeof out, "%s/reference%s.o", dir, san ? ".asan" : "");
      args[n++] = "-c";
      args[n++] = "impl.c";
      args[n++] = "-o";
      args[n++] = out;
      args[n] = NULL;
      gr_buf_t log = {0};
      char cwd[PATH_MAX];
      int st = getcwd(cwd, sizeof cwd) && chdir(dir) == 0 ? gr_run_capture(args, &log, 64 << 10) : -1;
      if (chdir(cwd) < 0)
        st = -1;
      free(sanflags);
      if (st != 0 || gr_route_allocations(out) < 0) {
        fprintf(stderr, "grader: %s: reference.c did not compile:\n%s\n", ex->id,
                log.data ? log.data : "");
        gr_buf_free(&log);
        return 1;
      }
      gr_buf_free(&log);
    }
    unlink(tmp);
    shipped++;
  }
  printf("ship-impl: the reference of %d exercise%s compiled into %s/impl\n", shipped,
         shipped == 1 ? "" : "s", argv[0]);
  return 0;
}
