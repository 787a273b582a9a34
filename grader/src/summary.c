/* summary.c - `summary --db F`: a class at a glance, from its gradebook. As
 * text, or with --html FILE as one self-contained page (inline CSS and SVG,
 * no script, nothing fetched): the score distribution, each exercise's mean
 * and pass rate, each test's failure rate, the most common first failure,
 * the students to look at, similarity flags, and every student's report.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BINS 10     /* histogram: 0-10%, ..., 90-100% (100 in the last) */
#define MAX_EX 64   /* exercises summarised */
#define MAX_FIRST 4 /* first failures shown per exercise */

/* ---- Figures ------------------------------------------------------------- */

struct test_stat {
  char name[96];
  int ran, failed; /* graded submissions whose build ran it; of those, failed */
};

/* A test that was the first to fail in some builds, with the first lines
 * of its messages (the most common kept, up to eight kinds counted). */
struct first_failure {
  char test[96];
  int count;
  int nlines, best;
  struct {
    char line[200];
    int count;
  } lines[8];
};

struct ex_stat {
  char id[160];
  double max;           /* the maximum most reports give it */
  int n;                /* graded submissions that hold it */
  double sum;           /* their scores */
  int full;             /* of them, with full marks */
  int states[GR_EX_INTERNAL + 1];
  int ntests;
  struct test_stat tests[64];
  int nfirst, first_total; /* kinds of first failure; built ones with one */
  struct first_failure *first;
};

/* A student's exercise that needs a person: not graded as it stands. */
struct concern {
  int student;
  const char *ex;   /* NULL: the whole submission */
  const char *what; /* "missing file", "compile error", ... */
  char detail[240];
};

/* Submissions of one exercise joined by flagged pairs: two who share a
 * file, or many who all handed in nearly the same one. A class where 80
 * hand in the reference solution has one group, not 3160 pairs. */
struct group {
  const gr_exercise_t *ex;
  int exercise;  /* its order in the comparison */
  int n;
  int *members;  /* students, by name */
  double lo, hi; /* the least and most similar flagged pair in it */
  int npairs;
};

enum { KIND_MISSING, KIND_BUILD, KIND_GRADER, KINDS };
static const char *const kind_title[KINDS] = {
    "Missing files", "Files that do not compile",
    "Could not grade (the grader's fault, not a score)"};

struct summary {
  gr_class_t *c;
  int graded, ungraded;
  double *pct; /* each graded submission's percent, sorted */
  int hist[BINS];
  double mean, median;
  int nex;
  struct ex_stat *ex;
  int nconcern[KINDS];
  struct concern *concern[KINDS];
  int sim_state; /* 0 not asked, -1 sim_c missing or failed, 1 checked */
  int located;   /* submissions whose folders were found for it */
  double min_share;
  int nsim;
  gr_similar_t *sim;
  int ngroups;
  struct group *groups;
};

/* The first line of a message, cut to fit `len` with "..." (never inside
 * a UTF-8 character). */
static void first_line(const char *s, char *out, size_t len) {
  s = s ? s : "";
  while (*s == ' ' || *s == '\n' || *s == '\t')
    s++;
  size_t n = strcspn(s, "\n");
  if (n >= len) {
    n = len - 4;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
      n--;
    memcpy(out, s, n);
    memcpy(out + n, "...", 4);
    return;
  }
  memcpy(out, s, n);
  out[n] = 0;
}

static int by_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

static struct ex_stat *ex_of(struct summary *m, const gr_ex_result_t *e) {
  for (int i = 0; i < m->nex; i++)
    if (!strcmp(m->ex[i].id, e->ex->id))
      return &m->ex[i];
  if (m->nex == MAX_EX)
    return NULL;
  struct ex_stat *x = &m->ex[m->nex++];
  snprintf(x->id, sizeof x->id, "%s", e->ex->id);
  x->max = e->max;
  return x;
}

static void add_concern(struct summary *m, int kind, int student,
                        const char *ex, const char *what, const char *detail) {
  int n = m->nconcern[kind];
  struct concern *more = realloc(m->concern[kind], sizeof *more * (size_t)(n + 1));
  if (!more)
    return;
  m->concern[kind] = more;
  more[n] = (struct concern){.student = student, .ex = ex, .what = what};
  first_line(detail, more[n].detail, sizeof more[n].detail);
  m->nconcern[kind]++;
}

static void count_first(struct ex_stat *x, const gr_ex_result_t *e) {
  for (int t = 0; t < e->ntests; t++) {
    const gr_test_result_t *tr = &e->tests[t];
    if (tr->status == GR_PASS || tr->status == GR_GRADER_ERROR)
      continue;
    x->first_total++;
    struct first_failure *f = NULL;
    for (int k = 0; k < x->nfirst && !f; k++)
      if (!strcmp(x->first[k].test, tr->test->name))
        f = &x->first[k];
    if (!f) {
      struct first_failure *more = realloc(x->first, sizeof *more * (size_t)(x->nfirst + 1));
      if (!more)
        return;
      x->first = more;
      f = memset(&x->first[x->nfirst++], 0, sizeof *f);
      snprintf(f->test, sizeof f->test, "%s", tr->test->name);
    }
    f->count++;
    char line[200];
    first_line(tr->message, line, sizeof line);
    int k = 0;
    while (k < f->nlines && strcmp(f->lines[k].line, line))
      k++;
    if (k == f->nlines && k < 8)
      snprintf(f->lines[f->nlines++].line, sizeof f->lines[k].line, "%s", line);
    if (k < f->nlines && ++f->lines[k].count > f->lines[f->best].count)
      f->best = k;
    return;
  }
}

/* A message's first line without the folders of its "path/file.c:63: "
 * prefix: the file and line say which check it was. */
static const char *short_msg(const char *line) {
  const char *colon = strstr(line, ": ");
  const char *slash = NULL;
  for (const char *p = line; colon && p < colon; p++) {
    if (*p == ' ')
      return line;
    if (*p == '/')
      slash = p;
  }
  return slash ? slash + 1 : line;
}

static int by_count(const void *x, const void *y) {
  const struct first_failure *a = x, *b = y;
  return a->count != b->count ? b->count - a->count : strcmp(a->test, b->test);
}

static void figure(struct summary *m, gr_class_t *c) {
  m->c = c;
  m->pct = gr_xmalloc(sizeof *m->pct * (size_t)(c->n + 1));
  m->ex = gr_xmalloc(sizeof *m->ex * MAX_EX);
  double sum = 0;
  for (int i = 0; i < c->n; i++) {
    const gr_student_t *s = &c->s[i];
    if (!s->graded) {
      m->ungraded++;
      if (!s->has_report || !gr_ex_incomplete_count(&s->g))
        add_concern(m, KIND_GRADER, i, NULL, "could not grade",
                    "the grader could not start on it: run the batch again");
    } else {
      double p = s->max > 0 ? 100.0 * s->score / s->max : 0;
      m->pct[m->graded++] = p;
      sum += p;
      int bin = (int)floor((p + 1e-9) / (100.0 / BINS));
      m->hist[bin < 0 ? 0 : bin >= BINS ? BINS - 1 : bin]++;
    }
    for (int k = 0; k < s->g.nex; k++) {
      const gr_ex_result_t *e = &s->g.ex[k];
      struct ex_stat *x = ex_of(m, e);
      if (gr_ex_incomplete(e))
        add_concern(m, KIND_GRADER, i, e->ex->id, "could not grade", e->detail);
      else if (e->state == GR_EX_MISSING)
        add_concern(m, KIND_MISSING, i, e->ex->id, "missing file", e->detail);
      else if (e->state != GR_EX_BUILT)
        add_concern(m, KIND_BUILD, i, e->ex->id, gr_ex_state_text(e->state), e->detail);
      if (!x || !s->graded)
        continue;
      x->n++;
      x->sum += e->score;
      x->full += gr_full(e->score, e->max);
      x->states[e->state]++;
      if (e->state != GR_EX_BUILT)
        continue;
      count_first(x, e);
      for (int t = 0; t < e->ntests; t++) {
        const gr_test_result_t *tr = &e->tests[t];
        if (tr->status == GR_NOT_RUN || tr->status == GR_GRADER_ERROR)
          continue;
        struct test_stat *ts = NULL;
        for (int q = 0; q < x->ntests && !ts; q++)
          if (!strcmp(x->tests[q].name, tr->test->name))
            ts = &x->tests[q];
        if (!ts && x->ntests < 64) {
          ts = &x->tests[x->ntests++];
          snprintf(ts->name, sizeof ts->name, "%s", tr->test->name);
        }
        if (ts) {
          ts->ran++;
          ts->failed += tr->status != GR_PASS;
        }
      }
    }
  }
  for (int i = 0; i < m->nex; i++)
    if (m->ex[i].nfirst > 1)
      qsort(m->ex[i].first, (size_t)m->ex[i].nfirst, sizeof *m->ex[i].first, by_count);
  qsort(m->pct, (size_t)m->graded, sizeof *m->pct, by_double);
  if (m->graded) {
    m->mean = sum / m->graded;
    m->median = m->graded % 2 ? m->pct[m->graded / 2]
                              : (m->pct[m->graded / 2 - 1] + m->pct[m->graded / 2]) / 2;
  }
}

static int find(int *parent, int i) {
  while (parent[i] != i)
    i = parent[i] = parent[parent[i]];
  return i;
}

static int by_group(const void *x, const void *y) {
  const struct group *a = x, *b = y;
  if (a->exercise != b->exercise)
    return a->exercise - b->exercise;
  if (a->hi != b->hi)
    return a->hi < b->hi ? 1 : -1;
  return a->n != b->n ? b->n - a->n : a->members[0] - b->members[0];
}

/* Joins the flagged pairs into groups, exercise by exercise (union-find
 * over the students). */
static void group_pairs(struct summary *m) {
  int n = m->c->n, nex = 0;
  for (int i = 0; i < m->nsim; i++)
    nex = m->sim[i].exercise + 1 > nex ? m->sim[i].exercise + 1 : nex;
  int *parent = gr_xmalloc(sizeof *parent * (size_t)(n + 1));
  int *gid = gr_xmalloc(sizeof *gid * (size_t)(n + 1));
  m->groups = gr_xmalloc(sizeof *m->groups * (size_t)(m->nsim + 1));
  for (int e = 0; e < nex; e++) {
    for (int i = 0; i < n; i++)
      parent[i] = i, gid[i] = -1;
    const gr_exercise_t *ex = NULL;
    for (int i = 0; i < m->nsim; i++)
      if (m->sim[i].exercise == e) {
        parent[find(parent, m->sim[i].a)] = find(parent, m->sim[i].b);
        ex = m->sim[i].ex;
      }
    if (!ex)
      continue;
    for (int i = 0; i < m->nsim; i++) {
      if (m->sim[i].exercise != e)
        continue;
      int root = find(parent, m->sim[i].a);
      if (gid[root] < 0) {
        gid[root] = m->ngroups++;
        m->groups[gid[root]] = (struct group){.ex = ex, .exercise = e, .lo = 101};
      }
      struct group *g = &m->groups[gid[root]];
      g->npairs++;
      g->lo = m->sim[i].share < g->lo ? m->sim[i].share : g->lo;
      g->hi = m->sim[i].share > g->hi ? m->sim[i].share : g->hi;
    }
    /* Members in name order: the students are. */
    for (int i = 0; i < n; i++) {
      int root = find(parent, i);
      if (gid[root] < 0)
        continue; /* alone: in no flagged pair */
      struct group *g = &m->groups[gid[root]];
      int *more = realloc(g->members, sizeof *more * (size_t)(g->n + 1));
      if (!more)
        continue;
      g->members = more;
      g->members[g->n++] = i;
    }
  }
  if (m->ngroups > 1)
    qsort(m->groups, (size_t)m->ngroups, sizeof *m->groups, by_group);
  free(parent);
  free(gid);
}

/* "97%", or "92-100%" when the group's pairs differ. */
static void share_range(char *out, size_t len, const struct group *g) {
  if ((int)(g->lo + 0.5) == (int)(g->hi + 0.5))
    snprintf(out, len, "%.0f%%", g->hi);
  else
    snprintf(out, len, "%.0f-%.0f%%", g->lo, g->hi);
}

static void summary_free(struct summary *m) {
  for (int i = 0; i < m->ngroups; i++)
    free(m->groups[i].members);
  free(m->groups);
  for (int i = 0; i < m->nex; i++)
    free(m->ex[i].first);
  for (int k = 0; k < KINDS; k++)
    free(m->concern[k]);
  free(m->ex);
  free(m->pct);
  free(m->sim);
}

static double pct_of(int part, int whole) { return whole ? 100.0 * part / whole : 0; }

static const char *name_of(const struct summary *m, int student) {
  return m->c->s[student].name;
}

/* A name from a submission, on a terminal: a control character in a
 * folder name must not drive the terminal. */
static void tname(FILE *f, const char *s) {
  for (; *s; s++)
    fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* ---- Text -------------------------------------------------------------- */

static void summary_text(FILE *f, const struct summary *m) {
  const gr_class_t *c = m->c;
  const char *assignment = NULL;
  for (int i = 0; i < c->n && !assignment; i++)
    assignment = c->s[i].has_report ? c->s[i].g.assignment : NULL;
  fprintf(f, "Class summary of %s: %d submission%s, %d graded, %d could not be graded\n",
          c->db, c->n, c->n == 1 ? "" : "s", m->graded, m->ungraded);
  if (assignment)
    fprintf(f, "Assignment: %s\n", assignment);
  if (c->sets > 1)
    fprintf(f, "WARNING: graded with %d different sets of tests or points: "
               "compare percentages, not points.\n", c->sets);
  if (m->graded) {
    fprintf(f, "\nScores of the %d graded: mean %.1f%%, median %.1f%%, lowest "
               "%.1f%%, highest %.1f%%\n", m->graded, m->mean, m->median,
            m->pct[0], m->pct[m->graded - 1]);
    int top = 1;
    for (int b = 0; b < BINS; b++)
      top = m->hist[b] > top ? m->hist[b] : top;
    for (int b = 0; b < BINS; b++) {
      char range[16];
      snprintf(range, sizeof range, "%d-%d%%", b * 10, b * 10 + 10);
      int w = (m->hist[b] * 40 + top - 1) / top;
      fprintf(f, "  %8s %-40.*s %d\n", range, w,
              "########################################", m->hist[b]);
    }
  }
  fprintf(f, "\nExercises (graded submissions)           mean            pass rate\n");
  for (int i = 0; i < m->nex; i++) {
    const struct ex_stat *x = &m->ex[i];
    char mean[64];
    snprintf(mean, sizeof mean, "%s/%s", GR_PTS(x->n ? x->sum / x->n : 0), GR_PTS(x->max));
    fprintf(f, "  %-40s %-15s %d/%d (%.0f%%)\n", x->id, mean, x->full, x->n,
            pct_of(x->full, x->n));
  }
  fprintf(f, "\nTests: how often each failed, among the builds that ran it\n");
  for (int i = 0; i < m->nex; i++) {
    const struct ex_stat *x = &m->ex[i];
    fprintf(f, "  %s\n", x->id);
    for (int t = 0; t < x->ntests; t++)
      fprintf(f, "    %-44s failed %d/%d (%.0f%%)\n", x->tests[t].name,
              x->tests[t].failed, x->tests[t].ran,
              pct_of(x->tests[t].failed, x->tests[t].ran));
  }
  fprintf(f, "\nMost common first failure\n");
  for (int i = 0; i < m->nex; i++) {
    const struct ex_stat *x = &m->ex[i];
    if (!x->nfirst) {
      fprintf(f, "  %s: none (every build passed)\n", x->id);
      continue;
    }
    const struct first_failure *ff = &x->first[0];
    fprintf(f, "  %s: %s (first to fail in %d of %d failing builds)\n", x->id,
            ff->test, ff->count, x->first_total);
    gr_indent(f, short_msg(ff->lines[ff->best].line), "      ", 1);
  }
  for (int k = 0; k < KINDS; k++) {
    fprintf(f, "\n%s: %d\n", kind_title[k], m->nconcern[k]);
    for (int j = 0; j < m->nconcern[k]; j++) {
      const struct concern *q = &m->concern[k][j];
      fputs("  ", f);
      tname(f, name_of(m, q->student));
      fprintf(f, ": %s%s%s\n", q->ex ? q->ex : "", q->ex ? ", " : "", q->what);
      if (q->detail[0])
        gr_indent(f, q->detail, "      ", 1);
    }
  }
  fprintf(f, "\nSimilar submissions (a hint for a person to look at, never a score)\n");
  if (m->sim_state == 0)
    fprintf(f, "  not checked: add --similarity\n");
  else if (m->sim_state < 0)
    fprintf(f, "  not checked: sim_c could not run (see above)\n");
  else if (!m->nsim)
    fprintf(f, "  none at %.0f%% or more (%d submissions compared)\n", m->min_share,
            m->located);
  for (int i = 0; i < m->ngroups; i++) {
    const struct group *g = &m->groups[i];
    fprintf(f, "  %s: ", g->ex->id);
    if (g->n == 2) {
      tname(f, name_of(m, g->members[0]));
      fputs(" and ", f);
      tname(f, name_of(m, g->members[1]));
      fprintf(f, ", %.0f%% matched\n", g->hi);
      continue;
    }
    char range[32];
    share_range(range, sizeof range, g);
    fprintf(f, "%d submissions, %d pairs matched %s: ", g->n, g->npairs, range);
    for (int k = 0; k < g->n && k < 12; k++) {
      fputs(k ? ", " : "", f);
      tname(f, name_of(m, g->members[k]));
    }
    if (g->n > 12)
      fprintf(f, " and %d more", g->n - 12);
    fputc('\n', f);
  }
}

/* ---- HTML ----------------------------------------------------------------- */

/* Text from a submission, escaped for HTML text and attributes; invalid
 * UTF-8 and control characters other than newline and tab become '?'. */
static void html(FILE *f, const char *s) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  while (*p) {
    unsigned char ch = *p;
    size_t len = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3
                              : (ch >> 3) == 30 ? 4 : 0;
    int ok = len > 0;
    for (size_t k = 1; ok && k < len; k++)
      ok = (p[k] >> 6) == 2;
    if (ok && len == 1 && ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f))
      ok = 0;
    if (!ok) {
      fputc('?', f);
      p++;
      continue;
    }
    switch (ch) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default: fwrite(p, 1, len, f);
    }
    p += len;
  }
}

static const char *const css =
    "*{box-sizing:border-box}"
    "body{margin:0;background:#f4f6f8;color:#1f2328;font:15px/1.45 system-ui,"
    "-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}"
    "main{max-width:1080px;margin:0 auto;padding:28px 24px 48px}"
    "h1{font-size:26px;margin:0 0 2px}h2{font-size:18px;margin:0 0 12px}"
    "h3{font-size:15px;margin:16px 0 6px;color:#424a53}"
    ".sub{color:#57606a;margin:0 0 16px}.note{color:#57606a;font-size:13px}"
    "section{background:#fff;border:1px solid #d8dee4;border-radius:10px;"
    "padding:18px 22px;margin:16px 0}"
    ".cards{display:flex;gap:12px;flex-wrap:wrap;margin:18px 0}"
    ".card{flex:1 1 140px;background:#fff;border:1px solid #d8dee4;border-radius:10px;"
    "padding:12px 16px}.card b{display:block;font-size:26px;font-weight:600}"
    ".card span{color:#57606a;font-size:13px}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eaeef2;vertical-align:top}"
    "th{font-size:12.5px;color:#57606a;font-weight:600;text-transform:uppercase;"
    "letter-spacing:.03em}"
    "tr:last-child td{border-bottom:0}"
    "td.id,table.concern td:first-child{white-space:nowrap}"
    ".num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "code,.id{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:13px}"
    ".meter{display:inline-block;width:140px;height:10px;background:#eaeef2;"
    "border-radius:5px;vertical-align:middle;margin-right:8px;overflow:hidden}"
    ".meter i{display:block;height:100%;background:#2da44e}"
    ".meter.red i{background:#d1242f}"
    ".badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;"
    "white-space:nowrap}"
    ".ok{background:#dafbe1;color:#116329}.part{background:#fff8c5;color:#6f4b00}"
    ".bad{background:#ffebe9;color:#a40e26}.grey{background:#eaeef2;color:#424a53}"
    ".msg{color:#57606a;font-size:13px}"
    "#histogram{display:block;width:100%;height:auto}"
    "table.tests{table-layout:fixed}table.tests col.name{width:52%}"
    "table.tests col.rate{width:30%}"
    "svg text{font-family:system-ui,'DejaVu Sans',sans-serif;font-size:12px;fill:#57606a}"
    "svg .bar{fill:#54aeff}svg .count{fill:#1f2328;font-weight:600}"
    "details{border:1px solid #d8dee4;border-radius:8px;margin:8px 0;background:#fff}"
    "details summary{cursor:pointer;padding:8px 12px;font-weight:600}"
    "details[open] summary{border-bottom:1px solid #eaeef2}"
    "details:target{outline:2px solid #54aeff}"
    "td details{border:0;margin:0;background:none}td details summary{padding:0;"
    "font-weight:400;color:#0969da}td details[open] summary{border:0;margin-bottom:4px}"
    "td.share{white-space:nowrap}"
    "pre{margin:0;padding:12px 14px;overflow:auto;font-size:12.5px;line-height:1.4;"
    "font-family:ui-monospace,'DejaVu Sans Mono',monospace;white-space:pre-wrap}"
    "nav{display:flex;flex-wrap:wrap;gap:6px}nav a{background:#fff;border:1px solid "
    "#d8dee4;border-radius:14px;padding:2px 12px;font-size:13px}"
    "a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}";

static void meter(FILE *f, double pct, int red) {
  fprintf(f, "<span class=\"meter%s\"><i style=\"width:%.1f%%\"></i></span>",
          red ? " red" : "", pct < 0 ? 0 : pct > 100 ? 100 : pct);
}

static void histogram(FILE *f, const struct summary *m) {
  const int W = 1000, H = 260, left = 40, bottom = 40, top = 20;
  int most = 1;
  for (int b = 0; b < BINS; b++)
    most = m->hist[b] > most ? m->hist[b] : most;
  double bw = (double)(W - left - 10) / BINS, ph = H - top - bottom;
  fprintf(f, "<svg id=\"histogram\" xmlns=\"http://www.w3.org/2000/svg\" "
             "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"Score distribution\">\n",
          W, H);
  /* Grid lines at whole counts: at most five. */
  int step = most <= 5 ? 1 : (most + 4) / 5;
  for (int v = 0; v <= most; v += step) {
    double y = top + ph - ph * v / most;
    fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eaeef2\"/>"
               "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d</text>\n",
            left, W - 10, y, y, left - 6, y + 4, v);
  }
  for (int b = 0; b < BINS; b++) {
    double h = ph * m->hist[b] / most, x = left + b * bw + 3, y = top + ph - h;
    fprintf(f, "<rect class=\"bar\" data-range=\"%d-%d\" data-count=\"%d\" x=\"%.1f\" "
               "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"3\"><title>%d-%d%%: %d "
               "submission%s</title></rect>\n",
            b * 10, b * 10 + 10, m->hist[b], x, y, bw - 6, h, b * 10, b * 10 + 10,
            m->hist[b], m->hist[b] == 1 ? "" : "s");
    if (m->hist[b])
      fprintf(f, "<text class=\"count\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>\n",
              x + (bw - 6) / 2, y - 5, m->hist[b]);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d-%d%%</text>\n",
            x + (bw - 6) / 2, H - bottom + 16, b * 10, b * 10 + 10);
  }
  fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#8c959f\"/>\n",
          left, W - 10, top + ph, top + ph);
  fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">percent of the points</text>\n",
          left + (W - left) / 2, H - 4);
  fprintf(f, "</svg>\n");
}

/* A student's exercise as a small badge: its score, or what went wrong. */
static void ex_badge(FILE *f, const gr_ex_result_t *e) {
  if (gr_ex_incomplete(e))
    fputs("<span class=\"badge grey\">could not grade</span>", f);
  else if (e->state != GR_EX_BUILT) {
    fputs("<span class=\"badge bad\">", f);
    html(f, gr_ex_state_text(e->state));
    fputs("</span>", f);
  } else
    fprintf(f, "<span class=\"badge %s\">%s/%s</span>",
            gr_full(e->score, e->max) ? "ok" : e->score > 0 ? "part" : "bad",
            GR_PTS(e->score), GR_PTS(e->max));
}

static void student_link(FILE *f, const struct summary *m, int i) {
  fprintf(f, "<a href=\"#s%d\" data-student=\"", i + 1);
  html(f, name_of(m, i));
  fputs("\">", f);
  html(f, name_of(m, i));
  fputs("</a>", f);
}

/* The histogram of percentages, with the count on each bar. */
static void sec_distribution(FILE *f, const struct summary *m) {
  fputs("<section id=\"distribution\"><h2>Score distribution</h2>\n", f);
  histogram(f, m);
  fprintf(f, "<p class=\"note\">%d graded submission%s, by percent of the points "
             "(100%% counts in the last bar).</p></section>\n",
          m->graded, m->graded == 1 ? "" : "s");
}

/* Each exercise's mean and pass rate (full marks), over the graded
 * submissions. */
static void sec_exercises(FILE *f, const struct summary *m) {
  fputs("<section id=\"exercises\"><h2>Exercises</h2>\n<table id=\"exercise-table\">"
        "<tr><th>Exercise</th><th class=\"num\">Mean</th><th>Pass rate (full marks)</th>"
        "<th class=\"num\">"
        "Missing</th><th class=\"num\">Not building</th></tr>\n", f);
  for (int i = 0; i < m->nex; i++) {
    const struct ex_stat *x = &m->ex[i];
    double mean = x->n ? x->sum / x->n : 0, rate = pct_of(x->full, x->n);
    fputs("<tr data-exercise=\"", f);
    html(f, x->id);
    fprintf(f, "\" data-mean=\"%s\" data-max=\"%s\" data-pass-rate=\"%.0f\"><td class=\"id\">",
            GR_PTS(mean), GR_PTS(x->max), rate);
    html(f, x->id);
    int notbuilt = x->n - x->states[GR_EX_BUILT] - x->states[GR_EX_MISSING];
    fprintf(f, "</td><td class=\"num\">%s / %s</td><td>", GR_PTS(mean), GR_PTS(x->max));
    meter(f, rate, 0);
    fprintf(f, "%.0f%% <span class=\"note\">(%d of %d)</span></td><td class=\"num\">%d</td>"
               "<td class=\"num\">%d</td></tr>\n",
            rate, x->full, x->n, x->states[GR_EX_MISSING], notbuilt);
  }
  fputs("</table>\n<p class=\"note\">Over the graded submissions; a missing or "
        "non-building file counts as 0 points.</p></section>\n", f);
}

/* Each test's failure rate among the builds that ran it. */
static void sec_tests(FILE *f, const struct summary *m) {
  fputs("<section id=\"tests\"><h2>Tests: how often each fails</h2>\n", f);
  for (int i = 0; i < m->nex; i++) {
    const struct ex_stat *x = &m->ex[i];
    fputs("<h3 class=\"id\">", f);
    html(f, x->id);
    fputs("</h3>\n<table class=\"tests\" data-exercise=\"", f);
    html(f, x->id);
    fputs("\"><colgroup><col class=\"name\"><col class=\"rate\"><col></colgroup>"
          "<tr><th>Test</th><th>Failure rate</th><th class=\"num\">Failed / ran</th></tr>\n", f);
    for (int t = 0; t < x->ntests; t++) {
      const struct test_stat *ts = &x->tests[t];
      double rate = pct_of(ts->failed, ts->ran);
      fputs("<tr data-test=\"", f);
      html(f, ts->name);
      fprintf(f, "\" data-failed=\"%d\" data-ran=\"%d\"><td class=\"id\">", ts->failed, ts->ran);
      html(f, ts->name);
      fputs("</td><td>", f);
      meter(f, rate, 1);
      fprintf(f, "%.0f%%</td><td class=\"num\">%d / %d</td></tr>\n", rate, ts->failed, ts->ran);
    }
    if (!x->ntests)
      fputs("<tr><td colspan=\"3\" class=\"note\">No build of it ran.</td></tr>\n", f);
    fputs("</table>\n", f);
  }
  fputs("<p class=\"note\">Among the graded submissions whose file built.</p></section>\n", f);
}

/* Per exercise, the first failing test of each build, grouped by test and
 * the first line of its message; the most common first. */
static void sec_first(FILE *f, const struct summary *m) {
  fputs("<section id=\"first-failures\"><h2>Most common first failure</h2>\n"
        "<table><tr><th>Exercise</th><th>Test and message</th><th class=\"num\">"
        "Builds</th></tr>\n", f);
  for (int i = 0; i < m->nex; i++) {
    const struct ex_stat *x = &m->ex[i];
    int shown = x->nfirst < MAX_FIRST ? x->nfirst : MAX_FIRST;
    for (int k = 0; k < shown; k++) {
      const struct first_failure *ff = &x->first[k];
      fprintf(f, "<tr class=\"first\" data-rank=\"%d\" data-exercise=\"", k + 1);
      html(f, x->id);
      fputs("\" data-test=\"", f);
      html(f, ff->test);
      fputs("\"><td class=\"id\">", f);
      if (k == 0)
        html(f, x->id);
      fprintf(f, "</td><td>%s<code>", k ? "<span class=\"note\">also </span>" : "");
      html(f, ff->test);
      fputs("</code><div class=\"msg\">", f);
      html(f, short_msg(ff->lines[ff->best].line));
      if (ff->nlines > 1)
        fprintf(f, " <span class=\"note\">(and %d other message%s)</span>",
                ff->nlines - 1, ff->nlines > 2 ? "s" : "");
      fprintf(f, "</div></td><td class=\"num\">%d of %d</td></tr>\n", ff->count,
              x->first_total);
    }
    if (!x->nfirst) {
      fputs("<tr><td class=\"id\">", f);
      html(f, x->id);
      fputs("</td><td class=\"note\">none: every build passed</td><td></td></tr>\n", f);
    }
  }
  fputs("</table></section>\n", f);
}

/* The students whose files are missing, do not build, or could not be
 * graded. */
static void sec_concerns(FILE *f, const struct summary *m) {
  fputs("<section id=\"concerns\"><h2>To look at</h2>\n", f);
  for (int k = 0; k < KINDS; k++) {
    fprintf(f, "<h3>%s: %d</h3>\n", kind_title[k], m->nconcern[k]);
    if (!m->nconcern[k])
      continue;
    fprintf(f, "<table class=\"concern\" data-kind=\"%s\"><tr><th>Student</th>"
               "<th>Exercise</th><th>What</th></tr>\n",
            k == KIND_MISSING ? "missing" : k == KIND_BUILD ? "build" : "grader");
    for (int j = 0; j < m->nconcern[k]; j++) {
      const struct concern *q = &m->concern[k][j];
      fputs("<tr data-student=\"", f);
      html(f, name_of(m, q->student));
      fputs("\"><td>", f);
      student_link(f, m, q->student);
      fputs("</td><td class=\"id\">", f);
      html(f, q->ex ? q->ex : "(all)");
      fputs("</td><td><span class=\"badge bad\">", f);
      html(f, q->what);
      fputs("</span><div class=\"msg\">", f);
      html(f, q->detail);
      fputs("</div></td></tr>\n", f);
    }
    fputs("</table>\n", f);
  }
  fputs("</section>\n", f);
}

/* The similarity flags, or why there are none. */
static void sec_similar(FILE *f, const struct summary *m) {
  const gr_class_t *c = m->c;
  fputs("<section id=\"similarity\"><h2>Similar submissions</h2>\n<p class=\"note\">"
        "Submissions whose own code (the stub's lines left out) matches, as "
        "measured by sim_c, in pairs or groups: a hint for a person to look "
        "at, never a score.</p>\n", f);
  if (m->sim_state == 0)
    fputs("<p>Not checked: run <code>grader summary --similarity</code>.</p>\n", f);
  else if (m->sim_state < 0)
    fputs("<p>Not checked: sim_c could not run (Debian's "
          "<code>similarity-tester</code> package provides it).</p>\n", f);
  else if (!m->nsim)
    fprintf(f, "<p id=\"no-similar\">No pair at %.0f%% or more among the %d "
               "submissions compared.</p>\n", m->min_share, m->located);
  else {
    fputs("<table id=\"similar\"><tr><th>Exercise</th><th>Students</th>"
          "<th>Share matched</th></tr>\n", f);
    for (int i = 0; i < m->ngroups; i++) {
      const struct group *g = &m->groups[i];
      fputs("<tr class=\"similar\" data-exercise=\"", f);
      html(f, g->ex->id);
      fprintf(f, "\" data-size=\"%d\" data-share=\"%.0f\" data-low=\"%.0f\"><td class=\"id\">",
              g->n, g->hi, g->lo);
      html(f, g->ex->id);
      fputs("</td><td>", f);
      /* A large group folds its names away: it is one finding. */
      if (g->n > 12)
        fprintf(f, "<details><summary>%d submissions, %d pairs</summary>", g->n, g->npairs);
      for (int k = 0; k < g->n; k++) {
        fputs(k == 0 ? "" : k == g->n - 1 ? " and " : ", ", f);
        student_link(f, m, g->members[k]);
      }
      fputs(g->n > 12 ? "</details></td><td class=\"share\">" : "</td><td class=\"share\">", f);
      meter(f, g->hi, 1);
      char range[32];
      share_range(range, sizeof range, g);
      fprintf(f, "%s</td></tr>\n", range);
    }
    fputs("</table>\n", f);
    if (m->located < c->n)
      fprintf(f, "<p class=\"note\">%d submission folder%s not found: not "
                 "compared.</p>\n", c->n - m->located, c->n - m->located == 1 ? "" : "s");
  }
  fputs("</section>\n", f);
}

/* A row per student: the score and a badge per exercise; the name links to
 * the report. */
static void sec_students(FILE *f, const struct summary *m) {
  const gr_class_t *c = m->c;
  fputs("<section id=\"students\"><h2>Students</h2>\n<table><tr><th>Student</th>"
        "<th>Id</th><th class=\"num\">Score</th>", f);
  for (int i = 0; i < m->nex; i++) {
    /* The exercise's folder name is enough in a column head. */
    const char *slash = strrchr(m->ex[i].id, '/');
    fputs("<th title=\"", f);
    html(f, m->ex[i].id);
    fputs("\">", f);
    html(f, slash ? slash + 1 : m->ex[i].id);
    fputs("</th>", f);
  }
  fputs("</tr>\n", f);
  for (int i = 0; i < c->n; i++) {
    const gr_student_t *s = &c->s[i];
    fputs("<tr class=\"student\" data-student=\"", f);
    html(f, s->name);
    fprintf(f, "\"><td><a href=\"#s%d\" title=\"", i + 1);
    html(f, s->name);
    fputs("\">", f);
    html(f, s->person);
    fputs("</a></td><td class=\"id\">", f);
    if (strcmp(s->id, s->name))
      html(f, s->id);
    if (s->graded)
      fprintf(f, "</td><td class=\"num\">%s / %s <span class=\"note\">(%.0f%%)</span></td>",
              GR_PTS(s->score), GR_PTS(s->max), s->max > 0 ? 100 * s->score / s->max : 0);
    else
      fputs("</td><td class=\"num\"><span class=\"badge grey\">could not grade</span></td>", f);
    for (int k = 0; k < m->nex; k++) {
      const gr_ex_result_t *e = NULL;
      for (int q = 0; q < s->g.nex && !e; q++)
        if (!strcmp(s->g.ex[q].ex->id, m->ex[k].id))
          e = &s->g.ex[q];
      fputs("<td>", f);
      if (e)
        ex_badge(f, e);
      fputs("</td>", f);
    }
    fputs("</tr>\n", f);
  }
  fputs("</table></section>\n", f);
}

/* Every student's text report, folded, each with an anchor (#sN). */
static void sec_reports(FILE *f, const struct summary *m) {
  const gr_class_t *c = m->c;
  fputs("<section id=\"reports\"><h2>Reports</h2>\n", f);
  for (int i = 0; i < c->n; i++) {
    const gr_student_t *s = &c->s[i];
    fprintf(f, "<details id=\"s%d\" class=\"report\"><summary>", i + 1);
    html(f, s->name);
    if (s->graded)
      fprintf(f, " &middot; %s / %s", GR_PTS(s->score), GR_PTS(s->max));
    else
      fputs(" &middot; could not grade", f);
    fputs("</summary><pre>", f);
    if (s->has_report) {
      char *text = NULL;
      size_t len = 0;
      FILE *mf = open_memstream(&text, &len);
      if (mf) {
        gr_grading_t g = s->g;
        g.submission = s->name;
        gr_report(mf, &g, GR_FMT_TEXT);
        fclose(mf);
        html(f, text);
      }
      free(text);
    } else {
      fputs("No report was kept: the grader could not start on it. Run the "
            "batch again to grade it.", f);
    }
    fputs("</pre></details>\n", f);
  }
  fputs("</section>\n", f);
}

/* A figure at the top of the page; data-value holds it for scripts that
 * read the page (the test suite's). */
static void card(FILE *f, const char *id, const char *fmt, double v,
                 const char *unit, const char *label) {
  char value[32];
  snprintf(value, sizeof value, fmt, v);
  fprintf(f, "<div class=\"card\" id=\"%s\" data-value=\"%s\"><b>%s%s</b><span>%s</span></div>",
          id, value, value, unit, label);
}

static void summary_html(FILE *f, const struct summary *m) {
  const gr_class_t *c = m->c;
  const char *assignment = NULL;
  for (int i = 0; i < c->n && !assignment; i++)
    assignment = c->s[i].has_report ? c->s[i].g.assignment : NULL;
  char when[32];
  time_t now = time(NULL);
  strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&now));

  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">\n<title>Class summary: ", f);
  html(f, assignment ? assignment : c->db);
  fprintf(f, "</title>\n<style>%s</style></head>\n<body><main>\n", css);
  fputs("<h1>Class summary</h1>\n<p class=\"sub\">", f);
  if (assignment) {
    html(f, assignment);
    fputs(" &middot; ", f);
  }
  fputs("gradebook <code>", f);
  html(f, c->db);
  fprintf(f, "</code> &middot; made %s</p>\n", when);
  if (c->sets > 1)
    fprintf(f, "<p class=\"badge bad\">Graded with %d different sets of tests or "
               "points: compare percentages, not points.</p>\n", c->sets);

  fputs("<div class=\"cards\">", f);
  card(f, "n-submissions", "%.0f", c->n, "", "submissions");
  card(f, "n-graded", "%.0f", m->graded, "", "graded");
  card(f, "n-ungraded", "%.0f", m->ungraded, "", "could not be graded");
  card(f, "mean", "%.1f", m->mean, "%", "mean score");
  card(f, "median", "%.1f", m->median, "%", "median score");
  fputs("</div>\n", f);

  fputs("<nav><a href=\"#distribution\">Scores</a><a href=\"#exercises\">Exercises</a>"
        "<a href=\"#first-failures\">First failures</a><a href=\"#concerns\">To look at</a>"
        "<a href=\"#similarity\">Similarity</a><a href=\"#students\">Students</a>"
        "<a href=\"#tests\">Tests</a><a href=\"#reports\">Reports</a></nav>\n", f);
  sec_distribution(f, m);
  sec_exercises(f, m);
  sec_first(f, m);
  sec_concerns(f, m);
  sec_similar(f, m);
  sec_students(f, m);
  sec_tests(f, m);
  sec_reports(f, m);
  fputs("</main></body></html>\n", f);
}

/* ---- summary ------------------------------------------------------------------ */

int gr_cmd_summary(gr_workbook_t *wb, int argc, char **argv) {
  const char *db = "gradebook.db", *out = NULL, *class_dir = NULL;
  int similarity = 0;
  double min_share = 90;
  const char *usage = "usage: grader summary [--db FILE] [--html FILE] "
                      "[--similarity [--min-share PERCENT] [--class DIR]]\n";
  for (int i = 0; i < argc; i++) {
    const char *o = argv[i];
    int takes = !strcmp(o, "--db") || !strcmp(o, "--html") ||
                !strcmp(o, "--min-share") || !strcmp(o, "--class");
    if (takes && i + 1 >= argc) {
      fprintf(stderr, "grader: %s needs a value\n%s", o, usage);
      return 2;
    }
    if (!strcmp(o, "--db"))
      db = argv[++i];
    else if (!strcmp(o, "--html"))
      out = argv[++i];
    else if (!strcmp(o, "--class"))
      class_dir = argv[++i];
    else if (!strcmp(o, "--min-share")) {
      char *end;
      min_share = strtod(argv[++i], &end);
      if (*end || min_share < 1 || min_share > 100) {
        fprintf(stderr, "grader: --min-share takes a percentage from 1 to 100, "
                        "not \"%s\"\n", argv[i]);
        return 2;
      }
    } else if (!strcmp(o, "--similarity"))
      similarity = 1;
    else {
      fprintf(stderr, "grader: unexpected \"%s\"\n%s", o, usage);
      return 2;
    }
  }
  gr_class_t c;
  if (gr_class_load(wb, db, &c) < 0)
    return 2;
  struct summary m = {.min_share = min_share};
  figure(&m, &c);
  if (similarity) {
    m.located = gr_class_locate(&c, class_dir);
    if (m.located < c.n)
      fprintf(stderr, "grader: %d of %d submission folders not found%s: they are "
                      "not compared. Give --class DIR, the folder batch graded.\n",
              c.n - m.located, c.n, class_dir ? " in --class" : "");
    m.nsim = gr_similarity(wb, &c, min_share, &m.sim);
    m.sim_state = m.nsim < 0 ? -1 : 1;
    if (m.nsim < 0)
      m.nsim = 0;
    group_pairs(&m);
  }
  int rc = 0;
  if (out) {
    FILE *f = fopen(out, "w");
    if (!f) {
      fprintf(stderr, "grader: cannot write %s: %s\n", out, strerror(errno));
      rc = 70;
    } else {
      summary_html(f, &m);
      if (fclose(f) != 0) {
        fprintf(stderr, "grader: could not finish writing %s: %s\n", out, strerror(errno));
        rc = 70;
      } else {
        printf("Summary of %d submission%s written to %s (one page, opens in "
               "any browser)\n", c.n, c.n == 1 ? "" : "s", out);
      }
    }
  } else {
    summary_text(stdout, &m);
  }
  summary_free(&m);
  gr_class_free(&c);
  return rc;
}
