/* assignment.c - an assignment file picks exercises (in its order) and,
 * optionally, how many points each is worth:
 *
 *   # Week 2: the basic patterns        <- a comment; the first one titles it
 *   title Week 2: basic patterns        <- or say it outright
 *   02-basic-patterns/01-async-sleep    20
 *   02-basic-patterns/02-gather-timers      <- no number: the workbook's points
 *
 * An exercise's new points (more than 0, decimals allowed) are shared among
 * its tests in proportion to the workbook's, as fractions where they must
 * be: no test is ever worth 0, and the shares keep the workbook's weights.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Shares `total` among the tests in proportion to their points, exactly:
 * a share may be a fraction (Gradescope takes decimals), and no test ends
 * up worth 0, so the exercise's weights stay the workbook's. */
static void scale_points(gr_exercise_t *ex, double total) {
  double old = 0;
  for (int t = 0; t < ex->ntests; t++)
    old += ex->tests[t].points;
  if (old <= 0 || ex->ntests == 0)
    return;
  for (int t = 0; t < ex->ntests; t++)
    ex->tests[t].points = total * ex->tests[t].points / old;
  ex->max_points = total;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1]))
    s[--n] = 0;
  return s;
}

int gr_assignment_apply(gr_workbook_t *wb, const char *file) {
  gr_buf_t b = {0};
  if (gr_read_file(file, 1 << 20, &b) < 0) {
    fprintf(stderr, "grader: cannot read the assignment file %s\n", file);
    return -1;
  }
  gr_exercise_t *picked = gr_xmalloc(sizeof *picked * (size_t)(wb->nex + 1));
  int npicked = 0, errors = 0, lineno = 0;
  char *save = NULL;
  for (char *line = strtok_r(b.data, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    lineno++;
    char *s = trim(line);
    if (*s == '#') {
      if (!wb->assignment[0])
        snprintf(wb->assignment, sizeof wb->assignment, "%s", trim(s + 1));
      continue;
    }
    if (!*s)
      continue;
    if (!strncmp(s, "title ", 6)) {
      snprintf(wb->assignment, sizeof wb->assignment, "%s", trim(s + 6));
      continue;
    }
    char *name = s, *rest = s;
    while (*rest && !isspace((unsigned char)*rest))
      rest++;
    if (*rest)
      *rest++ = 0;
    rest = trim(rest);
    char *end = NULL;
    double points = *rest ? strtod(rest, &end) : -1;
    if (*rest && (*end || !(points > 0) || points > 100000)) {
      fprintf(stderr, "%s:%d: \"%s\" is not a number of points (more than "
                      "0, such as 20 or 2.5; an exercise worth nothing is "
                      "left out of the assignment)\n", file, lineno, rest);
      errors++;
      continue;
    }
    gr_exercise_t *ex = gr_workbook_find(wb, name);
    if (!ex) {
      fprintf(stderr, "%s:%d: no exercise \"%s\" in this workbook "
                      "(build/grader list shows them)\n", file, lineno, name);
      errors++;
      continue;
    }
    int dup = 0;
    for (int i = 0; i < npicked; i++)
      dup |= !strcmp(picked[i].id, ex->id);
    if (dup || npicked == wb->nex) {
      fprintf(stderr, "%s:%d: %s is listed twice\n", file, lineno, ex->id);
      errors++;
      continue;
    }
    if (points > 0 && ex->max_points <= 0) {
      fprintf(stderr, "%s:%d: %s has no points of its own to share out "
                      "(its tests are worth 0): it cannot be worth %s\n",
              file, lineno, ex->id, GR_PTS(points));
      errors++;
      continue;
    }
    picked[npicked] = *ex;
    if (points >= 0)
      scale_points(&picked[npicked], points);
    npicked++;
  }
  gr_buf_free(&b);
  if (errors || npicked == 0) {
    if (!errors)
      fprintf(stderr, "grader: the assignment %s lists no exercise\n", file);
    free(picked);
    return -1;
  }
  if (!wb->assignment[0]) {
    const char *base = strrchr(file, '/');
    snprintf(wb->assignment, sizeof wb->assignment, "%s", base ? base + 1 : file);
  }
  /* From now on the workbook is the assignment: the same exercise model,
   * fewer exercises, other points. */
  free(wb->ex);
  wb->ex = picked;
  wb->nex = npicked;
  return 0;
}
