/* gradebook.c - a gradebook read back: each submission's stored JSON report
 * turned into a gr_grading_t again (so every format comes from report.c's
 * own writers), who a submission folder belongs to, `report --db F STUDENT`
 * and the feedback files `export --feedback DIR` writes.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- Reports rebuilt ------------------------------------------------------ */

/* The exercise records of rebuilt reports. A gr_exercise_t is large (its
 * tests and source paths) and every submission of a class was graded with
 * the same tests, so records are shared: one per exercise and set of tests,
 * not one per submission. */
struct gr_expool {
  int n, cap;
  gr_exercise_t **ex;
};

static const char *json_text(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "";
}

static double json_num(json_t *o, const char *key) {
  return json_number_value(json_object_get(o, key));
}

/* A copy of s, or NULL for an empty string (the report's "no detail"). */
static char *dup_or_null(const char *s) { return s && *s ? gr_xstrdup(s) : NULL; }

static enum gr_test_status status_from(const char *s) {
  for (int st = GR_PASS; st <= GR_GRADER_ERROR; st++)
    if (!strcmp(gr_status_text(st), s))
      return st;
  /* A word this grader does not know (a newer grader's): claiming a
   * failure would be a guess, so it counts as not graded. */
  return GR_GRADER_ERROR;
}

static enum gr_ex_state state_from(const char *s) {
  for (int st = GR_EX_BUILT; st <= GR_EX_INTERNAL; st++)
    if (!strcmp(gr_ex_state_text(st), s))
      return st;
  return GR_EX_INTERNAL;
}

static enum gr_isolation isolation_from(const char *s) {
  for (int i = GR_ISO_BWRAP; i <= GR_ISO_RLIMITS; i++)
    if (!strcmp(gr_isolation_text(i), s))
      return i;
  return GR_ISO_RLIMITS; /* the weakest: never claim more isolation */
}

/* The record for exercise `id` graded with the tests `jtests`: an existing
 * one if the pool has it, else a new one made from the workbook's (its
 * files, title and test lines) with the report's tests and points. */
static const gr_exercise_t *pool_get(struct gr_expool *p, const gr_workbook_t *wb,
                                     const char *id, json_t *jtests) {
  size_t nt = json_array_size(jtests);
  if (nt > 64)
    nt = 64;
  for (int i = 0; i < p->n; i++) {
    gr_exercise_t *ex = p->ex[i];
    int same = !strcmp(ex->id, id) && (size_t)ex->ntests == nt;
    for (size_t t = 0; same && t < nt; t++) {
      json_t *jt = json_array_get(jtests, t);
      same = !strcmp(ex->tests[t].name, json_text(jt, "name")) &&
             ex->tests[t].points == json_num(jt, "max_score") &&
             ex->tests[t].hidden == json_is_true(json_object_get(jt, "hidden"));
    }
    if (same)
      return ex;
  }
  gr_exercise_t *ex = gr_xmalloc(sizeof *ex);
  const gr_exercise_t *known = NULL;
  for (int i = 0; wb && i < wb->nex && !known; i++)
    if (!strcmp(wb->ex[i].id, id))
      known = &wb->ex[i];
  if (known)
    *ex = *known;
  snprintf(ex->id, sizeof ex->id, "%s", id);
  ex->ntests = (int)nt;
  ex->max_points = 0;
  for (size_t t = 0; t < nt; t++) {
    json_t *jt = json_array_get(jtests, t);
    gr_test_t *test = &ex->tests[t];
    memset(test, 0, sizeof *test);
    snprintf(test->name, sizeof test->name, "%s", json_text(jt, "name"));
    test->points = json_num(jt, "max_score");
    test->hidden = json_is_true(json_object_get(jt, "hidden"));
    /* Gradescope's visibility: the report's own word when it kept one,
     * else the workbook's test's, else what hidden tests get by default. */
    const char *vis = json_text(jt, "visibility");
    for (int k = 0; known && !test->hidden && k < known->ntests; k++)
      if (!strcmp(known->tests[k].name, test->name)) {
        test->line = known->tests[k].line;
        vis = *vis ? vis : known->tests[k].visibility;
        break;
      }
    snprintf(test->visibility, sizeof test->visibility, "%s",
             *vis ? vis : test->hidden ? "after_published" : "visible");
    ex->max_points += test->points;
  }
  if (p->n == p->cap) {
    p->cap = p->cap ? p->cap * 2 : 8;
    gr_exercise_t **more = gr_xmalloc(sizeof *more * (size_t)p->cap);
    if (p->n)
      memcpy(more, p->ex, sizeof *more * (size_t)p->n);
    free(p->ex);
    p->ex = more;
  }
  return p->ex[p->n++] = ex;
}

gr_expool_t *gr_expool_new(void) { return gr_xmalloc(sizeof(gr_expool_t)); }

void gr_expool_free(gr_expool_t *p) {
  if (!p)
    return;
  for (int i = 0; i < p->n; i++)
    free(p->ex[i]);
  free(p->ex);
  free(p);
}

int gr_grading_from_json(const char *text, const gr_workbook_t *wb,
                         gr_expool_t *pool, gr_grading_t *g, char *strings[2]) {
  memset(g, 0, sizeof *g);
  strings[0] = strings[1] = NULL;
  json_error_t err;
  json_t *root = json_loads(text ? text : "", 0, &err);
  if (!json_is_object(root)) {
    json_decref(root);
    return -1;
  }
  /* The grading's own strings are const; the caller keeps and frees them. */
  strings[0] = gr_xstrdup(json_text(root, "submission"));
  g->submission = strings[0];
  if (json_object_get(root, "assignment"))
    g->assignment = strings[1] = gr_xstrdup(json_text(root, "assignment"));
  g->score = json_num(root, "score");
  g->max = json_num(root, "max_score");
  g->secs = json_num(root, "seconds");
  g->isolation = isolation_from(json_text(root, "isolation"));
  json_t *exs = json_object_get(root, "exercises");
  size_t nex = json_array_size(exs);
  g->ex = gr_xmalloc(sizeof *g->ex * (nex ? nex : 1));
  for (size_t i = 0; i < nex; i++) {
    json_t *je = json_array_get(exs, i);
    json_t *jtests = json_object_get(je, "tests");
    gr_ex_result_t *e = &g->ex[g->nex++];
    e->ex = pool_get(pool, wb, json_text(je, "id"), jtests);
    e->state = state_from(json_text(je, "state"));
    e->detail = dup_or_null(json_text(je, "detail"));
    e->found_at = dup_or_null(json_text(je, "found_at"));
    e->score = json_num(je, "score");
    e->max = json_num(je, "max_score");
    e->ntests = e->ex->ntests;
    for (int t = 0; t < e->ntests; t++) {
      json_t *jt = json_array_get(jtests, (size_t)t);
      gr_test_result_t *tr = &e->tests[t];
      tr->test = &e->ex->tests[t];
      tr->status = status_from(json_text(jt, "status"));
      tr->score = json_num(jt, "score");
      tr->secs = json_num(jt, "seconds");
      tr->message = gr_xstrdup(json_text(jt, "message"));
      tr->output = gr_xstrdup(json_text(jt, "output"));
    }
    /* The report keeps only whether passes were reused, not how many. */
    e->results_cached = json_is_true(json_object_get(je, "results_reused")) ? e->ntests : 0;
  }
  json_decref(root);
  return 0;
}

/* ---- Who a submission is --------------------------------------------------- */

void gr_student_parse(const char *folder, char **id, char **person) {
  /* Moodle's "Download all submissions": "Ann Lee_123456_assignsubmission_file_"
   * (or _onlinetext_): the person's name, the participant id, the plugin. */
  const char *tag = strstr(folder, "_assignsubmission_");
  if (tag && tag > folder) {
    const char *us = tag - 1;
    while (us > folder && isdigit((unsigned char)*us))
      us--;
    if (*us == '_' && us + 1 < tag && us > folder) {
      *id = strndup(us + 1, (size_t)(tag - us - 1));
      *person = strndup(folder, (size_t)(us - folder));
      if (*id && *person)
        return;
      free(*id), free(*person);
    }
  }
  *id = gr_xstrdup(folder);
  *person = gr_xstrdup(folder);
}

/* ---- A class ---------------------------------------------------------------- */

int gr_class_load(const gr_workbook_t *wb, const char *db, gr_class_t *c) {
  memset(c, 0, sizeof *c);
  c->db = db;
  if (!gr_is_file(db)) {
    fprintf(stderr, "grader: no gradebook at %s (grader batch DIR --db %s "
                    "makes one)\n", db, db);
    return -1;
  }
  sqlite3 *book = gr_book_open(db, 0);
  if (!book)
    return -1;
  c->pool = gr_expool_new();
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(book, "SELECT COUNT(DISTINCT tests), COUNT(*) FROM submissions",
                         -1, &q, NULL) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW) {
    c->sets = sqlite3_column_int(q, 0);
    c->n = sqlite3_column_int(q, 1);
  }
  sqlite3_finalize(q);
  c->s = gr_xmalloc(sizeof *c->s * (size_t)(c->n + 1));
  int n = 0;
  if (sqlite3_prepare_v2(book, "SELECT name, state, score, max, graded_at, report "
                               "FROM submissions ORDER BY name", -1, &q, NULL) != SQLITE_OK) {
    fprintf(stderr, "grader: cannot read %s: %s\n", db, sqlite3_errmsg(book));
    sqlite3_close(book);
    return -1;
  }
  while (n < c->n && sqlite3_step(q) == SQLITE_ROW) {
    gr_student_t *s = &c->s[n++];
    const char *name = (const char *)sqlite3_column_text(q, 0);
    const char *state = (const char *)sqlite3_column_text(q, 1);
    const char *when = (const char *)sqlite3_column_text(q, 4);
    s->name = gr_xstrdup(name ? name : "");
    s->state = gr_xstrdup(state ? state : "could not grade");
    s->score = sqlite3_column_double(q, 2);
    s->max = sqlite3_column_double(q, 3);
    s->graded_at = gr_xstrdup(when ? when : "");
    gr_student_parse(s->name, &s->id, &s->person);
    s->graded = !strcmp(s->state, "graded");
    const char *report = (const char *)sqlite3_column_text(q, 5);
    s->has_report = report && *report &&
        gr_grading_from_json(report, wb, c->pool, &s->g, s->gstrings) == 0;
  }
  c->n = n;
  sqlite3_finalize(q);
  sqlite3_close(book);
  return 0;
}

void gr_class_free(gr_class_t *c) {
  for (int i = 0; i < c->n; i++) {
    gr_student_t *s = &c->s[i];
    gr_grading_free(&s->g);
    free(s->gstrings[0]), free(s->gstrings[1]);
    free(s->name), free(s->state), free(s->graded_at), free(s->id);
    free(s->person), free(s->folder);
  }
  free(c->s);
  gr_expool_free(c->pool);
  memset(c, 0, sizeof *c);
}

/* Edit distance, case-insensitive, for "did you mean". Names longer than
 * 127 bytes are compared on their first 127. */
static int distance(const char *a, const char *b) {
  int la = (int)strnlen(a, 127), lb = (int)strnlen(b, 127);
  int row[128];
  for (int j = 0; j <= lb; j++)
    row[j] = j;
  for (int i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = i;
    for (int j = 1; j <= lb; j++) {
      int up = row[j];
      int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
      int best = diag + cost;
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

gr_student_t *gr_class_find(gr_class_t *c, const char *who) {
  /* The folder name first; then the LMS id or the person's name, when
   * exactly one student has it. */
  for (int i = 0; i < c->n; i++)
    if (!strcmp(c->s[i].name, who))
      return &c->s[i];
  gr_student_t *found = NULL;
  int n = 0;
  for (int i = 0; i < c->n; i++)
    if (!strcmp(c->s[i].id, who) || !strcasecmp(c->s[i].person, who))
      found = &c->s[i], n++;
  return n == 1 ? found : NULL;
}

char *gr_class_closest(const gr_class_t *c, const char *who) {
  /* Up to three names: those containing what was typed, then the nearest
   * by edit distance, if near enough to be a typo. */
  int best[3] = {-1, -1, -1}, bestd[3] = {1 << 30, 1 << 30, 1 << 30};
  int near = (int)strlen(who) / 2 > 2 ? (int)strlen(who) / 2 : 2;
  for (int i = 0; i < c->n; i++) {
    const gr_student_t *s = &c->s[i];
    int d = strcasestr(s->name, who) ? 0 : distance(s->name, who);
    int dp = distance(s->person, who);
    if (dp < d)
      d = dp;
    if (d > near)
      continue;
    for (int k = 0; k < 3; k++)
      if (d < bestd[k]) {
        for (int m = 2; m > k; m--)
          best[m] = best[m - 1], bestd[m] = bestd[m - 1];
        best[k] = i, bestd[k] = d;
        break;
      }
  }
  gr_buf_t b = {0};
  for (int k = 0; k < 3 && best[k] >= 0; k++)
    gr_buf_printf(&b, "%s\"%s\"", k ? ", " : "", c->s[best[k]].name);
  if (!b.len)
    gr_buf_add(&b, "", 0);
  return b.data;
}

/* ---- report ----------------------------------------------------------------- */

int gr_cmd_report(gr_workbook_t *wb, int argc, char **argv) {
  const char *db = "gradebook.db", *out = NULL, *who = NULL;
  enum gr_format fmt = GR_FMT_TEXT;
  const char *usage = "usage: grader report [--db FILE] STUDENT [--format "
                      "text|json|gradescope|junit|tap] [--out FILE]\n";
  for (int i = 0; i < argc; i++) {
    const char *o = argv[i];
    int takes = !strcmp(o, "--db") || !strcmp(o, "--format") || !strcmp(o, "--out");
    if (takes && i + 1 >= argc) {
      fprintf(stderr, "grader: %s needs a value\n%s", o, usage);
      return 2;
    }
    if (!strcmp(o, "--db"))
      db = argv[++i];
    else if (!strcmp(o, "--out"))
      out = argv[++i];
    else if (!strcmp(o, "--format")) {
      if (gr_format_parse(argv[++i], &fmt) < 0) {
        fprintf(stderr, "grader: unknown format \"%s\" (text, json, gradescope, "
                        "junit or tap)\n", argv[i]);
        return 2;
      }
    } else if (o[0] != '-' && !who)
      who = o;
    else {
      fprintf(stderr, "grader: unexpected \"%s\"\n%s", o, usage);
      return 2;
    }
  }
  if (!who) {
    fprintf(stderr, "%s  prints the report a batch kept for one student "
                    "(the name of the submission's folder)\n", usage);
    return 2;
  }
  gr_class_t c;
  if (gr_class_load(wb, db, &c) < 0)
    return 2;
  gr_student_t *s = gr_class_find(&c, who);
  int rc = 0;
  if (!s) {
    char *near = gr_class_closest(&c, who);
    fprintf(stderr, "grader: no student \"%s\" in %s (%d submission%s). %s%s%s"
                    "`grader summary --db %s` lists them all.\n",
            who, db, c.n, c.n == 1 ? "" : "s", *near ? "Closest: " : "", near,
            *near ? ". " : "", db);
    free(near);
    rc = 2;
  } else if (!s->has_report) {
    fprintf(stderr, "grader: %s has no report in %s: the grader could not start "
                    "on it (%s). Run the batch again to grade it.\n",
            s->name, db, s->state);
    rc = 70;
  } else {
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
      fprintf(stderr, "grader: cannot write %s: %s\n", out, strerror(errno));
      rc = 70;
    } else {
      gr_report(f, &s->g, fmt);
      if (out && fclose(f) != 0) {
        fprintf(stderr, "grader: could not finish writing %s: %s\n", out, strerror(errno));
        rc = 70;
      } else if (out) {
        fprintf(stderr, "%s: %s/%s points, written to %s\n", s->name,
                GR_PTS(s->g.score), GR_PTS(s->g.max), out);
      }
    }
  }
  gr_class_free(&c);
  return rc;
}

/* ---- Feedback files --------------------------------------------------------- */

/* A file name made from a folder name: no slash, no control character, no
 * leading dot; bytes of UTF-8 names are kept. */
static void file_name(const char *name, char *out, size_t len) {
  size_t o = 0;
  for (const char *p = name; *p && o + 1 < len; p++) {
    unsigned char ch = (unsigned char)*p;
    int bad = ch < 0x20 || ch == 0x7f || ch == '/' || ch == '\\' || (o == 0 && ch == '.');
    out[o++] = bad ? '_' : (char)ch;
  }
  out[o] = 0;
  if (!o)
    snprintf(out, len, "_");
}

/* One student's feedback: who, the score, then the report as text. */
static void feedback(FILE *f, const gr_student_t *s) {
  if (strcmp(s->person, s->name))
    fprintf(f, "Feedback for %s (id %s)\n", s->person, s->id);
  else
    fprintf(f, "Feedback for %s\n", s->name);
  if (s->has_report && s->g.assignment)
    fprintf(f, "Assignment: %s\n", s->g.assignment);
  if (s->graded)
    fprintf(f, "Score: %s/%s points (%.0f%%)\n", GR_PTS(s->score), GR_PTS(s->max),
            s->max > 0 ? 100.0 * s->score / s->max : 0.0);
  else
    fprintf(f, "Score: not given yet. The grader could not grade all of your "
               "work, because of a fault of its own, not of your code; your "
               "instructor will grade it again.\n");
  if (*s->graded_at)
    fprintf(f, "Graded: %s\n", s->graded_at);
  fputs("\n", f);
  if (!s->has_report)
    return;
  /* The instructor's path to the upload means nothing to the student. */
  gr_grading_t g = s->g;
  g.submission = s->name;
  gr_report(f, &g, GR_FMT_TEXT);
}

int gr_feedback_write(const gr_class_t *c, const char *dir) {
  if (gr_mkdirs(dir) < 0 || !gr_is_dir(dir)) {
    fprintf(stderr, "grader: cannot make the feedback folder %s: %s\n", dir,
            strerror(errno));
    return -1;
  }
  int written = 0;
  for (int i = 0; i < c->n; i++) {
    char base[256], path[PATH_MAX];
    file_name(c->s[i].name, base, sizeof base);
    snprintf(path, sizeof path, "%s/%s.txt", dir, base);
    /* Two folder names that clean to one file name: the later ones get a
     * number rather than overwrite the first one's feedback. */
    int same = 0;
    for (int j = 0; j < i; j++) {
      char other[256];
      file_name(c->s[j].name, other, sizeof other);
      same += !strcmp(other, base);
    }
    if (same)
      snprintf(path, sizeof path, "%s/%s-%d.txt", dir, base, same + 1);
    FILE *f = fopen(path, "w");
    if (!f) {
      fprintf(stderr, "grader: cannot write %s: %s\n", path, strerror(errno));
      return -1;
    }
    feedback(f, &c->s[i]);
    if (fclose(f) != 0) {
      fprintf(stderr, "grader: could not finish writing %s: %s\n", path, strerror(errno));
      return -1;
    }
    written++;
  }
  return written;
}

const char *gr_student_ex_state(const gr_student_t *s, const char *ex_id) {
  if (!s->has_report)
    return "could not grade";
  for (int i = 0; i < s->g.nex; i++) {
    const gr_ex_result_t *e = &s->g.ex[i];
    if (strcmp(e->ex->id, ex_id))
      continue;
    /* An LMS column needs few words: a link error is the learner's build
     * failing too, as a compile error is. */
    return gr_ex_incomplete(e)                ? "could not grade"
           : e->state == GR_EX_BUILT          ? "graded"
           : e->state == GR_EX_MISSING        ? "missing file"
           : e->state == GR_EX_BAD_FILE       ? "unusable file"
           : e->state == GR_EX_COMPILE_ERROR ||
                   e->state == GR_EX_LINK_ERROR ? "compile error"
                                                : "could not grade";
  }
  return "";
}
