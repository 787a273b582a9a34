/* workbook.c - finds the exercises and what they are worth. Everything is
 * read from the folders themselves: exercises/NN-chapter/MM-slug/ with its
 * README.md (title, hints), its header, the learner's *.c files and the
 * test_*.c files whose WB_TEST(name, points) lines give the points.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <ctype.h>
#include <dirent.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of the entries of `dir` that start with two digits and
 * a dash (the workbook's numbered folders). Returns how many. */
static int numbered(const char *dir, char **names, int max) {
  DIR *d = opendir(dir);
  int n = 0;
  if (!d)
    return 0;
  for (struct dirent *e; (e = readdir(d)) && n < max;)
    if (isdigit((unsigned char)e->d_name[0]) &&
        isdigit((unsigned char)e->d_name[1]) && e->d_name[2] == '-')
      names[n++] = gr_xstrdup(e->d_name);
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  return n;
}

int gr_parse_tests(const char *path, gr_test_t *tests, int max) {
  gr_buf_t b = {0};
  int n = 0, line = 0;
  if (gr_read_file(path, 1 << 20, &b) < 0)
    return -1;
  for (char *s = b.data, *eol; s && *s; s = eol ? eol + 1 : NULL) {
    eol = strchr(s, '\n');
    line++;
    while (*s == ' ' || *s == '\t')
      s++;
    if (strncmp(s, "WB_TEST(", 8) != 0 || n == max)
      continue;
    gr_test_t *t = &tests[n];
    memset(t, 0, sizeof *t);
    char name[96];
    int points;
    if (sscanf(s + 8, " %95[A-Za-z0-9_] , %d", name, &points) != 2)
      continue;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->points = points;
    t->line = line;
    snprintf(t->visibility, sizeof t->visibility, "visible");
    snprintf(t->source, sizeof t->source, "%s", path);
    n++;
  }
  gr_buf_free(&b);
  return n;
}

/* An exercise whose learner writes the tests: its README lists the broken
 * implementations those tests must catch, one line each,
 *   - `NAME` (P points): the kind of mistake, in words.
 * and they become the exercise's tests (name, points, words). */
#define CATCH_HEADING "\n## What your tests must catch"

static void load_catch_list(gr_exercise_t *ex, const char *readme,
                            const char *text, const char *root) {
  const char *s = strstr(text, CATCH_HEADING);
  if (!s)
    return;
  ex->learner_tests = 1;
  int line = 1;
  for (const char *p = text; p < s + 1; p++)
    line += *p == '\n';
  s = strchr(s + 1, '\n');
  for (; s && *s; s = strchr(s, '\n')) {
    s++;
    line++;
    if (!strncmp(s, "## ", 3))
      break;
    char name[96], what[160];
    int points;
    size_t eol = strcspn(s, "\n");
    const char *close = strstr(s, "):");
    if (sscanf(s, "- `%95[a-z0-9-]` (%d point", name, &points) != 2 ||
        !close || close > s + eol || ex->ntests == 64)
      continue;
    const char *w = close + 2;
    while (*w == ' ')
      w++;
    size_t len = strcspn(w, "\n");
    /* the words may wrap onto the next lines, up to a blank line or item */
    gr_buf_t words = {0};
    gr_buf_add(&words, w, len);
    for (const char *nx = w + len; *nx == '\n' && nx[1] == ' ';) {
      const char *t = nx + 1;
      while (*t == ' ')
        t++;
      size_t l = strcspn(t, "\n");
      gr_buf_add(&words, " ", 1);
      gr_buf_add(&words, t, l);
      nx = t + l;
    }
    snprintf(what, sizeof what, "%s", words.data ? words.data : "");
    for (size_t l = strlen(what); l > 0 && (what[l - 1] == '.' || what[l - 1] == ' ');)
      what[--l] = 0; /* the words go inside sentences */
    gr_buf_free(&words);
    gr_test_t *t = &ex->tests[ex->ntests++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->what, sizeof t->what, "%s", what);
    t->points = points;
    t->line = line;
    snprintf(t->visibility, sizeof t->visibility, "visible");
    snprintf(t->source, sizeof t->source, "%s", readme);
  }
  /* The implementations: the workbook's sources; else impl/ID, with the
   * sources (a Gradescope zip) or the reference's objects (a handout). */
  snprintf(ex->impl, sizeof ex->impl, "%s/tests/impl/%s", root, ex->id);
  if (gr_is_dir(ex->impl))
    return;
  snprintf(ex->impl, sizeof ex->impl, "%s/impl/%s", root, ex->id);
  char ref[PATH_MAX + 16];
  snprintf(ref, sizeof ref, "%s/reference.c", ex->impl);
  if (!gr_is_dir(ex->impl))
    ex->impl[0] = 0;
  else
    ex->impl_prebuilt = !gr_is_file(ref);
}

static void load_exercise(gr_exercise_t *ex, const char *dir, const char *id,
                          const char *root) {
  memset(ex, 0, sizeof *ex);
  snprintf(ex->id, sizeof ex->id, "%s", id);
  snprintf(ex->dir, sizeof ex->dir, "%s", dir);
  snprintf(ex->title, sizeof ex->title, "%s", id);
  char *names[64];
  int n = 0;
  DIR *d = opendir(dir);
  if (d) {
    for (struct dirent *e; (e = readdir(d)) && n < 64;)
      names[n++] = gr_xstrdup(e->d_name);
    closedir(d);
  }
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  for (int i = 0; i < n; i++) {
    size_t len = strlen(names[i]);
    if (len > 2 && !strcmp(names[i] + len - 2, ".c")) {
      if (!strncmp(names[i], "test_", 5) && ex->nsources < 8)
        snprintf(ex->sources[ex->nsources++], PATH_MAX, "%s/%s", dir, names[i]);
      else if (strncmp(names[i], "test_", 5) && ex->nfiles < 4)
        snprintf(ex->files[ex->nfiles++], 64, "%s", names[i]);
    }
    free(names[i]);
  }
  for (int i = 0; i < ex->nsources; i++) {
    int got = gr_parse_tests(ex->sources[i], ex->tests + ex->ntests,
                             64 - ex->ntests);
    if (got > 0)
      ex->ntests += got;
  }
  char readme[PATH_MAX + 16];
  snprintf(readme, sizeof readme, "%s/README.md", dir);
  gr_buf_t b = {0};
  if (gr_read_file(readme, 1 << 20, &b) == 0 && ex->nsources == 0)
    load_catch_list(ex, readme, b.data, root);
  for (int i = 0; i < ex->ntests; i++)
    ex->max_points += ex->tests[i].points;
  if (b.data) {
    char *h = strstr(b.data, "# ");
    if (h == b.data || (h && h[-1] == '\n')) {
      h += 2;
      size_t len = strcspn(h, "\n");
      snprintf(ex->title, sizeof ex->title, "%.*s", (int)len, h);
    }
  }
  gr_buf_free(&b);
}

int gr_workbook_load(gr_workbook_t *wb, const char *argv0) {
  char exe[PATH_MAX];
  memset(wb, 0, sizeof *wb);
  const char *env = getenv("WB_ROOT");
  if (env && *env) {
    if (!realpath(env, wb->root)) {
      fprintf(stderr, "grader: WB_ROOT=%s is not a folder\n", env);
      return -1;
    }
  } else {
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 && !realpath(argv0, exe)) {
      fprintf(stderr, "grader: cannot tell where the workbook is\n");
      return -1;
    }
    if (n > 0)
      exe[n] = 0;
    /* build/grader -> build -> the workbook */
    snprintf(wb->root, sizeof wb->root, "%s", dirname(dirname(exe)));
  }
  snprintf(wb->build, sizeof wb->build, "%s/build", wb->root);
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/exercises", wb->root);
  if (!gr_is_dir(dir)) {
    fprintf(stderr, "grader: no exercises/ folder in %s\n", wb->root);
    return -1;
  }
  char *chapters[100];
  int nch = numbered(dir, chapters, 100);
  wb->ex = gr_xmalloc(sizeof *wb->ex * 200);
  for (int c = 0; c < nch; c++) {
    char chdir_[PATH_MAX];
    snprintf(chdir_, sizeof chdir_, "%s/%s", dir, chapters[c]);
    char *exs[100];
    int nex = numbered(chdir_, exs, 100);
    for (int e = 0; e < nex; e++) {
      char exdir[PATH_MAX], id[160];
      snprintf(exdir, sizeof exdir, "%s/%s", chdir_, exs[e]);
      snprintf(id, sizeof id, "%s/%s", chapters[c], exs[e]);
      if (gr_is_dir(exdir) && wb->nex < 200)
        load_exercise(&wb->ex[wb->nex++], exdir, id, wb->root);
      free(exs[e]);
    }
    free(chapters[c]);
  }
  /* A handout made for an assignment carries it: the learner sees the
   * exercises and points the instructor will grade. */
  snprintf(wb->assignment_file, sizeof wb->assignment_file, "%s/.assignment",
           wb->root);
  if (!gr_is_file(wb->assignment_file))
    wb->assignment_file[0] = 0;
  return 0;
}

int gr_workbook_add_hidden(gr_workbook_t *wb, const char *dir,
                           const char *visibility) {
  int added = 0;
  static const char *const visibilities[] = {"hidden", "after_due_date",
                                             "after_published", "visible", NULL};
  int known = 0;
  for (int i = 0; visibilities[i]; i++)
    known |= !strcmp(visibility, visibilities[i]);
  if (!known) {
    fprintf(stderr, "grader: --hidden-visibility takes hidden, after_due_date, "
                    "after_published or visible (Gradescope's words), not "
                    "\"%s\"\n", visibility);
    return -1;
  }
  char absdir[PATH_MAX];
  /* The compiler runs in a folder of its own: a relative path would lead
   * nowhere there. */
  if (!gr_is_dir(dir) || !realpath(dir, absdir)) {
    fprintf(stderr, "grader: the hidden tests folder %s does not exist\n", dir);
    return -1;
  }
  dir = absdir;
  for (int i = 0; i < wb->nex; i++) {
    gr_exercise_t *ex = &wb->ex[i];
    char exdir[PATH_MAX];
    snprintf(exdir, sizeof exdir, "%s/%s", dir, ex->id);
    DIR *d = opendir(exdir);
    if (!d)
      continue;
    for (struct dirent *e; (e = readdir(d));) {
      size_t len = strlen(e->d_name);
      if (strncmp(e->d_name, "test_", 5) || len < 3 ||
          strcmp(e->d_name + len - 2, ".c") || ex->nsources == 8)
        continue;
      if (ex->learner_tests) {
        fprintf(stderr, "grader: %s/%s: in %s the learner writes the tests, "
                        "graded by the broken implementations they catch "
                        "(tests/impl/%s): hidden tests have nothing to run on "
                        "there. Add a broken implementation instead.\n",
                exdir, e->d_name, ex->id, ex->id);
        closedir(d);
        return -1;
      }
      char *src = ex->sources[ex->nsources++];
      snprintf(src, PATH_MAX, "%s/%s", exdir, e->d_name);
      int got = gr_parse_tests(src, ex->tests + ex->ntests, 64 - ex->ntests);
      for (int t = 0; t < got; t++) {
        gr_test_t *test = &ex->tests[ex->ntests + t];
        for (int o = 0; o < ex->ntests + t; o++)
          if (!strcmp(ex->tests[o].name, test->name)) {
            fprintf(stderr, "grader: %s:%d: a test named %s is already in %s "
                            "(%s): give the hidden test another name\n",
                    src, test->line, test->name, ex->id, ex->tests[o].source);
            closedir(d);
            return -1;
          }
        test->hidden = 1;
        snprintf(test->visibility, sizeof test->visibility, "%s", visibility);
        ex->max_points += test->points;
      }
      ex->ntests += got > 0 ? got : 0;
      added++;
    }
    closedir(d);
  }
  if (added == 0) {
    fprintf(stderr, "grader: no hidden tests in %s: they go in "
                    "%s/CHAPTER/EXERCISE/test_*.c, e.g. %s/%s/test_more.c\n",
            dir, dir, dir, wb->nex ? wb->ex[0].id : "02-basic-patterns/01-async-sleep");
    return -1;
  }
  return added;
}

gr_exercise_t *gr_workbook_find(gr_workbook_t *wb, const char *name) {
  char key[PATH_MAX];
  snprintf(key, sizeof key, "%s", name);
  /* Accept what a learner may type or paste: ./exercises/ID/, a file in
   * the exercise, or just the folder name. */
  char *k = key;
  while (!strncmp(k, "./", 2))
    k += 2;
  size_t len = strlen(k);
  if (len > 2 && !strcmp(k + len - 2, ".c")) {
    char *slash = strrchr(k, '/');
    if (slash)
      *slash = 0;
  }
  while ((len = strlen(k)) > 0 && k[len - 1] == '/')
    k[len - 1] = 0;
  char *at = strstr(k, "exercises/");
  if (at)
    k = at + strlen("exercises/");
  gr_exercise_t *prefix = NULL;
  int nprefix = 0;
  for (int i = 0; i < wb->nex; i++) {
    gr_exercise_t *ex = &wb->ex[i];
    const char *slug = strchr(ex->id, '/') + 1;
    if (!strcmp(ex->id, k) || !strcmp(slug, k))
      return ex;
    for (int f = 0; f < ex->nfiles; f++)
      if (!strcmp(ex->files[f], k))
        return ex;
    if (!strncmp(ex->id, k, strlen(k)) || !strncmp(slug, k, strlen(k))) {
      prefix = ex;
      nprefix++;
    }
  }
  return nprefix == 1 ? prefix : NULL;
}

int gr_exercise_hints(const gr_exercise_t *ex, char **hints, int max) {
  char readme[PATH_MAX + 16];
  snprintf(readme, sizeof readme, "%s/README.md", ex->dir);
  gr_buf_t b = {0};
  int n = 0;
  if (gr_read_file(readme, 1 << 20, &b) < 0)
    return 0;
  char *s = strstr(b.data, "\n## Hints");
  if (s) {
    s = strchr(s + 1, '\n');
    char *end = s ? strstr(s, "\n## ") : NULL;
    if (end)
      *end = 0;
    /* One hint per paragraph: paragraphs are separated by blank lines. */
    while (s && *s && n < max) {
      while (*s == '\n')
        s++;
      char *para_end = strstr(s, "\n\n");
      size_t len = para_end ? (size_t)(para_end - s) : strlen(s);
      while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
        len--;
      if (len > 0) {
        hints[n] = gr_xmalloc(len + 1);
        memcpy(hints[n], s, len);
        /* A paragraph is one hint: its line breaks are just wrapping. */
        for (char *p = hints[n]; *p; p++)
          if (*p == '\n')
            *p = ' ';
        n++;
      }
      s = para_end;
    }
  }
  gr_buf_free(&b);
  return n;
}

/* A hint paragraph may end with "Helps with: `test_a`, `test_b`." */
#define HELPS "Helps with:"

int gr_hint_helps(const char *hint, const char *test) {
  const char *h = strstr(hint, HELPS);
  if (!h)
    return -1;
  char quoted[128];
  snprintf(quoted, sizeof quoted, "`%s`", test);
  return strstr(h, quoted) != NULL;
}

int gr_hint_text_len(const char *hint) {
  const char *h = strstr(hint, HELPS);
  size_t len = h ? (size_t)(h - hint) : strlen(hint);
  while (len > 0 && hint[len - 1] == ' ')
    len--;
  return (int)len;
}
