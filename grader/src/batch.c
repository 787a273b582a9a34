/* batch.c - a whole class: `batch DIR` grades every submission folder
 * under DIR, several at once on one engine, into an SQLite gradebook;
 * `export` writes the gradebook as CSV for an LMS; `merge` joins the
 * gradebooks of shards graded on other machines.
 *
 * The gradebook is the state: a submission counts as graded once its row
 * is committed (one transaction each, write-ahead log). A batch stopped in
 * any way, kill -9 included, is resumed by running the same command again:
 * rows whose files and tests are unchanged are kept, the rest is graded.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ev.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A student's line in the batch names at most this many missing files;
 * more are counted ("19 of 21 files missing"). */
#define MISSING_NAMED 3

static const char *const schema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS submissions("
    "  name TEXT PRIMARY KEY,"   /* the submission's folder name */
    "  content TEXT NOT NULL,"   /* fingerprint of its learner files */
    "  tests TEXT NOT NULL,"     /* fingerprint of the tests and points */
    "  state TEXT NOT NULL,"     /* 'graded' or 'could not grade' */
    "  score REAL NOT NULL, max REAL NOT NULL,"
    "  secs REAL, graded_at TEXT, isolation TEXT,"
    "  runs INTEGER NOT NULL DEFAULT 1," /* times graded into this book */
    "  report TEXT);"                    /* the grader's JSON report */
    "CREATE TABLE IF NOT EXISTS exercise_scores("
    "  name TEXT NOT NULL, exercise TEXT NOT NULL, position INTEGER,"
    "  score REAL NOT NULL, max REAL NOT NULL, state TEXT,"
    "  PRIMARY KEY(name, exercise));";

/* A gradebook to write (created if need be) or only to read. A file that
 * is not one, an SQLite file of something else included, is refused and
 * left untouched. */
enum { BOOK_READ, BOOK_WRITE };
static sqlite3 *open_book(const char *path, int mode) {
  sqlite3 *db = NULL;
  int flags = mode == BOOK_WRITE ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                 : SQLITE_OPEN_READONLY;
  char *err = NULL;
  if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
    fprintf(stderr, "grader: cannot open the gradebook %s: %s\n", path,
            db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return NULL;
  }
  sqlite3_busy_timeout(db, 30000);
  /* What is in it: nothing yet (a new gradebook), or our tables. */
  sqlite3_stmt *q = NULL;
  int tables = -1, ours = 0;
  if (sqlite3_prepare_v2(db, "SELECT COUNT(*), SUM(name IN ('submissions', "
                             "'exercise_scores')) FROM sqlite_master WHERE type = 'table'",
                         -1, &q, NULL) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW) {
    tables = sqlite3_column_int(q, 0);
    ours = sqlite3_column_int(q, 1);
  }
  const char *why = tables < 0 ? sqlite3_errmsg(db) : NULL;
  sqlite3_finalize(q);
  if (!why && ours != 2 && (tables > 0 || mode == BOOK_READ))
    why = tables > 0 ? "an SQLite file, but of something else" : "it is empty";
  if (!why && mode == BOOK_WRITE && sqlite3_exec(db, schema, NULL, NULL, &err) != SQLITE_OK)
    why = err;
  if (why) {
    fprintf(stderr, "grader: %s is not a gradebook this grader can use (%s); "
                    "it was left as it was\n", path, why);
    sqlite3_free(err);
    sqlite3_close(db);
    return NULL;
  }
  return db;
}

sqlite3 *gr_book_open(const char *path, int write) {
  return open_book(path, write ? BOOK_WRITE : BOOK_READ);
}

static void hex(unsigned long long h, char out[17]) {
  snprintf(out, 17, "%016llx", h);
}

/* ---- batch --------------------------------------------------------------- */

struct item {
  struct batch *b;
  char *name;
  char path[PATH_MAX];
  char content[17];
  gr_grading_t g;
};

struct batch {
  gr_workbook_t *wb;
  gr_args_t *a;
  sqlite3 *db;
  sqlite3_stmt *put_sub, *put_ex, *del_ex;
  struct item *items;
  int n, next, inflight, max_inflight, filling;
  int graded, failed, kept, regraded;
  double start, busy_secs;
  char tests[17];
  int tty;
  int stopping; /* the signal that asked us to stop, or 0 */
  ev_signal sigint, sigterm;
};

static void progress(struct batch *b) {
  if (!b->tty)
    return;
  int done = b->graded + b->failed;
  int todo = b->n - done;
  double el = gr_now() - b->start;
  char eta[64] = "";
  if (done > 0 && todo > 0) {
    double left = el / done * todo;
    if (left >= 90)
      snprintf(eta, sizeof eta, ", about %.0f min left", left / 60 + 0.5);
    else
      snprintf(eta, sizeof eta, ", about %.0f s left", left + 0.5);
  }
  fprintf(stderr, "\r\033[K  graded %d/%d, %d running%s%s", done, b->n,
          b->inflight, b->failed ? ", some could not be graded" : "", eta);
  fflush(stderr);
}

static void say(struct batch *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct batch *b, const char *fmt, ...) {
  va_list ap;
  if (b->tty)
    fprintf(stderr, "\r\033[K");
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fflush(stdout);
  progress(b);
}

/* One transaction per submission: committed means graded. */
static int record(struct batch *b, struct item *it, const char *state,
                  const char *report) {
  char when[32];
  time_t now = time(NULL);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  if (sqlite3_exec(b->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
    fprintf(stderr, "grader: could not write %s into the gradebook: %s\n",
            it->name, sqlite3_errmsg(b->db));
    return -1;
  }
  sqlite3_stmt *s = b->put_sub;
  sqlite3_reset(s);
  sqlite3_bind_text(s, 1, it->name, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, it->content, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, b->tests, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, state, -1, SQLITE_STATIC);
  sqlite3_bind_double(s, 5, it->g.score);
  sqlite3_bind_double(s, 6, it->g.max);
  sqlite3_bind_double(s, 7, it->g.secs);
  sqlite3_bind_text(s, 8, when, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 9, gr_isolation_text(it->g.isolation), -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 10, report, -1, SQLITE_STATIC);
  int ok = sqlite3_step(s) == SQLITE_DONE;
  sqlite3_reset(b->del_ex);
  sqlite3_bind_text(b->del_ex, 1, it->name, -1, SQLITE_STATIC);
  ok = ok && sqlite3_step(b->del_ex) == SQLITE_DONE;
  for (int i = 0; ok && i < it->g.nex; i++) {
    const gr_ex_result_t *e = &it->g.ex[i];
    sqlite3_stmt *x = b->put_ex;
    sqlite3_reset(x);
    sqlite3_bind_text(x, 1, it->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(x, 2, e->ex->id, -1, SQLITE_STATIC);
    sqlite3_bind_int(x, 3, i);
    sqlite3_bind_double(x, 4, e->score);
    sqlite3_bind_double(x, 5, e->max);
    sqlite3_bind_text(x, 6, gr_ex_incomplete(e)        ? "could not grade"
                            : e->state == GR_EX_BUILT ? "built"
                                                         : "not built",
                      -1, SQLITE_STATIC);
    ok = sqlite3_step(x) == SQLITE_DONE;
  }
  if (ok && sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
    return 0;
  fprintf(stderr, "grader: could not write %s into the gradebook: %s\n",
          it->name, sqlite3_errmsg(b->db));
  sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
  return -1;
}

static void fill(struct batch *b);

static void graded(gr_grading_t *g, void *data) {
  struct item *it = data;
  struct batch *b = it->b;
  if (b->stopping) {
    /* Its jobs were killed: what came back is not a grade. Not recorded,
     * so the next run grades it. */
    gr_grading_free(g);
    b->inflight--;
    return;
  }
  char *report = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&report, &len);
  if (f) {
    gr_report(f, g, GR_FMT_JSON);
    fclose(f);
  }
  int bad = gr_ex_incomplete_count(g) > 0;
  if (record(b, it, bad ? "could not grade" : "graded", report ? report : "") < 0)
    bad = 1;
  free(report);
  b->busy_secs += g->secs;
  if (bad) {
    b->failed++;
    say(b, "  %-32s could not grade (see `grader grade %s`)\n", it->name, it->path);
  } else {
    b->graded++;
    /* What an instructor should look at: files missing, found elsewhere,
     * or not compiling. Said even on a terminal. */
    gr_buf_t note = {0};
    int missing = 0;
    for (int i = 0; i < g->nex; i++)
      missing += g->ex[i].state == GR_EX_MISSING;
    for (int i = 0; i < g->nex; i++) {
      const gr_ex_result_t *e = &g->ex[i];
      const char *what = e->state == GR_EX_MISSING         ? "missing"
                         : e->state == GR_EX_COMPILE_ERROR ? "does not compile"
                         : e->state == GR_EX_BAD_FILE      ? "unusable"
                         : e->found_at                     ? "found elsewhere"
                                                           : NULL;
      /* Missing files are named when few; else counted, at the end. */
      if (what && (e->state != GR_EX_MISSING || missing <= MISSING_NAMED))
        gr_buf_printf(&note, "%s%s %s", note.len ? "; " : " (", e->ex->files[0], what);
    }
    if (missing > MISSING_NAMED)
      gr_buf_printf(&note, "%s%d of %d files missing", note.len ? "; " : " (", missing,
                    g->nex);
    if (!b->tty || note.len)
      say(b, "  %-32s %3s/%-3s (%.1f s)%s%s\n", it->name, GR_PTS(g->score), GR_PTS(g->max),
          g->secs, note.len ? note.data : "", note.len ? ")" : "");
    gr_buf_free(&note);
  }
  gr_grading_free(g);
  b->inflight--;
  progress(b);
  fill(b);
}

/* Starts submissions while there is room. Iterative: a submission whose
 * results all come from the cache finishes inside gr_grade_start. */
static void fill(struct batch *b) {
  if (b->filling || b->stopping)
    return;
  b->filling = 1;
  while (b->inflight < b->max_inflight && b->next < b->n) {
    struct item *it = &b->items[b->next++];
    b->inflight++;
    if (gr_grade_start(b->wb, it->path, NULL, 0, &b->a->opt, &it->g, graded, it) < 0) {
      b->inflight--;
      b->failed++;
      memset(&it->g, 0, sizeof it->g);
      record(b, it, "could not grade", "");
      say(b, "  %-32s could not grade: the grader could not start on it\n", it->name);
    }
  }
  b->filling = 0;
}

/* Ctrl-C or a polite kill: stop at once, keep what is committed. */
static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents) {
  struct batch *b = w->data;
  (void)loop, (void)revents;
  if (!b->stopping) {
    b->stopping = w->signum;
    gr_engine_cancel();
  }
}

static int by_name(const void *x, const void *y) {
  return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The submission folders under dir, sorted by name; hidden ones skipped. */
static int list_submissions(const char *dir, char ***out) {
  DIR *d = opendir(dir);
  if (!d)
    return -1;
  int n = 0, cap = 64;
  char **names = gr_xmalloc(sizeof *names * (size_t)cap);
  for (struct dirent *e; (e = readdir(d));) {
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (e->d_name[0] == '.' || !gr_is_dir(path))
      continue;
    if (n == cap) {
      char **more = gr_xmalloc(sizeof *more * (size_t)(cap *= 2));
      memcpy(more, names, sizeof *names * (size_t)n);
      free(names);
      names = more;
    }
    names[n++] = gr_xstrdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, by_name);
  *out = names;
  return n;
}

int gr_cmd_batch(gr_workbook_t *wb, int argc, char **argv) {
  gr_args_t a;
  int rc = gr_args_parse(argc, argv, GR_ARG_DB | GR_ARG_SHARD,
                         "grader batch DIR [-j N] [--db FILE] [--shard I/N] "
                         "[--hidden DIR [--hidden-visibility V]] [--assignment FILE] [--no-sanitize] "
                         "[--no-cache] [--timeout S]",
                         &a);
  if (rc || (rc = gr_args_apply(wb, &a)))
    return rc;
  if (!a.db)
    a.db = "gradebook.db";
  char **names;
  int all = list_submissions(a.dir, &names);
  if (all < 0) {
    fprintf(stderr, "grader: %s is not a folder of submissions\n", a.dir);
    return 2;
  }
  if (all == 0) {
    fprintf(stderr, "grader: no submission folders in %s: batch grades one folder "
                    "per learner (CLASS/alice/, CLASS/bob/...). For one "
                    "submission, use grader grade %s\n", a.dir, a.dir);
    free(names);
    return 2;
  }
  /* One batch at a time per gradebook: two would grade the same
   * submissions twice. The lock goes with the process, however it ends. */
  char lockpath[PATH_MAX + 8];
  snprintf(lockpath, sizeof lockpath, "%s.lock", a.db);
  int lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) {
    fprintf(stderr, "grader: cannot make the gradebook's lock %s: %s\n", lockpath,
            strerror(errno));
    return 2;
  }
  if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
    fprintf(stderr, "grader: another batch is writing to %s (%s is locked): "
                    "wait for it, or give this one its own --db\n",
            a.db, lockpath);
    return 2;
  }
  struct batch b = {.wb = wb, .a = &a, .tty = isatty(2)};
  int rc_stop = 0;
  if (!(b.db = open_book(a.db, BOOK_WRITE)))
    return 70;
  sqlite3_prepare_v2(b.db,
      "INSERT INTO submissions(name, content, tests, state, score, max, secs,"
      " graded_at, isolation, report) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"
      " ON CONFLICT(name) DO UPDATE SET content=?2, tests=?3, state=?4,"
      " score=?5, max=?6, secs=?7, graded_at=?8, isolation=?9, report=?10,"
      " runs=runs+1", -1, &b.put_sub, NULL);
  sqlite3_prepare_v2(b.db, "DELETE FROM exercise_scores WHERE name=?1", -1,
                     &b.del_ex, NULL);
  sqlite3_prepare_v2(b.db, "INSERT INTO exercise_scores(name, exercise, "
                     "position, score, max, state) VALUES(?1,?2,?3,?4,?5,?6)",
                     -1, &b.put_ex, NULL);
  sqlite3_stmt *get = NULL;
  sqlite3_prepare_v2(b.db, "SELECT content, tests, state FROM submissions "
                     "WHERE name=?1", -1, &get, NULL);
  hex(gr_tests_hash(wb, &a.opt), b.tests);

  /* What this run must grade: this shard's submissions, minus those the
   * gradebook already holds for the same files and tests. */
  b.items = gr_xmalloc(sizeof *b.items * (size_t)(all + 1));
  int in_shard = 0;
  for (int i = 0; i < all; i++) {
    if (a.nshards > 1 &&
        (int)(gr_hash(GR_HASH_INIT, names[i], strlen(names[i])) %
              (unsigned)a.nshards) != a.shard - 1)
      continue;
    in_shard++;
    struct item *it = &b.items[b.n];
    memset(it, 0, sizeof *it);
    it->b = &b;
    it->name = names[i];
    snprintf(it->path, sizeof it->path, "%s/%s", a.dir, names[i]);
    hex(gr_submission_hash(wb, it->path), it->content);
    sqlite3_reset(get);
    sqlite3_bind_text(get, 1, names[i], -1, SQLITE_STATIC);
    if (sqlite3_step(get) == SQLITE_ROW) {
      const char *c = (const char *)sqlite3_column_text(get, 0);
      const char *t = (const char *)sqlite3_column_text(get, 1);
      const char *st = (const char *)sqlite3_column_text(get, 2);
      if (c && t && st && !strcmp(c, it->content) && !strcmp(t, b.tests) &&
          !strcmp(st, "graded")) {
        b.kept++;
        continue;
      }
      b.regraded += st && !strcmp(st, "graded");
    }
    b.n++;
  }
  sqlite3_finalize(get);
  printf("Batch: %d submission%s in %s", in_shard, in_shard == 1 ? "" : "s", a.dir);
  if (a.nshards > 1)
    printf(" (shard %d/%d; %d in all)", a.shard, a.nshards, all);
  printf(", gradebook %s\n", a.db);
  if (b.kept)
    printf("  %d already graded in the gradebook (same files, same tests): kept\n", b.kept);
  if (b.regraded)
    printf("  %d graded before, but their files or the tests changed: graded again\n",
           b.regraded);
  if (wb->assignment[0])
    printf("  assignment: %s\n", wb->assignment);

  b.start = gr_now();
  gr_engine_init(a.opt.jobs);
  /* One more submission than job slots keeps every slot busy while a
   * submission waits between its compile, link and test steps. */
  b.max_inflight = a.opt.jobs + 1;
  struct ev_loop *loop = gr_engine_loop();
  ev_signal_init(&b.sigint, stop_cb, SIGINT);
  ev_signal_init(&b.sigterm, stop_cb, SIGTERM);
  b.sigint.data = b.sigterm.data = &b;
  ev_signal_start(loop, &b.sigint);
  ev_signal_start(loop, &b.sigterm);
  ev_unref(loop); /* the signal watchers alone do not keep a run going */
  ev_unref(loop);
  while (b.next < b.n && !b.stopping) {
    fill(&b);
    gr_engine_run();
  }
  ev_ref(loop);
  ev_ref(loop);
  ev_signal_stop(loop, &b.sigint);
  ev_signal_stop(loop, &b.sigterm);
  if (b.tty)
    fprintf(stderr, "\r\033[K");
  if (b.stopping) {
    printf("Stopped (%s) after %d graded now, %d kept: they are in the "
           "gradebook. Run the same command again to grade the other %d.\n",
           b.stopping == SIGINT ? "interrupted" : "terminated", b.graded,
           b.kept, b.n - b.graded - b.failed);
    rc_stop = 128 + b.stopping;
  }
  double secs = gr_now() - b.start;
  if (!b.stopping)
    printf("Done: %d graded now, %d kept, %d could not be graded, in %.1f s "
           "(%.2f s per submission, %d at a time)\n",
           b.graded, b.kept, b.failed, secs, b.n ? secs / b.n : 0.0, a.opt.jobs);
  if (b.failed && !b.stopping)
    printf("Run the same command again to retry those that could not be "
           "graded; nothing graded is graded twice.\n");
  printf("Export: build/grader export --db %s --out grades.csv\n", a.db);
  sqlite3_finalize(b.put_sub);
  sqlite3_finalize(b.put_ex);
  sqlite3_finalize(b.del_ex);
  sqlite3_close(b.db);
  close(lock); /* the file stays: removing it would let two batches lock two files */
  for (int i = 0; i < all; i++)
    free(names[i]);
  free(names);
  free(b.items);
  return rc_stop ? rc_stop : b.failed ? 70 : 0;
}

/* ---- export ---------------------------------------------------------------- */

/* One CSV field (RFC 4180). A leading = + - @ tab or carriage return is
 * defused so that a spreadsheet never runs a submission's name as a
 * formula. */
/* How many different sets of tests (and points) graded the submissions of
 * `db`; with_src: of its main gradebook and the attached "src" together. */
static int test_sets(sqlite3 *db, int with_src) {
  sqlite3_stmt *q;
  int kinds = 0;
  const char *sql = with_src
      ? "SELECT tests FROM main.submissions UNION SELECT tests FROM src.submissions"
      : "SELECT DISTINCT tests FROM submissions";
  if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
    return -1;
  while (sqlite3_step(q) == SQLITE_ROW)
    kinds++;
  sqlite3_finalize(q);
  return kinds;
}

static void csv(FILE *f, const char *s, int last) {
  s = s ? s : "";
  int quote = strpbrk(s, ",\"\r\n") != NULL;
  int defuse = s[0] && strchr("=+-@\t\r", s[0]);
  if (quote || defuse)
    fputc('"', f);
  if (defuse)
    fputc('\'', f);
  for (; *s; s++) {
    if (*s == '"')
      fputc('"', f);
    fputc(*s, f);
  }
  if (quote || defuse)
    fputc('"', f);
  fputc(last ? '\n' : ',', f);
}

int gr_cmd_export(gr_workbook_t *wb, int argc, char **argv) {
  const char *dbpath = "gradebook.db", *out = NULL, *feedback = NULL, *class_dir = NULL;
  int force = 0, similarity = 0;
  double min_share = 90;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--db") && i + 1 < argc)
      dbpath = argv[++i];
    else if (!strcmp(argv[i], "--out") && i + 1 < argc)
      out = argv[++i];
    else if (!strcmp(argv[i], "--feedback") && i + 1 < argc)
      feedback = argv[++i];
    else if (!strcmp(argv[i], "--class") && i + 1 < argc)
      class_dir = argv[++i];
    else if (!strcmp(argv[i], "--min-share") && i + 1 < argc &&
             (min_share = atof(argv[++i])) >= 1 && min_share <= 100)
      similarity = 1;
    else if (!strcmp(argv[i], "--force"))
      force = 1;
    else if (!strcmp(argv[i], "--similarity"))
      similarity = 1;
    else if (strcmp(argv[i], "--csv") != 0) {
      fprintf(stderr, "usage: grader export [--db FILE] [--csv] [--out FILE] [--force]\n"
                      "         [--feedback DIR] [--similarity [--min-share PERCENT] [--class DIR]]\n"
                      "  --feedback DIR: one feedback file per student (the CSV too with --out)\n"
                      "  --similarity: a similar_to column (sim_c; --min-share 1..100, default 90)\n");
      return 2;
    }
  }
  if (!gr_is_file(dbpath)) {
    fprintf(stderr, "grader: no gradebook at %s (grader batch DIR --db %s makes one)\n",
            dbpath, dbpath);
    return 2;
  }
  sqlite3 *db = open_book(dbpath, BOOK_READ);
  if (!db)
    return 70;
  /* Scores out of different maxima side by side would mislead silently. */
  int sets = test_sets(db, 0);
  if (sets > 1 && !force) {
    fprintf(stderr, "grader: %s holds grades made with %d different sets of "
                    "tests or points (shards run with different options, "
                    "assignments or hidden tests?): their scores are not "
                    "comparable. Grade them again with the same options, or "
                    "export anyway with --force.\n", dbpath, sets);
    sqlite3_close(db);
    return 2;
  }
  if (sets > 1)
    fprintf(stderr, "grader: WARNING: %d different sets of tests in %s: compare "
                    "each row's percent, not its score.\n", sets, dbpath);
  /* The reports rebuilt: each exercise's state, feedback, similarity. */
  gr_class_t cls;
  if (gr_class_load(wb, dbpath, &cls) < 0) {
    sqlite3_close(db);
    return 70;
  }
  gr_similar_t *sim = NULL;
  int nsim = 0;
  if (similarity) {
    int located = gr_class_locate(&cls, class_dir);
    if (located < cls.n)
      fprintf(stderr, "grader: %d of %d submission folders not found: they are not "
                      "compared. Give --class DIR, the folder batch graded.\n",
              cls.n - located, cls.n);
    if ((nsim = gr_similarity(wb, &cls, min_share, &sim)) < 0)
      similarity = 0, nsim = 0;
  }
  if (feedback) {
    int n = gr_feedback_write(&cls, feedback);
    if (n >= 0)
      fprintf(stderr, "%d feedback file%s written to %s\n", n, n == 1 ? "" : "s", feedback);
    if (n < 0 || !out) {
      gr_class_free(&cls);
      sqlite3_close(db);
      free(sim);
      return n < 0 ? 70 : 0;
    }
  }
  /* One column per exercise, in the order the assignment gave them. */
  sqlite3_stmt *q;
  char *exs[256];
  int nex = 0;
  sqlite3_prepare_v2(db, "SELECT exercise FROM exercise_scores GROUP BY exercise "
                     "ORDER BY MIN(position), exercise", -1, &q, NULL);
  while (sqlite3_step(q) == SQLITE_ROW && nex < 256)
    exs[nex++] = gr_xstrdup((const char *)sqlite3_column_text(q, 0));
  sqlite3_finalize(q);
  FILE *f = out ? fopen(out, "w") : stdout;
  if (!f) {
    perror(out);
    sqlite3_close(db);
    gr_class_free(&cls);
    free(sim);
    return 70;
  }
  const char *head[] = {"submission", "score", "max", "percent", "state"};
  for (int i = 0; i < 5; i++)
    csv(f, head[i], 0);
  for (int i = 0; i < nex; i++) {
    char *st = gr_xasprintf("%s state", exs[i]);
    csv(f, exs[i], 0);
    csv(f, st, 0);
    free(st);
  }
  csv(f, "graded_at", 0);
  csv(f, "student_id", 0);
  csv(f, "student_name", !similarity);
  if (similarity)
    csv(f, "similar_to", 1);
  sqlite3_prepare_v2(db, "SELECT name, score, max, state, graded_at FROM "
                     "submissions ORDER BY name", -1, &q, NULL);
  sqlite3_stmt *e;
  sqlite3_prepare_v2(db, "SELECT score FROM exercise_scores WHERE name=?1 AND "
                     "exercise=?2", -1, &e, NULL);
  int rows = 0;
  while (sqlite3_step(q) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(q, 0);
    double score = sqlite3_column_double(q, 1), max = sqlite3_column_double(q, 2);
    const char *state = (const char *)sqlite3_column_text(q, 3);
    int ok = state && !strcmp(state, "graded");
    gr_student_t *who = gr_class_find(&cls, name);
    char num[32];
    csv(f, name, 0);
    gr_pts(score, num);
    csv(f, ok ? num : "", 0);
    gr_pts(max, num);
    csv(f, num, 0);
    snprintf(num, sizeof num, "%.1f", max > 0 ? 100.0 * score / max : 0.0);
    csv(f, ok ? num : "", 0);
    csv(f, state, 0);
    for (int i = 0; i < nex; i++) {
      sqlite3_reset(e);
      sqlite3_bind_text(e, 1, name, -1, SQLITE_STATIC);
      sqlite3_bind_text(e, 2, exs[i], -1, SQLITE_STATIC);
      num[0] = 0;
      if (ok && sqlite3_step(e) == SQLITE_ROW)
        gr_pts(sqlite3_column_double(e, 0), num);
      csv(f, num, 0);
      csv(f, who ? gr_student_ex_state(who, exs[i]) : "", 0);
    }
    csv(f, (const char *)sqlite3_column_text(q, 4), 0);
    csv(f, who ? who->id : name, 0);
    csv(f, who ? who->person : name, !similarity);
    if (similarity) {
      char *to = who ? gr_similar_to(&cls, sim, nsim, (int)(who - cls.s)) : NULL;
      csv(f, to, 1);
      free(to);
    }
    rows++;
  }
  sqlite3_finalize(q);
  sqlite3_finalize(e);
  sqlite3_close(db);
  gr_class_free(&cls);
  free(sim);
  for (int i = 0; i < nex; i++)
    free(exs[i]);
  if (out) {
    fclose(f);
    fprintf(stderr, "%d submission%s written to %s\n", rows, rows == 1 ? "" : "s", out);
  }
  return 0;
}

/* ---- merge ------------------------------------------------------------------ */

int gr_cmd_merge(gr_workbook_t *wb, int argc, char **argv) {
  const char *into = NULL;
  (void)wb;
  int first = 0, force = 0;
  for (; first < argc && argv[first][0] == '-'; first++) {
    if (!strcmp(argv[first], "--db") && first + 1 < argc)
      into = argv[++first];
    else if (!strcmp(argv[first], "--force"))
      force = 1;
    else
      break;
  }
  if (!into || first >= argc || argv[first][0] == '-') {
    fprintf(stderr, "usage: grader merge --db INTO.db [--force] SHARD.db...\n"
                    "  joins the gradebooks of shards (batch --shard I/N) into one;\n"
                    "  --force joins shards graded with different tests too\n");
    return 2;
  }
  sqlite3 *db = open_book(into, BOOK_WRITE);
  if (!db)
    return 70;
  int rc = 0;
  for (int i = first; i < argc; i++) {
    struct stat a_st, b_st;
    if (!gr_is_file(argv[i]) || stat(argv[i], &b_st) < 0) {
      fprintf(stderr, "grader: %s: no such gradebook\n", argv[i]);
      rc = 2;
      continue;
    }
    if (stat(into, &a_st) == 0 && a_st.st_dev == b_st.st_dev && a_st.st_ino == b_st.st_ino) {
      printf("  %s: the gradebook merged into, skipped\n", argv[i]);
      continue;
    }
    sqlite3 *src = open_book(argv[i], BOOK_READ); /* checks it is a gradebook */
    if (!src) {
      rc = 2;
      continue;
    }
    sqlite3_close(src);
    char *attach = sqlite3_mprintf("ATTACH %Q AS src", argv[i]);
    char *err = NULL;
    int taken = -1;
    sqlite3_stmt *count = NULL;
    int ok = sqlite3_exec(db, attach, NULL, NULL, &err) == SQLITE_OK;
    if (ok && !force && test_sets(db, 1) > 1) {
      fprintf(stderr, "grader: %s was graded with other tests or points than "
                      "%s holds (another assignment, hidden tests or options?): "
                      "not merged. Grade every shard with the same command, or "
                      "merge anyway with --force.\n", argv[i], into);
      sqlite3_free(attach);
      sqlite3_exec(db, "DETACH src", NULL, NULL, NULL);
      rc = 2;
      continue;
    }
    ok = ok &&
        sqlite3_exec(db,
            "BEGIN IMMEDIATE;"
            /* a row wins if it is new here, newer, or graded where ours is not */
            "CREATE TEMP TABLE pick AS SELECT s.name FROM src.submissions s"
            "  LEFT JOIN main.submissions m ON m.name = s.name"
            "  WHERE m.name IS NULL OR (s.state = 'graded' AND"
            "   (m.state != 'graded' OR s.graded_at > m.graded_at));"
            "DELETE FROM main.exercise_scores WHERE name IN (SELECT name FROM pick);"
            "INSERT OR REPLACE INTO main.submissions SELECT * FROM src.submissions"
            "  WHERE name IN (SELECT name FROM pick);"
            "INSERT INTO main.exercise_scores SELECT * FROM src.exercise_scores"
            "  WHERE name IN (SELECT name FROM pick);",
            NULL, NULL, &err) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM pick", -1, &count, NULL) == SQLITE_OK &&
        sqlite3_step(count) == SQLITE_ROW && (taken = sqlite3_column_int(count, 0)) >= 0;
    sqlite3_finalize(count);
    if (ok && sqlite3_exec(db, "COMMIT", NULL, NULL, &err) == SQLITE_OK) {
      printf("  %s: %d submission%s taken\n", argv[i], taken, taken == 1 ? "" : "s");
    } else {
      fprintf(stderr, "grader: could not merge %s: %s\n", argv[i],
              err ? err : sqlite3_errmsg(db));
      sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
      rc = 70;
    }
    sqlite3_free(err);
    sqlite3_free(attach);
    sqlite3_exec(db, "DROP TABLE IF EXISTS temp.pick; DETACH src;", NULL, NULL, NULL);
  }
  /* Shards graded with different tests do not belong in one gradebook. */
  sqlite3_stmt *q;
  int kinds = test_sets(db, 0);
  if (kinds > 1)
    fprintf(stderr, "grader: WARNING: %s now holds grades made with %d different "
                    "sets of tests or points: were all shards run with the same "
                    "options and assignment?\n", into, kinds);
  sqlite3_prepare_v2(db, "SELECT COUNT(*), SUM(state = 'graded') FROM submissions",
                     -1, &q, NULL);
  if (sqlite3_step(q) == SQLITE_ROW)
    printf("%s: %d submissions, %d graded\n", into, sqlite3_column_int(q, 0),
           sqlite3_column_int(q, 1));
  sqlite3_finalize(q);
  sqlite3_close(db);
  return rc;
}
