/* report.c - writes a grading as text (for people), JSON (the grader's own
 * schema), Gradescope's results.json, JUnit XML and TAP. Text that came from
 * a submission (messages, output) is cleaned for each format: valid UTF-8,
 * escaped for XML, indented inside TAP's YAML block so it can never pass
 * for a result line of its own.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <jansson.h>
#include <string.h>

static const struct {
  const char *name;
  enum gr_format fmt;
} formats[] = {{"text", GR_FMT_TEXT},   {"json", GR_FMT_JSON},
               {"gradescope", GR_FMT_GRADESCOPE}, {"junit", GR_FMT_JUNIT},
               {"tap", GR_FMT_TAP}};

int gr_format_parse(const char *name, enum gr_format *out) {
  for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
    if (!strcmp(formats[i].name, name)) {
      *out = formats[i].fmt;
      return 0;
    }
  return -1;
}

/* A copy of s that is valid UTF-8 without control characters other than
 * newline and tab: anything else becomes '?'. */
static char *clean(const char *s) {
  size_t n = s ? strlen(s) : 0;
  char *out = gr_xmalloc(n + 1);
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    unsigned char ch = (unsigned char)s[i];
    size_t len = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3
                                 : (ch >> 3) == 30 ? 4 : 0;
    int ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; k++)
      ok = ((unsigned char)s[i + k] >> 6) == 2;
    if (ok && len == 1 && ch < 0x20 && ch != '\n' && ch != '\t')
      ok = 0;
    if (ok && len == 1 && ch == 0x7f)
      ok = 0;
    if (!ok) {
      out[o++] = '?';
      i++;
      continue;
    }
    memcpy(out + o, s + i, len);
    o += len;
    i += len;
  }
  out[o] = 0;
  return out;
}

const char *gr_ex_state_text(enum gr_ex_state st) {
  switch (st) {
  case GR_EX_BUILT: return "built";
  case GR_EX_MISSING: return "missing file";
  case GR_EX_BAD_FILE: return "unusable file";
  case GR_EX_COMPILE_ERROR: return "compile error";
  case GR_EX_LINK_ERROR: return "link error";
  default: return "could not grade";
  }
}

static int ex_passed(const gr_ex_result_t *e) {
  return e->state == GR_EX_BUILT && gr_full(e->score, e->max);
}

/* ---- Text ---------------------------------------------------------------- */

void gr_indent(FILE *f, const char *text, const char *pad, int max_lines) {
  char *c = clean(text);
  int lines = 0;
  for (char *s = c, *eol; s && *s; s = eol ? eol + 1 : NULL) {
    eol = strchr(s, '\n');
    if (++lines > max_lines) {
      fprintf(f, "%s...\n", pad);
      break;
    }
    fprintf(f, "%s%.*s\n", pad, eol ? (int)(eol - s) : (int)strlen(s), s);
  }
  free(c);
}

static void report_text(FILE *f, const gr_grading_t *g) {
  const char *bold = gr_c(f, "\033[1m"), *red = gr_c(f, "\033[31m"),
             *green = gr_c(f, "\033[32m"), *off = gr_c(f, "\033[0m");
  fprintf(f, "Grading %s\n", g->submission);
  if (g->assignment)
    fprintf(f, "Assignment: %s\n", g->assignment);
  fprintf(f, "Isolation: %s\n\n", gr_isolation_text(g->isolation));
  for (int i = 0; i < g->nex; i++) {
    const gr_ex_result_t *e = &g->ex[i];
    char reused[96] = "";
    if (e->state == GR_EX_BUILT && gr_ex_incomplete(e))
      snprintf(reused, sizeof reused, "could not grade all of it: not a score");
    else if (e->state == GR_EX_BUILT && e->results_cached == e->ntests)
      snprintf(reused, sizeof reused, "(same files, same tests: passes reused)");
    fprintf(f, "%s%-48s%s %s%3s/%-3s%s %s\n", bold, e->ex->id, off,
            ex_passed(e) ? green : red, GR_PTS(e->score), GR_PTS(e->max), off,
            e->state != GR_EX_BUILT ? gr_ex_state_text(e->state) : reused);
    if (e->found_at)
      fprintf(f, "      (%s)\n", e->found_at);
    if (e->state != GR_EX_BUILT) {
      gr_indent(f, e->detail, "      ", 30);
      continue;
    }
    if (e->ex->learner_tests)
      gr_indent(f, e->detail, "      ", 80);
    for (int t = 0; t < e->ntests; t++) {
      const gr_test_result_t *tr = &e->tests[t];
      fprintf(f, "    %s%-4s%s %-44s %s/%s%s\n",
              tr->status == GR_PASS ? green : red,
              tr->status == GR_PASS ? "ok" : "FAIL", off, tr->test->name,
              GR_PTS(tr->score), GR_PTS(tr->test->points),
              tr->test->hidden ? " (hidden)" : "");
      if (tr->status != GR_PASS) {
        fprintf(f, "         %s:\n", gr_status_text(tr->status));
        gr_indent(f, tr->message, "         ", 20);
        if (tr->output && *tr->output) {
          fprintf(f, "         its output:\n");
          gr_indent(f, tr->output, "         | ", 6);
        }
      }
    }
  }
  fprintf(f, "\n%sTotal: %s/%s points%s (%d exercise%s) in %.1f s\n", bold,
          GR_PTS(g->score), GR_PTS(g->max), off, g->nex, g->nex == 1 ? "" : "s",
          g->secs);
}

/* ---- JSON and Gradescope -------------------------------------------------- */

/* A number of points: an integer when whole, else a decimal. */
static json_t *jnum(double v) {
  double r = v < 0 ? -(double)(long long)(-v + 0.5) : (double)(long long)(v + 0.5);
  if (v - r < 1e-9 && r - v < 1e-9)
    return json_integer((json_int_t)r);
  return json_real((double)(long long)(v * 10000 + 0.5) / 10000);
}

static json_t *jstr(const char *s) {
  char *c = clean(s ? s : "");
  json_t *j = json_string(c);
  free(c);
  return j ? j : json_string("");
}

static void report_json(FILE *f, const gr_grading_t *g) {
  json_t *root = json_object();
  json_object_set_new(root, "submission", jstr(g->submission));
  if (g->assignment)
    json_object_set_new(root, "assignment", jstr(g->assignment));
  json_object_set_new(root, "score", jnum(g->score));
  json_object_set_new(root, "max_score", jnum(g->max));
  json_object_set_new(root, "seconds", json_real(g->secs));
  json_object_set_new(root, "isolation", jstr(gr_isolation_text(g->isolation)));
  json_t *exs = json_array();
  for (int i = 0; i < g->nex; i++) {
    const gr_ex_result_t *e = &g->ex[i];
    json_t *je = json_object();
    json_object_set_new(je, "id", jstr(e->ex->id));
    json_object_set_new(je, "state", jstr(gr_ex_state_text(e->state)));
    json_object_set_new(je, "detail", jstr(e->detail));
    json_object_set_new(je, "found_at", jstr(e->found_at));
    json_object_set_new(je, "score", jnum(e->score));
    json_object_set_new(je, "max_score", jnum(e->max));
    json_object_set_new(je, "results_reused", json_boolean(e->results_cached > 0));
    json_t *ts = json_array();
    for (int t = 0; t < e->ntests; t++) {
      const gr_test_result_t *tr = &e->tests[t];
      json_t *jt = json_object();
      json_object_set_new(jt, "name", jstr(tr->test->name));
      json_object_set_new(jt, "status", jstr(gr_status_text(tr->status)));
      json_object_set_new(jt, "score", jnum(tr->score));
      json_object_set_new(jt, "max_score", jnum(tr->test->points));
      json_object_set_new(jt, "hidden", json_boolean(tr->test->hidden));
      json_object_set_new(jt, "visibility", jstr(tr->test->visibility));
      json_object_set_new(jt, "seconds", json_real(tr->secs));
      json_object_set_new(jt, "message", jstr(tr->message));
      json_object_set_new(jt, "output", jstr(tr->output));
      json_array_append_new(ts, jt);
    }
    json_object_set_new(je, "tests", ts);
    json_array_append_new(exs, je);
  }
  json_object_set_new(root, "exercises", exs);
  json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
  fputc('\n', f);
  json_decref(root);
}

/* Gradescope's results.json: one entry per test, named "exercise: test";
 * an exercise that did not build still lists its tests, at 0, with the
 * reason as their output. */
static void report_gradescope(FILE *f, const gr_grading_t *g) {
  json_t *root = json_object();
  json_object_set_new(root, "score", jnum(g->score));
  json_object_set_new(root, "execution_time", json_integer((json_int_t)(g->secs + 0.5)));
  gr_buf_t summary = {0};
  if (g->assignment)
    gr_buf_printf(&summary, "%s. ", g->assignment);
  gr_buf_printf(&summary, "Total: %s/%s points. Isolation: %s.", GR_PTS(g->score),
                GR_PTS(g->max), gr_isolation_text(g->isolation));
  for (int i = 0; i < g->nex; i++)
    if (gr_ex_incomplete(&g->ex[i])) {
      gr_buf_printf(&summary, "\nSome tests could not be graded because of a "
                              "fault in the autograder, not in your code: "
                              "those points are not your score yet. Please "
                              "tell your instructor.");
      break;
    }
  json_object_set_new(root, "output", jstr(summary.data));
  gr_buf_free(&summary);
  json_object_set_new(root, "visibility", json_string("visible"));
  json_object_set_new(root, "stdout_visibility", json_string("hidden"));
  json_t *tests = json_array();
  for (int i = 0; i < g->nex; i++) {
    const gr_ex_result_t *e = &g->ex[i];
    for (int t = 0; t < e->ntests; t++) {
      const gr_test_result_t *tr = &e->tests[t];
      json_t *jt = json_object();
      gr_buf_t name = {0}, out = {0};
      gr_buf_printf(&name, "%s: %s", e->ex->id, tr->test->name);
      if (e->state != GR_EX_BUILT)
        gr_buf_printf(&out, "%s: %s", gr_ex_state_text(e->state), e->detail);
      else if (tr->status != GR_PASS)
        gr_buf_printf(&out, "%s: %s%s%s", gr_status_text(tr->status),
                      tr->message ? tr->message : "",
                      tr->output && *tr->output ? "\n\nOutput:\n" : "",
                      tr->output ? tr->output : "");
      json_object_set_new(jt, "name", jstr(name.data));
      json_object_set_new(jt, "score", jnum(tr->score));
      json_object_set_new(jt, "max_score", jnum(tr->test->points));
      json_object_set_new(jt, "status",
                          json_string(tr->status == GR_PASS ? "passed" : "failed"));
      json_object_set_new(jt, "output", jstr(out.data ? out.data : ""));
      json_object_set_new(jt, "visibility", jstr(tr->test->visibility));
      json_array_append_new(tests, jt);
      gr_buf_free(&name);
      gr_buf_free(&out);
    }
  }
  json_object_set_new(root, "tests", tests);
  json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
  fputc('\n', f);
  json_decref(root);
}

/* ---- JUnit ------------------------------------------------------------- */

static void xml(FILE *f, const char *s) {
  char *c = clean(s ? s : "");
  for (char *p = c; *p; p++) {
    switch (*p) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&apos;", f); break;
    default: fputc(*p, f);
    }
  }
  free(c);
}

static void report_junit(FILE *f, const gr_grading_t *g) {
  int tests = 0, failures = 0, errors = 0;
  for (int i = 0; i < g->nex; i++)
    for (int t = 0; t < g->ex[i].ntests; t++) {
      tests++;
      enum gr_test_status st = g->ex[i].tests[t].status;
      failures += st != GR_PASS && st != GR_GRADER_ERROR;
      errors += st == GR_GRADER_ERROR;
    }
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  fprintf(f, "<testsuites name=\"workbook\" tests=\"%d\" failures=\"%d\" "
             "errors=\"%d\" time=\"%.3f\">\n",
          tests, failures, errors, g->secs);
  for (int i = 0; i < g->nex; i++) {
    const gr_ex_result_t *e = &g->ex[i];
    int ef = 0, ee = 0;
    for (int t = 0; t < e->ntests; t++) {
      ef += e->tests[t].status != GR_PASS && e->tests[t].status != GR_GRADER_ERROR;
      ee += e->tests[t].status == GR_GRADER_ERROR;
    }
    fprintf(f, "  <testsuite name=\"");
    xml(f, e->ex->id);
    fprintf(f, "\" tests=\"%d\" failures=\"%d\" errors=\"%d\">\n", e->ntests, ef, ee);
    for (int t = 0; t < e->ntests; t++) {
      const gr_test_result_t *tr = &e->tests[t];
      fprintf(f, "    <testcase classname=\"");
      xml(f, e->ex->id);
      fprintf(f, "\" name=\"");
      xml(f, tr->test->name);
      fprintf(f, "\" time=\"%.3f\">", tr->secs);
      if (tr->status != GR_PASS) {
        const char *tag = tr->status == GR_GRADER_ERROR ? "error" : "failure";
        fprintf(f, "\n      <%s message=\"%s\">", tag, gr_status_text(tr->status));
        xml(f, e->state != GR_EX_BUILT ? e->detail : tr->message);
        fprintf(f, "</%s>\n    ", tag);
        if (tr->output && *tr->output) {
          fprintf(f, "  <system-out>");
          xml(f, tr->output);
          fprintf(f, "</system-out>\n    ");
        }
      }
      fprintf(f, "</testcase>\n");
    }
    fprintf(f, "  </testsuite>\n");
  }
  fprintf(f, "</testsuites>\n");
}

/* ---- TAP ---------------------------------------------------------------- */

static void tap_desc(FILE *f, const char *s) {
  char *c = clean(s);
  for (char *p = c; *p; p++)
    fputs(*p == '#' ? "\\#" : *p == '\n' ? " " : (char[]){*p, 0}, f);
  free(c);
}

static void report_tap(FILE *f, const gr_grading_t *g) {
  int n = 0, k = 0;
  for (int i = 0; i < g->nex; i++)
    n += g->ex[i].ntests;
  fprintf(f, "TAP version 13\n1..%d\n", n);
  for (int i = 0; i < g->nex; i++) {
    const gr_ex_result_t *e = &g->ex[i];
    for (int t = 0; t < e->ntests; t++) {
      const gr_test_result_t *tr = &e->tests[t];
      fprintf(f, "%s %d - ", tr->status == GR_PASS ? "ok" : "not ok", ++k);
      tap_desc(f, e->ex->id);
      fputs(": ", f);
      tap_desc(f, tr->test->name);
      fputc('\n', f);
      if (tr->status != GR_PASS) {
        /* A YAML block: every line of the message indented, so none of it
         * can be read as a TAP line. */
        fprintf(f, "  ---\n  status: %s\n  points: %s\n  message: |\n",
                gr_status_text(tr->status), GR_PTS(tr->test->points));
        gr_indent(f, e->state != GR_EX_BUILT ? e->detail : tr->message, "    ", 40);
        fprintf(f, "  ...\n");
      }
    }
  }
  fprintf(f, "# %s/%s points\n", GR_PTS(g->score), GR_PTS(g->max));
}

void gr_report(FILE *f, const gr_grading_t *g, enum gr_format fmt) {
  switch (fmt) {
  case GR_FMT_TEXT: report_text(f, g); break;
  case GR_FMT_JSON: report_json(f, g); break;
  case GR_FMT_GRADESCOPE: report_gradescope(f, g); break;
  case GR_FMT_JUNIT: report_junit(f, g); break;
  case GR_FMT_TAP: report_tap(f, g); break;
  }
}
