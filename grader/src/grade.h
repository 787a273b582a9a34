/* grade.h - what grade.c shares with catch.c, which grades the exercises
 * whose learner writes the tests: one exercise in flight, how its files
 * are compiled, and one test run. Nothing else includes it.
 */
#ifndef GRADE_H
#define GRADE_H

#include "gr.h"

/* Binaries per exercise: one per test file, or (learner-written tests)
 * one per implementation under test. */
#define GR_MAX_BINS 24

struct catch_ctx;

/* Everything in flight for one exercise of the submission. */
struct ex_ctx {
  gr_workbook_t *wb;
  const gr_options_t *opt;
  gr_ex_result_t *res;
  char work[PATH_MAX];    /* scratch folder of this exercise */
  char display[4][PATH_MAX]; /* how to name each learner file to the learner */
  char objs[GR_MAX_BINS + 4][PATH_MAX]; /* learner objects, then the others */
  int nobjs_learner;
  unsigned long long keys[GR_MAX_BINS + 4];
  int pending;               /* compile jobs not finished */
  int failed;
  int nbins;
  char bin[GR_MAX_BINS][PATH_MAX]; /* one binary per test source */
  int pending_links;
  gr_group_t *group;         /* the submission's: every job joins it */
  unsigned long long result_key; /* 0: results not to be cached */
  int in_place;              /* graded in the workbook's own tree */
  struct catch_ctx *ct;      /* learner-written tests: catch.c's state */
  int ct_handout;            /* ...run on a handout's reference only */
  gr_options_t own_opt;      /* opt, changed for this exercise (catch.c) */
};

/* An implementation under test (catch.c) in the build a handout ships, and
 * in another made only when grading: a learner's test must pass on both,
 * so one that recognises the shipped code instead of testing what it does
 * earns nothing. Neither carries debug information or its file's name. */
#define IMPL_SHIPPED_CFLAGS "-std=c17", "-D_GNU_SOURCE", "-O2"
#define IMPL_GRADING_CFLAGS "-std=c17", "-D_GNU_SOURCE", "-O1", "-fno-inline", \
      "-falign-functions=64", "-fno-omit-frame-pointer"

/* How a file is compiled. */
enum gr_cc {
  GR_CC_LEARNER,     /* a learner file: sandboxed, checked, allocations routed */
  GR_CC_TEST,        /* the workbook's (or an instructor's) test file */
  GR_CC_TESTS_FILE,  /* learner-written tests: sandboxed, checked, may use wbtest.h */
  GR_CC_IMPL_SHIPPED,/* an implementation under test, as a handout ships it */
  GR_CC_IMPL_GRADING,/* the same, in the build used only when grading */
};

void gr_grade_compile(struct ex_ctx *c, int index, const char *src, enum gr_cc mode);
/* Sets the exercise's state once (see grade.c). */
void gr_grade_fail(struct ex_ctx *c, enum gr_ex_state st, char *detail);
/* Runs test `name` of binary `bin` in a process of its own; its verdict
 * goes into *tr (whose test names it), then catch.c hears of it when the
 * exercise is one of learner-written tests. */
void gr_grade_run(struct ex_ctx *c, gr_test_result_t *tr, int bin);
/* Makes the learner's calls of malloc & co. countable (wraps.c); 0 or -1. */
int gr_route_allocations(const char *obj);

/* catch.c: the exercise's own steps, called by grade.c. */
void gr_catch_start(struct ex_ctx *c);           /* after the learner file is compiled */
int gr_catch_tests(const struct ex_ctx *c);      /* learner tests in each binary */
void gr_catch_bin_ready(struct ex_ctx *c, int bin);
void gr_catch_run_done(struct ex_ctx *c, gr_test_result_t *tr);
void gr_catch_finish(struct ex_ctx *c);
/* The folder of binary `bin`: the only one its runs see. */
const char *gr_catch_bin_dir(struct ex_ctx *c, int bin);
/* Chains what the exercise's implementations under test hold. */
unsigned long long gr_catch_hash(unsigned long long h, const gr_exercise_t *ex);

#endif /* GRADE_H */
