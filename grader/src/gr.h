/* gr.h - what the grader's own files share: the workbook model (exercises,
 * tests, points), the process engine, the sandbox, grading results and the
 * report writers. Nothing here is visible to exercise code.
 */
#ifndef GR_H
#define GR_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

/* ---- Small utilities (util.c) ----------------------------------------- */

typedef struct gr_buf {
  char *data; /* NUL-terminated */
  size_t len, cap;
} gr_buf_t;

void gr_buf_add(gr_buf_t *b, const char *s, size_t n);
void gr_buf_printf(gr_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void gr_buf_free(gr_buf_t *b);

/* Reads a whole file (at most `max` bytes) into *out; 0, or -errno. */
int gr_read_file(const char *path, size_t max, gr_buf_t *out);
int gr_write_file(const char *path, const char *data, size_t len);
int gr_copy_file(const char *from, const char *to);
int gr_mkdirs(const char *path);
int gr_rmtree(const char *path);
int gr_is_dir(const char *path);
int gr_is_file(const char *path);

/* 64-bit FNV-1a, chained: hash = gr_hash(hash, data, len). */
unsigned long long gr_hash(unsigned long long h, const void *data, size_t len);
#define GR_HASH_INIT 1469598103934665603ULL
/* Chains what a file holds (nothing, if it cannot be read), then a NUL. */
unsigned long long gr_hash_file(unsigned long long h, const char *path);

/* Points as people write them: "3", "2.5", "1.33" (at most two decimals,
 * no trailing zeros), in buf, which it returns. */
const char *gr_pts(double v, char buf[32]);
#define GR_PTS(v) gr_pts((v), (char[32]){0})
/* Whether a score is the whole of its maximum (sums of shares may differ in
 * the last bits). */
int gr_full(double score, double max);

/* Prints "  ok    TEXT" or "  FAIL  TEXT" and counts it; gr_verdicts(1)
 * and gr_verdicts(0) say how many of each were printed so far. */
void gr_verdict(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int gr_verdicts(int ok);

/* Wall clock, monotonic, in seconds. */
double gr_now(void);

/* Whether output goes to a terminal that wants colours (NO_COLOR unset). */
int gr_color(FILE *f);
const char *gr_c(FILE *f, const char *code); /* code or "" */

void *gr_xmalloc(size_t n);
char *gr_xstrdup(const char *s);
/* asprintf that never fails (exits when memory ran out). */
char *gr_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs argv to completion, capturing merged stdout+stderr (capped at `cap`
 * bytes) into out; returns the wait status or -1. Trusted commands only. */
int gr_run_capture(char *const argv[], gr_buf_t *out, size_t cap);

/* ---- Inside objects and programs (elf.c) ------------------------------- */

/* What a learner's compiled object may not contain, in words for the
 * learner (malloc'ed), or NULL; `reserved` says where a global name is
 * already defined in a test program (a library's file name), or NULL.
 * `tests_file`: a file of learner-written tests, which may register tests
 * and call what wbtest.h's macros call. */
char *gr_elf_forbidden(const char *obj, const char *(*reserved)(const char *name),
                       int tests_file);
/* Whether a linked test program's "wb_tests" table holds exactly `entries`
 * entries of `size` bytes, bounded by the linker's own __start_wb_tests
 * and __stop_wb_tests. */
int gr_elf_tests_table_ok(const char *bin, size_t entries, size_t size);
/* The memory a program's image takes before it runs (loadable segments
 * and thread-local storage), or -1 if it cannot be read. */
long long gr_elf_load_size(const char *bin);

/* ---- Sanitizer reports (sanitizer.c) --------------------------------- */

/* The learner's files of an exercise: their bare names (as the compiler saw
 * them) and the names to show ("exercises/.../async_sleep.c"). */
typedef struct gr_san_files {
  int n;
  const char *files[4];
  const char *shown[4];
} gr_san_files_t;

/* A few sentences on the sanitizer error in a test's output, pointing at
 * the learner's own lines (malloc'ed), or NULL when there is none. */
char *gr_sanitizer_explain(const char *out, const gr_san_files_t *f);

/* ---- The workbook (workbook.c) ----------------------------------------- */

typedef struct gr_test {
  char name[96];
  double points;      /* > 0; fractional once an assignment shares points */
  int line;
  int hidden;         /* from --hidden DIR */
  char visibility[24];/* Gradescope visibility */
  char source[PATH_MAX]; /* the test file it is declared in */
  char what[160];     /* an exercise whose learner writes the tests: the
                         kind of mistake this broken implementation makes */
} gr_test_t;

typedef struct gr_exercise {
  char id[160];            /* "02-basic-patterns/01-async-sleep" */
  char dir[PATH_MAX];      /* absolute path of its folder in exercises/ */
  char title[160];         /* first heading of its README */
  int nfiles;
  char files[4][64];       /* learner-edited file names ("async_sleep.c") */
  int nsources;
  char sources[8][PATH_MAX]; /* test files (test_*.c), then hidden ones */
  int ntests;
  gr_test_t tests[64];
  double max_points;
  /* An exercise whose learner writes the tests (catch.c): its README's
   * "## What your tests must catch" names the broken implementations, which
   * are its tests; they live in impl (tests/impl/ID: reference.c and
   * NAME.patch or NAME.c; or a handout's impl/ID with the reference's
   * objects only), "" when neither exists. */
  int learner_tests;
  char impl[PATH_MAX];
  int impl_prebuilt;       /* impl holds objects, not sources (a handout) */
} gr_exercise_t;

typedef struct gr_workbook {
  char root[PATH_MAX];  /* the workbook's top folder */
  char build[PATH_MAX]; /* root/build */
  int nex;
  gr_exercise_t *ex;
  char assignment[160]; /* its title, when an assignment picked exercises */
  char assignment_file[PATH_MAX]; /* a handout's .assignment, not applied yet */
  char only[64]; /* verify --only: the chapters whose folder starts so ("" all) */
} gr_workbook_t;

/* Finds the workbook (the folder above this program's build/ folder) and
 * every exercise under exercises/, in folder order. 0 or -1 (message
 * printed). */
int gr_workbook_load(gr_workbook_t *wb, const char *argv0);

/* Adds an instructor's hidden tests: DIR/<exercise id>/test_*.c, tests
 * marked hidden with the given visibility. Returns how many test files
 * were added, or -1 with a message. */
int gr_workbook_add_hidden(gr_workbook_t *wb, const char *dir,
                           const char *visibility);

/* Narrows the workbook to an assignment's exercises, in its order, with
 * its points (assignment.c). 0, or -1 with messages naming file:line. A
 * handout's own `.assignment` is found by gr_workbook_load and applied by
 * main, or by gr_args_apply after any hidden tests (whose points then
 * count within the assignment's). */
int gr_assignment_apply(gr_workbook_t *wb, const char *file);

/* Finds an exercise by id, by its folder name ("01-async-sleep"), by a
 * path ending in its id, or by a unique prefix. NULL if none. */
gr_exercise_t *gr_workbook_find(gr_workbook_t *wb, const char *name);

/* Parses the WB_TEST(name, points) declarations of a test file. */
int gr_parse_tests(const char *path, gr_test_t *tests, int max);

/* The hints of an exercise: the paragraphs of its README's "## Hints"
 * section. Returns how many (at most max); each is malloc'ed. */
int gr_exercise_hints(const gr_exercise_t *ex, char **hints, int max);
/* A hint paragraph may end with "Helps with: `test_a`, `test_b`.": whether
 * it names `test` (1 or 0), or -1 when it names no test; and the length of
 * its text without that line. */
int gr_hint_helps(const char *hint, const char *test);
int gr_hint_text_len(const char *hint);

/* ---- Finding the learner's files in an upload (upload.c) ------------- */

/* Where `file` of `ex` is in the submission `sub`: its usual places (an
 * exercises/ tree, exercise folders, flat), else anywhere below (a few
 * folders deep). Returns 0 found in a usual place, 1 found elsewhere (out
 * says where), -1 not found, -2 found twice (out and other, when other is
 * not NULL, are the two places: which to grade is not the grader's guess). */
int gr_upload_locate(const char *sub, const gr_exercise_t *ex, const char *file,
                     char *out, char *other);
/* Why `file` was not found, with what the upload holds instead (malloc'ed). */
char *gr_upload_missing(const char *sub, const char *file);
/* Files named almost like `file` ("async_sleep (1).c"), quoted, or "". */
void gr_upload_near_misses(const char *dir, const char *file, char *out, size_t len);
/* NULL when `path` is C source text worth compiling, or why not (malloc'ed),
 * naming it `name`. */
char *gr_upload_check(const char *path, const char *name);

/* ---- Isolation (sandbox.c) --------------------------------------------- */

enum gr_isolation {
  GR_ISO_BWRAP,      /* bubblewrap namespaces + rlimits (+ own uid as root) */
  GR_ISO_UID,        /* rlimits + process group + an unprivileged uid */
  GR_ISO_RLIMITS,    /* rlimits + process group only */
};

typedef struct gr_sandbox {
  int compile;              /* compile step (more memory, writable dir) */
  const char *workdir;      /* the only writable folder (bound read-write) */
  const char *ro[8];        /* folders visible read-only, NULL-terminated */
  double timeout_s;         /* wall clock: the engine kills after it */
  int sanitizer;            /* ASan binary: no address-space limit */
  int slot;                 /* ro: job slot (set by the engine): picks the uid */
  int trusted;              /* the workbook's own code: no sandbox needed */
} gr_sandbox_t;

/* Names the folder every job must be able to read (the workbook); call
 * before the first job. */
void gr_sandbox_require(const char *dir);

/* Whether jobs run as an unprivileged uid of their own, and which. */
int gr_sandbox_own_uid(void);
int gr_sandbox_uid(int slot);

/* Decides once which isolation this machine allows (tries bubblewrap). */
enum gr_isolation gr_isolation(void);
const char *gr_isolation_text(enum gr_isolation iso);

/* In a forked child: applies limits, drops privileges and execs argv inside
 * the sandbox with a scrubbed environment `env`. Never returns. */
void gr_sandbox_exec(const gr_sandbox_t *sb, char *const argv[],
                     char *const env[]) __attribute__((noreturn));

/* After a job ends: kills whatever it left running (its uid's processes
 * when it had its own uid). */
void gr_sandbox_cleanup(const gr_sandbox_t *sb, int pid);

/* ---- The process engine (engine.c) ------------------------------------ */

typedef struct gr_job gr_job_t;
typedef void (*gr_job_cb)(gr_job_t *job);

/* A group of jobs (one submission's): `done` runs once every job submitted
 * with it has ended, its own callback included. Start with pending = 1 (a
 * token the owner holds while it submits), then gr_group_release(). */
typedef struct gr_group {
  int pending;
  void (*done)(struct gr_group *g);
} gr_group_t;
void gr_group_release(gr_group_t *g);

struct gr_job {
  /* rw: set before submitting */
  char *argv[64];
  gr_sandbox_t sb;
  char *env[16];
  size_t out_cap;          /* bytes of output kept (head) */
  const char *secret;      /* non-NULL: fd 3 gets it, fd 4 is the result */
  gr_job_cb done;
  void *data;
  gr_group_t *group;       /* may be NULL */
  int engine_frees;        /* malloc'ed, with malloc'ed argv and env: the
                              engine frees it all once `done` has run */
  /* ro: filled by the engine */
  int status;              /* wait status, -1 if it could not start */
  int timed_out;
  gr_buf_t out;            /* stdout + stderr, at most out_cap */
  size_t out_dropped;      /* bytes cut beyond out_cap */
  gr_buf_t result;         /* what arrived on fd 4 */
  double secs;
  /* engine-private */
  struct gr_job_priv *priv;
};

void gr_engine_init(int max_jobs);
void gr_engine_submit(gr_job_t *job);
/* The same, `secs` seconds from now (a retry). */
void gr_engine_submit_after(gr_job_t *job, double secs);
/* Runs until every submitted job (and those their callbacks submit) ended. */
void gr_engine_run(void);
/* Drops the queued jobs and kills the running ones (their callbacks still
 * run, with the jobs killed): for a batch told to stop. */
void gr_engine_cancel(void);
/* The engine's loop, for watchers of the engine's user (signals). */
struct ev_loop *gr_engine_loop(void);

/* ---- Grading (grade.c) ------------------------------------------------- */

enum gr_test_status {
  GR_PASS,
  GR_FAIL,        /* an assertion did not hold */
  GR_CRASH,       /* killed by a signal */
  GR_TIMEOUT,     /* ran out of time */
  GR_NO_RESULT,   /* exited without the runner's verdict */
  GR_NOT_RUN,     /* the exercise did not build */
  GR_GRADER_ERROR /* the grader itself failed: "could not grade" */
};

typedef struct gr_test_result {
  const gr_test_t *test;
  enum gr_test_status status;
  double score;  /* its points, or 0 */
  double secs;
  char *message; /* plain words for the learner */
  char *output;  /* what the test printed (capped), may be empty */
  int not_run;   /* first_failure: skipped after another test failed */
} gr_test_result_t;

enum gr_ex_state {
  GR_EX_BUILT,
  GR_EX_MISSING,       /* the learner's file is not in the submission */
  GR_EX_BAD_FILE,      /* not a usable source file (binary, too big, link) */
  GR_EX_COMPILE_ERROR,
  GR_EX_LINK_ERROR,
  GR_EX_INTERNAL       /* could not grade */
};

typedef struct gr_ex_result {
  const gr_exercise_t *ex;
  enum gr_ex_state state;
  char *detail;            /* compiler output or the reason, for the learner */
  double score, max;
  int ntests;
  gr_test_result_t tests[64];
  char *found_at;          /* a learner file found outside its usual
                              places: where (for the report), or NULL */
  int cached;              /* every object came from the cache */
  int results_cached;      /* its passes were reused (all of its tests), not run */
  int wrong_tests;         /* learner-written tests that failed on the
                              correct implementation (catch.c) */
  int learner_test_count;
} gr_ex_result_t;

typedef struct gr_options {
  int jobs;
  int sanitize;
  double test_timeout_s;
  int quiet;
  int no_cache;            /* run the tests even if their results are cached */
  int libev_flags;         /* LIBEV_FLAGS for the tests (backends); 0: unset */
  int first_failure;       /* verify's mutants: tests one after another, the
                              rest not run once one fails (marked not_run) */
} gr_options_t;

typedef struct gr_grading {
  const char *submission;  /* the folder graded */
  const char *assignment;  /* its title, or NULL */
  int nex;
  gr_ex_result_t *ex;
  double score, max;
  double secs;
  enum gr_isolation isolation;
} gr_grading_t;

/* Grades the learner files of `submission` (an exercises/ tree, a copy of
 * one, or a flat folder of learner files) for the exercises in `only` (all
 * when nonly is 0). Fills *g. Returns 0, or -1 if grading could not start. */
int gr_grade(gr_workbook_t *wb, const char *submission, gr_exercise_t **only,
             int nonly, const gr_options_t *opt, gr_grading_t *g);
void gr_grading_free(gr_grading_t *g);

/* Whether the grader could not grade all of an exercise (its own fault or
 * the machine's: a test that could not run, tests that did not build);
 * and how many exercises of a grading are so. Such a grade is not a score. */
int gr_ex_incomplete(const gr_ex_result_t *e);
int gr_ex_incomplete_count(const gr_grading_t *g);

/* The same, on an engine already set up (gr_engine_init): starts the jobs
 * and returns; `done` runs from gr_engine_run once the grading is complete.
 * Many submissions can be in flight at once. */
typedef void (*gr_graded_cb)(gr_grading_t *g, void *data);
int gr_grade_start(gr_workbook_t *wb, const char *submission,
                   gr_exercise_t **only, int nonly, const gr_options_t *opt,
                   gr_grading_t *g, gr_graded_cb done, void *data);

const char *gr_status_text(enum gr_test_status s);

/* ---- Reports (report.c) ------------------------------------------------ */

enum gr_format { GR_FMT_TEXT, GR_FMT_JSON, GR_FMT_GRADESCOPE, GR_FMT_JUNIT, GR_FMT_TAP };

int gr_format_parse(const char *name, enum gr_format *out);
/* Writes text (cleaned to UTF-8) line by line, each line after `pad`, at
 * most max_lines of them ("..." says more were cut). */
void gr_indent(FILE *f, const char *text, const char *pad, int max_lines);

/* The words for an exercise's state in reports ("built", "missing file",
 * "compile error", ...). */
const char *gr_ex_state_text(enum gr_ex_state st);

/* Writes the grading in a format to f. */
void gr_report(FILE *f, const gr_grading_t *g, enum gr_format fmt);

/* ---- A gradebook read back (gradebook.c, similarity.c, summary.c) ----- */

/* Opens a gradebook that batch writes (batch.c): to write (made if need
 * be) when `write` is 1, only to read when 0. A file that is not one, an
 * SQLite file of something else included, is refused with a message and
 * left as it was. NULL on failure. */
struct sqlite3 *gr_book_open(const char *path, int write);

/* Exercise records for gradings rebuilt from reports: shared by every
 * report graded with the same tests, freed with the pool. */
typedef struct gr_expool gr_expool_t;
gr_expool_t *gr_expool_new(void);
void gr_expool_free(gr_expool_t *p);

/* Rebuilds a grading from the JSON report gr_report wrote (GR_FMT_JSON):
 * its exercises, tests, points, states and messages, so that gr_report
 * can write it again in any format. Exercise records come from `pool`;
 * files, titles and visibility are borrowed from `wb` where it knows the
 * exercise. strings[0] and [1] receive the submission and assignment
 * texts the grading points at: free them after gr_grading_free(g).
 * 0, or -1 if `text` is not such a report. */
int gr_grading_from_json(const char *text, const gr_workbook_t *wb,
                         gr_expool_t *pool, gr_grading_t *g, char *strings[2]);

/* Who a submission folder belongs to: Moodle's "Ann Lee_123456_
 * assignsubmission_file_" gives id "123456" and person "Ann Lee"; any
 * other name is both. Both malloc'ed. */
void gr_student_parse(const char *folder, char **id, char **person);

typedef struct gr_student {
  char *name;         /* ro: the submission folder's name, the gradebook's key */
  char *id, *person;  /* ro: gr_student_parse(name) */
  char *state;        /* ro: "graded" or "could not grade" */
  int graded;         /* ro: state is "graded": its score is a score */
  double score, max;  /* ro */
  char *graded_at;    /* ro: "2026-12-01T22:00:00Z" */
  int has_report;     /* ro: g holds its report; 0 when none was kept */
  gr_grading_t g;     /* ro */
  char *gstrings[2];  /* owned by g's rebuild */
  char *folder;       /* rw: its files now (gr_class_locate), or NULL */
} gr_student_t;

typedef struct gr_class {
  const char *db;     /* the gradebook's path */
  int n;
  gr_student_t *s;    /* sorted by name */
  int sets;           /* how many sets of tests and points graded them */
  gr_expool_t *pool;
} gr_class_t;

/* Reads every submission of a gradebook with its report rebuilt. 0, or -1
 * with a message (no gradebook there, not a gradebook). */
int gr_class_load(const gr_workbook_t *wb, const char *db, gr_class_t *c);
void gr_class_free(gr_class_t *c);
/* A student by folder name, or by LMS id or person's name when only one
 * student has it; NULL if none. */
gr_student_t *gr_class_find(gr_class_t *c, const char *who);
/* Up to three names close to `who`, quoted, comma-separated ("" if none
 * is close); malloc'ed. */
char *gr_class_closest(const gr_class_t *c, const char *who);
/* One feedback file per student in dir (made if need be): a short header
 * (who, score, when) and the text report. How many were written, or -1
 * with a message. */
int gr_feedback_write(const gr_class_t *c, const char *dir);
/* What became of one exercise of a student, in an LMS column's words:
 * "graded", "missing file", "unusable file", "compile error" (a link error
 * included), "could not grade"; "" when the report has no such exercise. */
const char *gr_student_ex_state(const gr_student_t *s, const char *ex_id);

/* Finds each student's submission folder as it is now: under class_dir
 * (by name) when given, else where the report says batch found it, as is
 * or next to the gradebook. Returns how many were found. */
int gr_class_locate(gr_class_t *c, const char *class_dir);

/* A pair of submissions whose own code is nearly the same. */
typedef struct gr_similar {
  int a, b;                 /* students (indexes into the class), a < b */
  int exercise;             /* order of the exercise in the comparison */
  const gr_exercise_t *ex;  /* the workbook's exercise */
  double share;             /* percent of the two texts matched, 0-100 */
} gr_similar_t;

/* Compares, exercise by exercise, the learner files of every located
 * submission with sim_c (Debian's similarity-tester), the stub's lines
 * left out, and returns the pairs matched at min_share percent or more,
 * most similar first (*out malloc'ed). -1 when sim_c is not installed
 * (the message names the package). Takes seconds for hundreds of
 * submissions: sim_c compares every pair. */
int gr_similarity(const gr_workbook_t *wb, gr_class_t *c, double min_share,
                  gr_similar_t **out);
/* The students flagged with `student`, for a CSV cell: "ben (02-basic-
 * patterns/01-async-sleep, 97%); ...", the five most similar then "and N
 * more", or "" (malloc'ed). */
char *gr_similar_to(const gr_class_t *c, const gr_similar_t *sim, int n, int student);

/* ---- Commands --------------------------------------------------------- */

/* What `grade` and `batch` share on their command lines (instructor.c). */
typedef struct gr_args {
  const char *dir, *out, *hidden, *visibility, *assignment, *db;
  enum gr_format fmt;
  gr_options_t opt;
  int shard, nshards; /* --shard I/N: I in 1..N; nshards 0 when not given */
} gr_args_t;
enum { GR_ARG_OUT = 1, GR_ARG_FORMAT = 2, GR_ARG_DB = 4, GR_ARG_SHARD = 8 };

/* Parses the options `allowed` (GR_ARG_*) plus the common ones (-j,
 * --timeout, --sanitize, --no-cache, --hidden, --hidden-visibility,
 * --assignment) and one DIR; prints `usage` and returns 2 on a mistake. */
int gr_args_parse(int argc, char **argv, int allowed, const char *usage,
                  gr_args_t *a);
/* Applies --hidden and --assignment to the workbook. 0 or 2. */
int gr_args_apply(gr_workbook_t *wb, const gr_args_t *a);

/* A fingerprint of a submission's learner files (grade.c): what they are
 * called and what they hold, exercise by exercise. */
unsigned long long gr_submission_hash(const gr_workbook_t *wb, const char *dir);
/* A fingerprint of all that grades depend on besides the submission: the
 * tests, their points and visibility, the contracts (headers), the test
 * runtime, the options. */
unsigned long long gr_tests_hash(const gr_workbook_t *wb, const gr_options_t *o);


int gr_cmd_list(gr_workbook_t *wb, int argc, char **argv);
int gr_cmd_check(gr_workbook_t *wb, int argc, char **argv);
int gr_cmd_watch(gr_workbook_t *wb, int argc, char **argv);
int gr_cmd_hint(gr_workbook_t *wb, int argc, char **argv);
int gr_cmd_reset(gr_workbook_t *wb, int argc, char **argv);
int gr_cmd_grade(gr_workbook_t *wb, int argc, char **argv);
int gr_cmd_verify(gr_workbook_t *wb, int argc, char **argv);
int gr_cmd_ship_impl(gr_workbook_t *wb, int argc, char **argv); /* catch.c */
int gr_cmd_batch(gr_workbook_t *wb, int argc, char **argv);
int gr_cmd_export(gr_workbook_t *wb, int argc, char **argv);
int gr_cmd_merge(gr_workbook_t *wb, int argc, char **argv);
int gr_cmd_examples(gr_workbook_t *wb, int argc, char **argv);
int gr_cmd_report(gr_workbook_t *wb, int argc, char **argv);
int gr_cmd_summary(gr_workbook_t *wb, int argc, char **argv);
int gr_cmd_timeline(gr_workbook_t *wb, int argc, char **argv);
int gr_cmd_pictures(gr_workbook_t *wb, int argc, char **argv);

/* ---- Timelines (timeline.c) --------------------------------------------- */

/* How a trace is drawn. */
typedef struct gr_tl_opts {
  const char *title;  /* NULL: the command the trace recorded */
  const char *recipe; /* kept in the picture (verify reruns it), or NULL */
  double span_ms;     /* the axis's length; 0: as long as the trace */
  double block_ms;    /* callbacks longer than this are red; 0: 50 */
} gr_tl_opts_t;

/* Names the callbacks of a trace (Chrome's trace event format, as
 * lib/wb_trace.c writes it: its {cb:0x...} markers are resolved with
 * addr2line against `bin`, or the binary the trace names), writes it as
 * BASE.json and draws it as BASE.svg. 0, or -1 with a sentence in err. */
int gr_timeline_files(const char *trace, size_t len, const char *bin,
                      const gr_tl_opts_t *o, const char *base, char *err,
                      size_t errlen);

/* Cuts the trace a test wrote on its output (between lib/wb_trace.h's
 * marker lines) out of `out`: its JSON (malloc'ed), or NULL when there is
 * none. *cut is set when the output limit cut it short. */
char *gr_timeline_take(gr_buf_t *out, int *cut);

/* check --timeline: each test's trace is drawn under `dir` (NULL: none,
 * the default); set before grading (grade.c). A test's picture is
 * DIR/EXERCISE-ID/TEST.svg, next to TEST.json. */
void gr_grade_timeline(const char *dir);

/* verify: every picture a lesson names exists, and its program, run again,
 * still draws it (same rows, same kinds of bars). */
void gr_pictures_verify(gr_workbook_t *wb);

#endif /* GR_H */
