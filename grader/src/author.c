/* author.c - the workbook checks itself: `verify` (every solution passes,
 * every stub scores 0, every chapter program shows what its file says it
 * shows, every listing in a lesson is the real file, every picture in a
 * lesson is what its program still draws) and `examples`.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <dirent.h>
#include <glob.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>


/* ---- Chapter programs ------------------------------------------------------ */

/* Evaluates "lag_ms < 50, elapsed_ms > 280 (words)" against the values of
 * a "measured: k=v ..." line. Returns 1 when every condition holds. */
static int conditions_hold(const char *cond, const char *measured, char *why,
                           size_t whylen) {
  char copy[256];
  snprintf(copy, sizeof copy, "%s", cond);
  char *paren = strchr(copy, '(');
  if (paren)
    *paren = 0;
  why[0] = 0;
  char *save = NULL;
  for (char *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
    char key[32], op;
    double limit;
    if (sscanf(c, " %31[a-z_] %c %lf", key, &op, &limit) != 3 ||
        (op != '<' && op != '>')) {
      snprintf(why, whylen, "cannot read the condition \"%s\"", c);
      return 0;
    }
    char pat[40];
    snprintf(pat, sizeof pat, " %s=", key);
    const char *at = strstr(measured, pat);
    if (!at) {
      snprintf(why, whylen, "%s was not measured", key);
      return 0;
    }
    double v = atof(at + strlen(pat));
    size_t used = strlen(why);
    snprintf(why + used, whylen - used, "%s%s=%.0f %c %.0f", used ? ", " : "",
             key, v, op, limit);
    if ((op == '<' && !(v < limit)) || (op == '>' && !(v > limit))) {
      used = strlen(why);
      snprintf(why + used, whylen - used, " does not hold");
      return 0;
    }
  }
  return 1;
}

static void program_done(gr_job_t *job) { (void)job; }

static int run_programs(gr_workbook_t *wb) {
  char pattern[PATH_MAX];
  glob_t gl;
  snprintf(pattern, sizeof pattern, "%s/chapters/%s*/*.c", wb->root, wb->only);
  if (glob(pattern, 0, NULL, &gl) != 0)
    return 0;
  gr_engine_init(1); /* one at a time: they measure time */
  for (size_t i = 0; i < gl.gl_pathc; i++) {
    const char *src = gl.gl_pathv[i];
    const char *rel = src + strlen(wb->root) + 1; /* chapters/NN/x.c */
    char name[PATH_MAX], bin[PATH_MAX];
    snprintf(name, sizeof name, "%.*s", (int)(strlen(rel) - 2 - strlen("chapters/")),
             rel + strlen("chapters/"));
    snprintf(bin, sizeof bin, "%s/chapters/%s", wb->build, name);
    gr_buf_t text = {0};
    gr_read_file(src, 1 << 20, &text);
    const char *exp = text.data ? strstr(text.data, " * expect: ") : NULL;
    const char *sym = text.data ? strstr(text.data, " * symptom: ") : NULL;
    if (!exp && !sym) {
      gr_verdict(0, "%s: its opening comment has no \"expect:\" or \"symptom:\" line", name);
      gr_buf_free(&text);
      continue;
    }
    const char *cond = exp ? exp + strlen(" * expect: ") : sym + strlen(" * symptom: ");
    char condbuf[256];
    snprintf(condbuf, sizeof condbuf, "%.*s", (int)strcspn(cond, "\n"), cond);
    gr_buf_free(&text);
    if (!gr_is_file(bin)) {
      gr_verdict(0, "%s: not built (run `make examples`)", name);
      continue;
    }
    gr_job_t job = {0};
    job.argv[0] = bin;
    job.env[0] = "PATH=/usr/bin:/bin";
    job.sb.trusted = 1;
    job.sb.timeout_s = 20;
    job.done = program_done;
    gr_engine_submit(&job);
    gr_engine_run();
    const char *out = job.out.data ? job.out.data : "";
    const char *m = strstr(out, "measured:");
    char measured[256] = "";
    if (m)
      snprintf(measured, sizeof measured, "%.*s ", (int)strcspn(m, "\n"), m + 9);
    char why[256];
    if (job.timed_out) {
      gr_verdict(0, "%s: did not finish within 20 s", name);
    } else if (!WIFEXITED(job.status) || WEXITSTATUS(job.status) != 0) {
      gr_verdict(0, "%s: exited with status %d\n%s", name,
              WIFEXITED(job.status) ? WEXITSTATUS(job.status) : -1, out);
    } else if (!m) {
      gr_verdict(0, "%s: printed no \"measured:\" line", name);
    } else if (!conditions_hold(condbuf, measured, why, sizeof why)) {
      gr_verdict(0, "%s: %s %s: %s", name, exp ? "expected" : "should show",
              condbuf, why);
    } else if (exp) {
      gr_verdict(1, "%s: runs as expected (%s)", name, why);
    } else {
      const char *words = strchr(condbuf, '(');
      gr_verdict(1, "%s: shows its symptom%s%.*s (%s)", name, words ? ", " : "",
              words ? (int)strcspn(words + 1, ")") : 0, words ? words + 1 : "", why);
    }
    gr_buf_free(&job.out);
  }
  globfree(&gl);
  return 0;
}

int gr_cmd_examples(gr_workbook_t *wb, int argc, char **argv) {
  (void)argc, (void)argv;
  printf("Chapter programs:\n");
  run_programs(wb);
  printf("examples: %d passed, %d failed\n", gr_verdicts(1), gr_verdicts(0));
  return gr_verdicts(0) > 0;
}

/* ---- Listings ------------------------------------------------------------------ */

/* Each "<!-- include: FILE[:A-B] -->" line of a lesson must be followed by a
 * fenced block holding exactly that file (or lines A to B of it). */
static void check_listings(gr_workbook_t *wb) {
  char pattern[PATH_MAX];
  glob_t gl;
  snprintf(pattern, sizeof pattern, "%s/chapters/%s*/README.md", wb->root, wb->only);
  if (glob(pattern, 0, NULL, &gl) != 0)
    return;
  for (size_t i = 0; i < gl.gl_pathc; i++) {
    gr_buf_t md = {0};
    gr_read_file(gl.gl_pathv[i], 4 << 20, &md);
    char chdir_[PATH_MAX];
    snprintf(chdir_, sizeof chdir_, "%s", gl.gl_pathv[i]);
    *strrchr(chdir_, '/') = 0;
    const char *chname = strrchr(chdir_, '/') + 1;
    int count = 0, bad = 0;
    for (const char *s = md.data; s && (s = strstr(s, "<!-- include: "));) {
      s += strlen("<!-- include: ");
      char spec[PATH_MAX];
      const char *close = strstr(s, " -->");
      snprintf(spec, sizeof spec, "%.*s",
               close ? (int)(close - s) : (int)strcspn(s, " \n"), s);
      int a = 0, b = 0;
      char *colon = strrchr(spec, ':');
      if (colon) {
        sscanf(colon + 1, "%d-%d", &a, &b);
        *colon = 0;
      }
      count++;
      const char *fence = strstr(s, "\n```");
      const char *body = fence ? strchr(fence + 1, '\n') : NULL;
      const char *end = body ? strstr(body, "\n```") : NULL;
      if (!end) {
        gr_verdict(0, "chapters/%s/README.md: listing of %s has no code block", chname, spec);
        bad++;
        continue;
      }
      body++;
      gr_buf_t file = {0};
      char path[PATH_MAX * 2];
      snprintf(path, sizeof path, "%s/%s", chdir_, spec);
      if (gr_read_file(path, 4 << 20, &file) < 0) {
        gr_verdict(0, "chapters/%s/README.md: listed file %s does not exist", chname, spec);
        bad++;
        continue;
      }
      /* Lines a..b (1-based, inclusive) of the file, or all of it. */
      const char *from = file.data, *to = file.data + file.len;
      if (a > 0) {
        int line = 1;
        for (const char *p = file.data; *p && line < a; p++)
          if (*p == '\n' && ++line == a)
            from = p + 1;
        to = from;
        for (line = a; *to && line <= b; to++)
          if (*to == '\n')
            line++;
      }
      size_t want = (size_t)(to - from), have = (size_t)(end + 1 - body);
      while (want > 0 && from[want - 1] == '\n')
        want--;
      while (have > 0 && body[have - 1] == '\n')
        have--;
      if (want != have || memcmp(from, body, want) != 0) {
        gr_verdict(0, "chapters/%s/README.md: the listing of %s differs from the file", chname, spec);
        bad++;
      }
      gr_buf_free(&file);
      s = end;
    }
    if (!bad)
      gr_verdict(1, "chapters/%s/README.md: %d listing%s match their files", chname,
              count, count == 1 ? "" : "s");
    gr_buf_free(&md);
  }
  globfree(&gl);
}

/* ---- Mutants ------------------------------------------------------------------ */

/* tests/mutants/CHAPTER/EXERCISE/NAME.patch is the reference solution with
 * one plausible mistake, as a unified diff against solutions/ (so the
 * mistake is all a reader sees, and the mutant follows the solution);
 * NAME.c is a whole learner file, for a mistake that rewrites most of it.
 * The first line of either says which promise it breaks:
 *   / * mutant: PROMISE * /          it must lose points;
 *   / * mutant (core): PROMISE * /   it misses the chapter's core idea
 *                                  (blocks, runs serially, never cleans
 *                                  up): at most a third of the points.
 * For an exercise with several learner files, NAME/ is a folder holding
 * the files that differ; the others come from solutions/. Every exercise
 * needs at least MIN_MUTANTS of them. */
#define MIN_MUTANTS 8
/* An exercise whose learner writes the tests: its mutants are wrong test
 * files (the broken implementations are what its tests must catch), and
 * it has at least MIN_BROKEN of those. */
#define MIN_TESTS_MUTANTS 3
#define MIN_BROKEN 6
#define MAX_MUTANTS 512

struct mutant {
  gr_exercise_t *ex;
  char name[128];
  char promise[256];
  int core;
  char dir[PATH_MAX]; /* the upload made of it */
  gr_grading_t g;
};

/* Reads the promise line of a mutant; 0, or -1 with `why` set. */
static int mutant_promise(const char *file, struct mutant *m, char *why,
                          size_t len) {
  gr_buf_t b = {0};
  if (gr_read_file(file, 1 << 20, &b) < 0 || !b.data) {
    snprintf(why, len, "cannot read %s", file);
    return -1;
  }
  const char *line = b.data;
  m->core = !strncmp(line, "/* mutant (core): ", 18);
  const char *text = m->core ? line + 18
                     : !strncmp(line, "/* mutant: ", 11) ? line + 11 : NULL;
  const char *end = text ? strstr(text, "*/") : NULL;
  const char *eol = text ? strchr(text, '\n') : NULL;
  if (!text || !end || (eol && eol < end)) {
    snprintf(why, len, "its first line must be \"/* mutant: PROMISE */\" or "
                       "\"/* mutant (core): PROMISE */\" on one line");
    gr_buf_free(&b);
    return -1;
  }
  while (end > text && end[-1] == ' ')
    end--;
  snprintf(m->promise, sizeof m->promise, "%.*s", (int)(end - text), text);
  gr_buf_free(&b);
  return 0;
}

/* Makes the upload of mutant `path` (a file or a folder) in m->dir. */
static int mutant_upload(gr_workbook_t *wb, struct mutant *m, const char *path,
                         char *why, size_t len) {
  gr_exercise_t *ex = m->ex;
  size_t plen = strlen(path);
  if (plen > 6 && !strcmp(path + plen - 6, ".patch")) {
    /* The solution's files, then the diff applied to them (git apply
     * works outside a repository too). */
    if (mutant_promise(path, m, why, len) < 0)
      return -1;
    for (int f = 0; f < ex->nfiles; f++) {
      char from[PATH_MAX * 2], to[PATH_MAX * 2];
      snprintf(from, sizeof from, "%s/solutions/%s/%s", wb->root, ex->id, ex->files[f]);
      snprintf(to, sizeof to, "%s/%s", m->dir, ex->files[f]);
      if (gr_copy_file(from, to) < 0) {
        snprintf(why, len, "cannot copy %s", from);
        return -1;
      }
    }
    char *argv[] = {"git", "-C", m->dir, "apply", "-p1", (char *)path, NULL};
    gr_buf_t out = {0};
    int st = gr_run_capture(argv, &out, 4096);
    if (st != 0)
      snprintf(why, len, "its diff no longer applies to solutions/%s (the "
                         "solution changed? remake the mutant): %s",
               ex->id, out.data ? out.data : "git apply failed");
    gr_buf_free(&out);
    return st == 0 ? 0 : -1;
  }
  if (gr_is_file(path)) {
    if (ex->nfiles != 1) {
      snprintf(why, len, "the exercise has %d learner files: make the mutant "
                         "a folder holding the files that differ", ex->nfiles);
      return -1;
    }
    if (mutant_promise(path, m, why, len) < 0)
      return -1;
    char to[PATH_MAX * 2];
    snprintf(to, sizeof to, "%s/%s", m->dir, ex->files[0]);
    return gr_copy_file(path, to) < 0 ? (snprintf(why, len, "cannot copy it"), -1) : 0;
  }
  int found = 0;
  for (int f = 0; f < ex->nfiles; f++) {
    char from[PATH_MAX * 2], to[PATH_MAX * 2];
    snprintf(from, sizeof from, "%s/%s", path, ex->files[f]);
    if (gr_is_file(from)) {
      if (!found++ && mutant_promise(from, m, why, len) < 0)
        return -1;
    } else {
      snprintf(from, sizeof from, "%s/solutions/%s/%s", wb->root, ex->id, ex->files[f]);
    }
    snprintf(to, sizeof to, "%s/%s", m->dir, ex->files[f]);
    if (gr_copy_file(from, to) < 0) {
      snprintf(why, len, "cannot copy %s", from);
      return -1;
    }
  }
  if (!found)
    snprintf(why, len, "the folder holds none of the exercise's files");
  return found ? 0 : -1;
}

/* The tests that took points from a mutant: "name (0/2), ...". */
static void caught_by(const gr_ex_result_t *e, char *out, size_t len) {
  size_t used = 0;
  out[0] = 0;
  for (int t = 0; t < e->ntests && used < len; t++) {
    const gr_test_result_t *tr = &e->tests[t];
    if (!tr->not_run && !gr_full(tr->score, tr->test->points))
      used += (size_t)snprintf(out + used, len - used, "%s%s (%s/%s)",
                               used ? ", " : "", tr->test->name,
                               GR_PTS(tr->score), GR_PTS(tr->test->points));
  }
}

static void check_mutants(gr_workbook_t *wb, const gr_options_t *opt) {
  static struct mutant ms[MAX_MUTANTS];
  int nm = 0;
  char tmp[] = "/tmp/wb-mutants-XXXXXX";
  if (!mkdtemp(tmp)) {
    gr_verdict(0, "mutants: cannot make a scratch folder");
    return;
  }
  /* Four times the cores: a mutant's tests mostly wait (on timers, or for
   * a hang's deadline), not compute. */
  gr_options_t mopt = *opt;
  mopt.jobs = 4 * opt->jobs;
  opt = &mopt;
  /* A mutant needs one failing test to be caught: its tests run one after
   * another and stop there. A core one runs them all, for its score. */
  gr_options_t quick = mopt;
  quick.first_failure = 1;
  gr_engine_init(opt->jobs);
  double start = gr_now();
  for (int i = 0; i < wb->nex; i++) {
    gr_exercise_t *ex = &wb->ex[i];
    char pattern[PATH_MAX * 2];
    glob_t gl;
    snprintf(pattern, sizeof pattern, "%s/tests/mutants/%s/*", wb->root, ex->id);
    int count = 0;
    if (glob(pattern, 0, NULL, &gl) == 0) {
      for (size_t k = 0; k < gl.gl_pathc && nm < MAX_MUTANTS; k++) {
        struct mutant *m = &ms[nm];
        memset(m, 0, sizeof *m);
        m->ex = ex;
        const char *base = strrchr(gl.gl_pathv[k], '/') + 1;
        size_t bl = strlen(base);
        size_t cut = bl > 2 && !strcmp(base + bl - 2, ".c")           ? 2
                     : bl > 6 && !strcmp(base + bl - 6, ".patch") ? 6
                                                                  : 0;
        snprintf(m->name, sizeof m->name, "%.*s", (int)(bl - cut), base);
        snprintf(m->dir, sizeof m->dir, "%s/%d", tmp, nm);
        char why[256];
        if (gr_mkdirs(m->dir) < 0 ||
            mutant_upload(wb, m, gl.gl_pathv[k], why, sizeof why) < 0) {
          gr_verdict(0, "%s/%s: %s", ex->id, m->name, why);
          continue;
        }
        count++;
        if (gr_grade_start(wb, m->dir, &m->ex, 1, m->core ? opt : &quick, &m->g,
                           NULL, NULL) < 0)
          gr_verdict(0, "%s/%s: could not start grading it", ex->id, m->name);
        else
          nm++;
      }
      globfree(&gl);
    }
    int min = ex->learner_tests ? MIN_TESTS_MUTANTS : MIN_MUTANTS;
    if (count < min)
      gr_verdict(0, "%s: %d mutant%s under tests/mutants/%s/; the bar is %d "
                 "wrong-but-plausible versions, each breaking one promise",
              ex->id, count, count == 1 ? "" : "s", ex->id, min);
  }
  gr_engine_run();
  for (int k = 0; k < nm; k++) {
    struct mutant *m = &ms[k];
    const gr_ex_result_t *e = &m->g.ex[0];
    char by[1024];
    caught_by(e, by, sizeof by);
    if (gr_ex_incomplete(e)) {
      const char *why = e->detail && *e->detail ? e->detail : NULL;
      for (int t = 0; t < e->ntests && !why; t++)
        if (e->tests[t].status == GR_GRADER_ERROR)
          why = e->tests[t].message;
      gr_verdict(0, "%s/%s: could not be graded: %s", m->ex->id, m->name,
              why ? why : "a test could not run");
    } else if (e->state != GR_EX_BUILT) {
      gr_verdict(0, "%s/%s: does not build (a mutant must compile, so a test "
                 "catches it):\n%s", m->ex->id, m->name, e->detail ? e->detail : "");
    } else if (gr_full(e->score, e->max)) {
      gr_verdict(0, "%s/%s: SURVIVED with %s/%s: no test checks that %s",
              m->ex->id, m->name, GR_PTS(e->score), GR_PTS(e->max), m->promise);
    } else if (m->core && e->score * 3 > e->max + 1e-6) {
      gr_verdict(0, "%s/%s: misses the core idea (%s) but keeps %s/%s, more "
                 "than a third; caught by %s",
              m->ex->id, m->name, m->promise, GR_PTS(e->score), GR_PTS(e->max), by);
    } else if (m->core) {
      gr_verdict(1, "%s/%s: %s/%s, caught by %s", m->ex->id, m->name,
              GR_PTS(e->score), GR_PTS(e->max), by);
    } else {
      gr_verdict(1, "%s/%s: caught by %s", m->ex->id, m->name, by);
    }
    gr_grading_free(&m->g);
  }
  printf("  (%d mutants graded in %.2f s)\n", nm, gr_now() - start);
  gr_rmtree(tmp);
}

/* ---- verify ------------------------------------------------------------------ */

/* An exercise whose learner writes the tests: every broken implementation
 * its README names is in tests/impl/ID (NAME.patch or NAME.c, first line
 * "/ * broken: WORDS * /"), nothing there is unnamed, and there are enough. */
static void check_broken(const gr_exercise_t *ex) {
  char ref[PATH_MAX + 16];
  snprintf(ref, sizeof ref, "%s/reference.c", ex->impl);
  if (!ex->impl[0] || ex->impl_prebuilt || !gr_is_file(ref)) {
    gr_verdict(0, "%s: tests/impl/%s/reference.c is missing (the correct "
               "implementation the learner's tests run on)", ex->id, ex->id);
    return;
  }
  int ok = ex->ntests >= MIN_BROKEN;
  if (!ok)
    gr_verdict(0, "%s: the README names %d broken implementations to catch; "
               "the bar is %d", ex->id, ex->ntests, MIN_BROKEN);
  for (int t = 0; t < ex->ntests; t++) {
    char path[PATH_MAX + 128];
    gr_buf_t b = {0};
    snprintf(path, sizeof path, "%s/%s.patch", ex->impl, ex->tests[t].name);
    if (!gr_is_file(path))
      snprintf(path, sizeof path, "%s/%s.c", ex->impl, ex->tests[t].name);
    if (gr_read_file(path, 1 << 20, &b) < 0 || !b.data ||
        strncmp(b.data, "/* broken: ", 11) || !strstr(b.data, "*/") ||
        strchr(b.data, '\n') < strstr(b.data, "*/")) {
      gr_verdict(0, "%s: tests/impl/%s/%s.patch (or .c) is missing, or its "
                 "first line is not \"/* broken: KIND OF MISTAKE */\"",
                 ex->id, ex->id, ex->tests[t].name);
      ok = 0;
    }
    gr_buf_free(&b);
  }
  glob_t gl;
  char pat[PATH_MAX + 8];
  snprintf(pat, sizeof pat, "%s/*", ex->impl);
  if (glob(pat, 0, NULL, &gl) == 0) {
    for (size_t i = 0; i < gl.gl_pathc; i++) {
      char name[256];
      const char *base = strrchr(gl.gl_pathv[i], '/') + 1;
      snprintf(name, sizeof name, "%s", base);
      char *dot = strrchr(name, '.');
      if (dot)
        *dot = 0;
      int named = !strcmp(base, "reference.c");
      for (int t = 0; t < ex->ntests && !named; t++)
        named = !strcmp(name, ex->tests[t].name);
      if (!named) {
        gr_verdict(0, "%s: tests/impl/%s/%s is not named in the README's "
                   "\"## What your tests must catch\"", ex->id, ex->id, base);
        ok = 0;
      }
    }
    globfree(&gl);
  }
  if (ok)
    gr_verdict(1, "%s: %d broken implementations, each named in the README with "
               "the kind of mistake it makes", ex->id, ex->ntests);
}

static void check_layout(gr_workbook_t *wb) {
  for (int i = 0; i < wb->nex; i++) {
    gr_exercise_t *ex = &wb->ex[i];
    char *hints[16];
    int nh = gr_exercise_hints(ex, hints, 16);
    for (int h = 0; h < nh; h++)
      free(hints[h]);
    int sol = 1, unique = 1;
    for (int f = 0; f < ex->nfiles; f++) {
      char path[PATH_MAX * 2];
      snprintf(path, sizeof path, "%s/solutions/%s/%s", wb->root, ex->id, ex->files[f]);
      sol &= gr_is_file(path);
      for (int j = 0; j < wb->nex; j++)
        for (int g = 0; j != i && g < wb->ex[j].nfiles; g++)
          unique &= strcmp(ex->files[f], wb->ex[j].files[g]) != 0;
    }
    int points = ex->ntests > 0 && ex->max_points > 0;
    for (int t = 0; t < ex->ntests; t++)
      if (!(ex->tests[t].points > 0)) {
        gr_verdict(0, "%s: test %s is worth nothing: every WB_TEST needs points "
                   "(a test worth 0 cannot tell a learner anything)",
                ex->id, ex->tests[t].name);
        points = 1; /* said once, here */
      }
    if (ex->learner_tests)
      check_broken(ex);
    int ok = nh > 0 && ex->nfiles > 0 && sol && unique && points;
    gr_verdict(ok, "%s: layout%s%s%s%s%s", ex->id, ok ? " (README with hints, stub, tests with points, solution)" : ":",
            nh ? "" : " no hints in README.md;", ex->nfiles ? "" : " no learner file;",
            sol ? "" : " a solution file is missing;",
            unique ? "" : " a learner file name is used by another exercise;");
    if (!points)
      gr_verdict(0, "%s: no WB_TEST(name, points) with points", ex->id);
  }
}

int gr_cmd_verify(gr_workbook_t *wb, int argc, char **argv) {
  /* The workbook checks itself: every test really runs (no cached result).
   * One job per core: two per core halve one chapter's mutant time
   * (chapter 03: 21.7 s -> 10.9 s), but the whole workbook's is bound by
   * the CPU (203 s against 204-213 s), and without bubblewrap (a chroot)
   * the faster turnover of a slot's uid once failed 16 links in a row. */
  gr_options_t opt = {.jobs = (int)sysconf(_SC_NPROCESSORS_ONLN),
                      .test_timeout_s = 10, .no_cache = 1, .sanitize = 1};
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--no-sanitize")) {
      opt.sanitize = 0;
    } else if (!strcmp(argv[i], "--hidden") && i + 1 < argc) {
      /* An instructor's hidden tests: the solutions must pass them too,
       * and the stubs must score 0 on them. */
      int n = gr_workbook_add_hidden(wb, argv[++i], "after_published");
      if (n < 0)
        return 2;
      printf("Hidden tests: %d file%s from %s\n", n, n == 1 ? "" : "s", argv[i]);
    } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
      /* One chapter (or exercise) while it is written: "04", "04-x/02". */
      snprintf(wb->only, sizeof wb->only, "%s", argv[++i]);
      int kept = 0;
      for (int e = 0; e < wb->nex; e++)
        if (!strncmp(wb->ex[e].id, wb->only, strlen(wb->only)))
          wb->ex[kept++] = wb->ex[e];
      wb->nex = kept;
      if (strchr(wb->only, '/'))
        *strchr(wb->only, '/') = 0;
      printf("Only %s: %d exercise%s\n", argv[i], kept, kept == 1 ? "" : "s");
    } else if (strcmp(argv[i], "--sanitize")) {
      fprintf(stderr, "grader: unexpected \"%s\"\nusage: grader verify "
                      "[--no-sanitize] [--hidden DIR] [--only CHAPTER[/EXERCISE]]\n", argv[i]);
      return 2;
    }
  }
  char sol[PATH_MAX], stubs[PATH_MAX];
  snprintf(sol, sizeof sol, "%s/solutions", wb->root);
  snprintf(stubs, sizeof stubs, "%s/exercises", wb->root);
  gr_grading_t g;

  printf("Solutions%s:\n", opt.sanitize ? " (AddressSanitizer + UBSan build)"
                                         : " (plain build)");
  /* Learner-written tests are graded in the sanitizer build whatever the
   * options say: the plain verify would grade them the same way again. */
  gr_exercise_t *sel[200];
  int nsel = 0;
  for (int i = 0; i < wb->nex && nsel < 200; i++)
    if (opt.sanitize || !wb->ex[i].learner_tests)
      sel[nsel++] = &wb->ex[i];
  if (nsel < wb->nex)
    printf("  (%d exercise%s whose learner writes the tests: the sanitizer build's verify grades them)\n",
           wb->nex - nsel, wb->nex - nsel == 1 ? "" : "s");
  if (nsel == 0)
    memset(&g, 0, sizeof g); /* nothing of this build to grade */
  else if (gr_grade(wb, sol, nsel < wb->nex ? sel : NULL, nsel < wb->nex ? nsel : 0, &opt, &g) < 0)
    return 70;
  for (int i = 0; i < g.nex; i++) {
    gr_ex_result_t *e = &g.ex[i];
    int ok = e->state == GR_EX_BUILT && gr_full(e->score, e->max) && e->wrong_tests == 0;
    gr_verdict(ok, "%s: solution scores %s/%s%s", e->ex->id, GR_PTS(e->score), GR_PTS(e->max),
               e->wrong_tests ? ", but some of its tests fail on the correct implementation" : "");
    if (!ok) {
      if (e->detail && *e->detail)
        printf("%s\n", e->detail);
      for (int t = 0; t < e->ntests; t++)
        if (e->tests[t].status != GR_PASS)
          printf("        %s: %s: %s\n%s\n", e->tests[t].test->name,
                 gr_status_text(e->tests[t].status),
                 e->tests[t].message ? e->tests[t].message : "",
                 e->tests[t].output ? e->tests[t].output : "");
    }
  }
  printf("  (graded in %.2f s)\n", g.secs);
  gr_grading_free(&g);

  if (opt.sanitize) {
    printf("Mutants (each must lose points):\n");
    check_mutants(wb, &opt);
    printf("Stubs:\n");
    if (gr_grade(wb, stubs, NULL, 0, &opt, &g) < 0)
      return 70;
    for (int i = 0; i < g.nex; i++) {
      gr_ex_result_t *e = &g.ex[i];
      gr_verdict(e->score == 0 && e->state == GR_EX_BUILT && e->wrong_tests == 0,
              "%s: stub compiles and scores %s/%s%s", e->ex->id, GR_PTS(e->score),
              GR_PTS(e->max), e->wrong_tests ? ", but its example tests fail on "
              "the correct implementation" : "");
    }
    gr_grading_free(&g);
    printf("Layout:\n");
    check_layout(wb);
    printf("Lessons:\n");
    check_listings(wb);
    gr_pictures_verify(wb);
    printf("Chapter programs:\n");
    run_programs(wb);
  }
  printf("verify: %d passed, %d failed\n", gr_verdicts(1), gr_verdicts(0));
  return gr_verdicts(0) > 0;
}
