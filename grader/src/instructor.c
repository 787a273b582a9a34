/* instructor.c - `grade DIR`: one submission, in any of the report
 * formats, with an instructor's hidden tests if given.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int gr_cmd_grade(gr_workbook_t *wb, int argc, char **argv) {
  const char *dir = NULL, *out = NULL, *hidden = NULL, *vis = "after_published";
  enum gr_format fmt = GR_FMT_TEXT;
  gr_options_t opt = {.jobs = (int)sysconf(_SC_NPROCESSORS_ONLN), .test_timeout_s = 5};
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--format") && v) {
      if (gr_format_parse(v, &fmt) < 0) {
        fprintf(stderr, "grader: unknown format \"%s\" (text, json, "
                        "gradescope, junit or tap)\n", v);
        return 2;
      }
      i++;
    } else if (!strcmp(a, "--out") && v) {
      out = v;
      i++;
    } else if (!strcmp(a, "--hidden") && v) {
      hidden = v;
      i++;
    } else if (!strcmp(a, "--hidden-visibility") && v) {
      vis = v;
      i++;
    } else if (!strcmp(a, "-j") && v) {
      opt.jobs = atoi(v);
      i++;
    } else if (!strcmp(a, "--timeout") && v) {
      opt.test_timeout_s = atof(v);
      i++;
    } else if (!strcmp(a, "--sanitize")) {
      opt.sanitize = 1;
    } else if (a[0] != '-' && !dir) {
      dir = a;
    } else {
      fprintf(stderr, "grader: grade: unexpected \"%s\"\n"
                      "usage: grader grade DIR [--format F] [--out FILE] "
                      "[--hidden DIR] [--sanitize] [-j N]\n", a);
      return 2;
    }
  }
  if (!dir) {
    fprintf(stderr, "usage: grader grade DIR [--format text|json|gradescope|junit|tap] "
                    "[--out FILE] [--hidden DIR]\n");
    return 2;
  }
  if (opt.test_timeout_s < 1)
    opt.test_timeout_s = 1;
  if (hidden && gr_workbook_add_hidden(wb, hidden, vis) < 0)
    return 2;
  gr_grading_t g;
  if (gr_grade(wb, dir, NULL, 0, &opt, &g) < 0)
    return 2;
  FILE *f = stdout;
  if (out && !(f = fopen(out, "w"))) {
    perror(out);
    gr_grading_free(&g);
    return 70;
  }
  gr_report(f, &g, fmt);
  int internal = 0;
  for (int i = 0; i < g.nex; i++)
    internal += g.ex[i].state == GR_EX_INTERNAL;
  if (out) {
    fclose(f);
    fprintf(stderr, "%s: %d/%d points, written to %s\n", dir, g.score, g.max, out);
  }
  gr_grading_free(&g);
  /* 0: graded (whatever the score); 70: the grader could not grade it all. */
  return internal ? 70 : 0;
}
