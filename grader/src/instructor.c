/* instructor.c - `grade DIR`: one submission, in any of the report
 * formats, with an instructor's hidden tests and an assignment if given;
 * and the command-line options that `grade` and `batch` share.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int gr_args_parse(int argc, char **argv, int allowed, const char *usage,
                  gr_args_t *a) {
  memset(a, 0, sizeof *a);
  a->visibility = "after_published";
  a->fmt = GR_FMT_TEXT;
  a->opt.jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
  a->opt.test_timeout_s = 5;
  a->opt.sanitize = 1; /* leaks and memory errors count in every grading */
  for (int i = 0; i < argc; i++) {
    const char *o = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strncmp(o, "-j", 2) && o[2]) { /* -j4, as make takes it */
      a->opt.jobs = atoi(o + 2);
      if (a->opt.jobs < 1 || a->opt.jobs > 64) {
        fprintf(stderr, "grader: %s is out of range (-j 1..64)\n", o);
        return 2;
      }
      continue;
    }
    int takes = !strcmp(o, "--format") || !strcmp(o, "--out") ||
                !strcmp(o, "--hidden") || !strcmp(o, "--hidden-visibility") ||
                !strcmp(o, "-j") || !strcmp(o, "--timeout") ||
                !strcmp(o, "--assignment") || !strcmp(o, "--db") ||
                !strcmp(o, "--shard") || !strcmp(o, "--libev-flags");
    if (takes && !v) {
      fprintf(stderr, "grader: %s needs a value\nusage: %s\n", o, usage);
      return 2;
    }
    int ok = 1;
    if (!strcmp(o, "--format") && (allowed & GR_ARG_FORMAT)) {
      if (gr_format_parse(v, &a->fmt) < 0) {
        fprintf(stderr, "grader: unknown format \"%s\" (text, json, "
                        "gradescope, junit or tap)\n", v);
        return 2;
      }
    } else if (!strcmp(o, "--out") && (allowed & GR_ARG_OUT)) {
      a->out = v;
    } else if (!strcmp(o, "--db") && (allowed & GR_ARG_DB)) {
      a->db = v;
    } else if (!strcmp(o, "--shard") && (allowed & GR_ARG_SHARD)) {
      char extra;
      if (sscanf(v, "%d/%d%c", &a->shard, &a->nshards, &extra) != 2 ||
          a->nshards < 1 || a->shard < 1 || a->shard > a->nshards) {
        fprintf(stderr, "grader: --shard takes I/N with 1 <= I <= N (e.g. "
                        "--shard 2/4 for the second of four), not \"%s\"\n", v);
        return 2;
      }
    } else if (!strcmp(o, "--hidden")) {
      a->hidden = v;
    } else if (!strcmp(o, "--hidden-visibility")) {
      a->visibility = v;
    } else if (!strcmp(o, "--assignment")) {
      a->assignment = v;
    } else if (!strcmp(o, "-j")) {
      a->opt.jobs = atoi(v);
      ok = a->opt.jobs >= 1 && a->opt.jobs <= 64;
    } else if (!strcmp(o, "--timeout")) {
      a->opt.test_timeout_s = atof(v);
      ok = a->opt.test_timeout_s >= 1 && a->opt.test_timeout_s <= 600;
    } else if (!strcmp(o, "--libev-flags")) {
      /* libev's backend bits: 1 select, 2 poll, 4 epoll, ... */
      a->opt.libev_flags = atoi(v);
      ok = a->opt.libev_flags > 0 && a->opt.libev_flags < 65536;
    } else if (!strcmp(o, "--sanitize")) {
      a->opt.sanitize = 1; /* the default; kept for old scripts */
      takes = 0;
    } else if (!strcmp(o, "--no-sanitize")) {
      a->opt.sanitize = 0;
      takes = 0;
    } else if (!strcmp(o, "--no-cache")) {
      a->opt.no_cache = 1;
      takes = 0;
    } else if (o[0] != '-' && !a->dir) {
      a->dir = o;
      takes = 0;
    } else {
      fprintf(stderr, "grader: unexpected \"%s\"\nusage: %s\n", o, usage);
      return 2;
    }
    if (!ok) {
      fprintf(stderr, "grader: %s %s is out of range (-j 1..64, --timeout "
                      "1..600 seconds, --libev-flags 1..65535)\n", o, v);
      return 2;
    }
    i += takes;
  }
  if (!a->dir) {
    fprintf(stderr, "usage: %s\n", usage);
    return 2;
  }
  return 0;
}

int gr_args_apply(gr_workbook_t *wb, const gr_args_t *a) {
  if (a->hidden && gr_workbook_add_hidden(wb, a->hidden, a->visibility) < 0)
    return 2;
  const char *file = a->assignment ? a->assignment : wb->assignment_file;
  if (*file && gr_assignment_apply(wb, file) < 0)
    return 2;
  wb->assignment_file[0] = 0;
  return 0;
}

int gr_cmd_grade(gr_workbook_t *wb, int argc, char **argv) {
  gr_args_t a;
  int rc = gr_args_parse(argc, argv, GR_ARG_OUT | GR_ARG_FORMAT,
                         "grader grade DIR [--format text|json|gradescope|junit|tap] "
                         "[--out FILE] [--hidden DIR [--hidden-visibility V]] [--assignment FILE] "
                         "[--no-sanitize] [--no-cache] [-j N] [--timeout S] [--libev-flags N]",
                         &a);
  if (rc || (rc = gr_args_apply(wb, &a)))
    return rc;
  gr_grading_t g;
  if (gr_grade(wb, a.dir, NULL, 0, &a.opt, &g) < 0)
    return 2;
  FILE *f = stdout;
  if (a.out && !(f = fopen(a.out, "w"))) {
    perror(a.out);
    gr_grading_free(&g);
    return 70;
  }
  gr_report(f, &g, a.fmt);
  int internal = gr_ex_incomplete_count(&g);
  if (a.out) {
    fclose(f);
    fprintf(stderr, "%s: %s/%s points, written to %s\n", a.dir, GR_PTS(g.score),
            GR_PTS(g.max), a.out);
  }
  gr_grading_free(&g);
  /* 0: graded (whatever the score); 70: the grader could not grade it all. */
  return internal ? 70 : 0;
}
