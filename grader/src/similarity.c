/* similarity.c - flags, per exercise, pairs of submissions that are
 * identical or nearly so, for an instructor to look at: Debian's
 * similarity-tester (sim_c) compares the learners' files once the lines of
 * the exercise's own stub are taken out. A flag is a hint, never a score.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- Where each submission's files are now ----------------------------- */

int gr_class_locate(gr_class_t *c, const char *class_dir) {
  /* The report names the folder as batch was given it: relative to where
   * batch ran, which may be here or the gradebook's folder. --class DIR
   * (class_dir) says where the folders are when they moved. */
  char dbdir[PATH_MAX];
  snprintf(dbdir, sizeof dbdir, "%s", c->db);
  char *slash = strrchr(dbdir, '/');
  if (slash)
    *slash = 0;
  else
    snprintf(dbdir, sizeof dbdir, ".");
  int found = 0;
  for (int i = 0; i < c->n; i++) {
    gr_student_t *s = &c->s[i];
    const char *stored = s->has_report ? s->g.submission : "";
    char path[3][PATH_MAX];
    snprintf(path[0], PATH_MAX, "%s/%s", class_dir ? class_dir : "", s->name);
    snprintf(path[1], PATH_MAX, "%s", stored);
    snprintf(path[2], PATH_MAX, "%s/%s", dbdir, stored);
    int tries[3] = {class_dir != NULL, *stored != 0, *stored && stored[0] != '/'};
    free(s->folder);
    s->folder = NULL;
    for (int k = 0; k < 3 && !s->folder; k++)
      if (tries[k] && gr_is_dir(path[k]))
        s->folder = gr_xstrdup(path[k]);
    found += s->folder != NULL;
  }
  return found;
}

/* ---- Running sim_c ------------------------------------------------------- */

/* Whether a program is on PATH. */
static int on_path(const char *prog) {
  const char *path = getenv("PATH");
  char *copy = gr_xstrdup(path && *path ? path : "/usr/bin:/bin");
  int found = 0;
  for (char *save, *d = strtok_r(copy, ":", &save); d && !found;
       d = strtok_r(NULL, ":", &save)) {
    char *p = gr_xasprintf("%s/%s", d, prog);
    found = access(p, X_OK) == 0;
    free(p);
  }
  free(copy);
  return found;
}

/* The lines of a stub, trimmed, to leave out of every submission's text:
 * what all learners were given is not what two of them share. */
typedef struct lines {
  int n;
  char **line;
} lines_t;

static char *trimmed(const char *s, size_t len) {
  while (len && (*s == ' ' || *s == '\t'))
    s++, len--;
  while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
    len--;
  return strndup(s, len);
}

static void stub_lines(const char *text, lines_t *l) {
  for (const char *s = text, *eol; s && *s; s = eol ? eol + 1 : NULL) {
    eol = strchr(s, '\n');
    char *t = trimmed(s, eol ? (size_t)(eol - s) : strlen(s));
    if (!t || !*t || l->n >= 4096) {
      free(t);
      continue;
    }
    char **more = realloc(l->line, sizeof *more * (size_t)(l->n + 1));
    if (!more) {
      free(t);
      break;
    }
    l->line = more;
    l->line[l->n++] = t;
  }
}

static int in_stub(const lines_t *l, const char *t) {
  for (int i = 0; i < l->n; i++)
    if (!strcmp(l->line[i], t))
      return 1;
  return 0;
}

/* Appends text to out with every line that is also a stub line made
 * empty: line numbers stay, sim_c sees only the learner's own code. */
static void without_stub(gr_buf_t *out, const char *text, const lines_t *stub) {
  for (const char *s = text, *eol; s && *s; s = eol ? eol + 1 : NULL) {
    eol = strchr(s, '\n');
    size_t len = eol ? (size_t)(eol - s) : strlen(s);
    char *t = trimmed(s, len);
    if (t && !in_stub(stub, t))
      gr_buf_add(out, s, len);
    gr_buf_add(out, "\n", 1);
    free(t);
  }
}

/* One exercise's comparison: its files, then sim_c's answer. */
struct job {
  const gr_exercise_t *ex;
  char dir[PATH_MAX];  /* the texts compared: <student index>.c */
  int nfiles;
  unsigned long long *hash; /* of each student's text, 0 when none */
  int pid;
  int status;
};

/* Writes the texts of one exercise (each submission's learner files, stub
 * lines left out) into job->dir. Returns how many submissions have some. */
static int write_texts(const gr_workbook_t *wb, gr_class_t *c, struct job *j) {
  lines_t stub = {0};
  const gr_exercise_t *ex = j->ex;
  for (int f = 0; f < ex->nfiles; f++) {
    /* A handout keeps the starting files in .stubs/; the workbook's own
     * exercises/ folder holds them otherwise. */
    gr_buf_t b = {0};
    char *p = gr_xasprintf("%s/.stubs/%s/%s", wb->root, ex->id, ex->files[f]);
    if (gr_read_file(p, 1 << 20, &b) < 0) {
      gr_buf_free(&b);
      free(p);
      p = gr_xasprintf("%s/%s", ex->dir, ex->files[f]);
      gr_read_file(p, 1 << 20, &b);
    }
    stub_lines(b.data, &stub);
    gr_buf_free(&b);
    free(p);
  }
  int n = 0;
  for (int i = 0; i < c->n; i++) {
    if (!c->s[i].folder)
      continue;
    gr_buf_t text = {0};
    for (int f = 0; f < ex->nfiles; f++) {
      char at[PATH_MAX];
      gr_buf_t b = {0};
      if (gr_upload_locate(c->s[i].folder, ex, ex->files[f], at, NULL) >= 0 &&
          gr_read_file(at, 1 << 20, &b) == 0)
        without_stub(&text, b.data, &stub);
      gr_buf_free(&b);
    }
    if (text.len) {
      j->hash[i] = gr_hash(GR_HASH_INIT, text.data, text.len) | 1;
      char *p = gr_xasprintf("%s/%d.c", j->dir, i);
      if (gr_write_file(p, text.data, text.len) == 0)
        n++;
      free(p);
    }
    gr_buf_free(&text);
  }
  for (int i = 0; i < stub.n; i++)
    free(stub.line[i]);
  free(stub.line);
  return n;
}

/* sim_c compares each text with each other (-e), both ways (-a), in
 * percentages (-p), names read from a list (-i), answer into a file (-o). */
static int start_sim(struct job *j) {
  char *list = gr_xasprintf("%s/list", j->dir);
  char *out = gr_xasprintf("%s/sim.out", j->dir);
  int pid = fork();
  if (pid == 0) {
    int in = open(list, O_RDONLY);
    int devnull = open("/dev/null", O_WRONLY);
    if (in < 0 || devnull < 0 || dup2(in, 0) < 0 || dup2(devnull, 1) < 0 ||
        chdir(j->dir) < 0)
      _exit(127);
    execlp("sim_c", "sim_c", "-p", "-e", "-a", "-s", "-i", "-o", out, (char *)NULL);
    _exit(127);
  }
  free(list);
  free(out);
  return pid;
}

static int by_share(const void *x, const void *y) {
  const gr_similar_t *a = x, *b = y;
  if (a->share != b->share)
    return a->share < b->share ? 1 : -1;
  if (a->exercise != b->exercise)
    return a->exercise - b->exercise;
  return a->a != b->a ? a->a - b->a : a->b - b->b;
}

/* Reads sim_c's answer: "File 3.c: 495 tokens, 99 lines" for each text,
 * then "3.c consists for 97 % of 7.c material" for each pair and way. The
 * share of a pair is how much of the two texts together is matched. */
static void read_answer(struct job *j, int exercise, int nstudents,
                        double min_share, gr_similar_t **out, int *nout, int *cap) {
  gr_buf_t b = {0};
  char *path = gr_xasprintf("%s/sim.out", j->dir);
  int rc = gr_read_file(path, 64 << 20, &b);
  free(path);
  if (rc < 0) {
    gr_buf_free(&b);
    return;
  }
  /* pct[x * n + y]: how much of x is y's material, 0-100. n * n bytes: a
   * class of 2000 takes 4 MB, and every lookup is direct. */
  size_t n = (size_t)nstudents;
  int *tokens = gr_xmalloc(sizeof *tokens * n);
  unsigned char *pct = gr_xmalloc(n * n);
  for (char *s = b.data, *eol; s && *s; s = eol ? eol + 1 : NULL) {
    eol = strchr(s, '\n');
    if (eol)
      *eol = 0;
    int x, y, p, tok;
    if (sscanf(s, "File %d.c: %d tokens", &x, &tok) == 2 && x >= 0 && x < nstudents)
      tokens[x] = tok;
    else if (sscanf(s, "%d.c consists for %d %% of %d.c material", &x, &p, &y) == 3 &&
             x >= 0 && y >= 0 && x < nstudents && y < nstudents && p >= 0 && p <= 100)
      pct[(size_t)x * n + (size_t)y] = (unsigned char)p;
  }
  for (size_t x = 0; x < n; x++)
    for (size_t y = x + 1; y < n; y++) {
      double pa = pct[x * n + y], pb = pct[y * n + x], ta = tokens[x], tb = tokens[y];
      if ((pa == 0 && pb == 0) || ta + tb <= 0)
        continue;
      /* Runs shorter than sim_c's minimum (24 tokens) between stub lines
       * go unmatched, so identical texts can score 98%: they are 100. */
      double share = j->hash[x] == j->hash[y] ? 100 : (pa * ta + pb * tb) / (ta + tb);
      if (share + 1e-9 < min_share)
        continue;
      if (*nout == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        gr_similar_t *more = gr_xmalloc(sizeof *more * (size_t)*cap);
        if (*nout)
          memcpy(more, *out, sizeof *more * (size_t)*nout);
        free(*out);
        *out = more;
      }
      (*out)[(*nout)++] = (gr_similar_t){.a = (int)x, .b = (int)y, .exercise = exercise,
                                         .ex = j->ex, .share = share};
    }
  free(pct);
  free(tokens);
  gr_buf_free(&b);
}

int gr_similarity(const gr_workbook_t *wb, gr_class_t *c, double min_share,
                  gr_similar_t **out) {
  *out = NULL;
  if (!on_path("sim_c")) {
    fprintf(stderr, "grader: similarity flags need sim_c, from Debian's "
                    "similarity-tester package: sudo apt-get install "
                    "similarity-tester. Carrying on without them.\n");
    return -1;
  }
  /* The exercises the reports hold, in their order. */
  const gr_exercise_t *exs[256];
  int nex = 0;
  for (int i = 0; i < c->n; i++)
    for (int e = 0; e < c->s[i].g.nex; e++) {
      const char *id = c->s[i].g.ex[e].ex->id;
      int seen = 0;
      for (int k = 0; k < nex && !seen; k++)
        seen = !strcmp(exs[k]->id, id);
      for (int k = 0; !seen && k < wb->nex && nex < 256; k++)
        if (!strcmp(wb->ex[k].id, id))
          exs[nex++] = &wb->ex[k], seen = 1;
    }
  const char *tmpdir = getenv("TMPDIR");
  char *tmpl = gr_xasprintf("%s/grader-similar.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  if (!mkdtemp(tmpl)) {
    fprintf(stderr, "grader: no scratch folder for the similarity check in %s (%s); "
                    "carrying on without flags\n", tmpl, strerror(errno));
    free(tmpl);
    return -1;
  }
  struct job *jobs = gr_xmalloc(sizeof *jobs * (size_t)(nex ? nex : 1));
  for (int e = 0; e < nex; e++) {
    jobs[e].ex = exs[e];
    jobs[e].hash = gr_xmalloc(sizeof *jobs[e].hash * (size_t)(c->n + 1));
    snprintf(jobs[e].dir, sizeof jobs[e].dir, "%s/%d", tmpl, e);
    gr_mkdirs(jobs[e].dir);
    jobs[e].nfiles = write_texts(wb, c, &jobs[e]);
    jobs[e].pid = -1;
  }
  /* One sim_c per exercise, as many at once as there are cores: each is
   * quadratic in the class's size and the exercises are independent. */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int running = 0, next = 0, reap = 0, failed = 0;
  while (next < nex || running > 0) {
    if (next < nex && running < (cores > 0 ? cores : 1)) {
      struct job *j = &jobs[next++];
      if (j->nfiles < 2)
        continue;
      gr_buf_t list = {0};
      for (int i = 0; i < c->n; i++) {
        char *p = gr_xasprintf("%s/%d.c", j->dir, i);
        if (gr_is_file(p))
          gr_buf_printf(&list, "%d.c\n", i);
        free(p);
      }
      char *lp = gr_xasprintf("%s/list", j->dir);
      gr_write_file(lp, list.data, list.len);
      free(lp);
      gr_buf_free(&list);
      if ((j->pid = start_sim(j)) > 0)
        running++;
      else
        failed++;
      continue;
    }
    /* The earliest started first, by its pid: only sim_c's own processes
     * are reaped, never another child of the grader. */
    while (reap < next && jobs[reap].pid <= 0)
      reap++;
    if (reap >= next)
      break;
    struct job *j = &jobs[reap++];
    int st = 0, rc;
    while ((rc = waitpid(j->pid, &st, 0)) < 0 && errno == EINTR)
      ;
    j->status = rc < 0 ? -1 : st;
    running--;
    failed += rc < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0;
  }
  int nout = 0, cap = 0;
  for (int e = 0; e < nex; e++)
    if (jobs[e].pid > 0 && jobs[e].status == 0)
      read_answer(&jobs[e], e, c->n, min_share, out, &nout, &cap);
  if (failed)
    fprintf(stderr, "grader: sim_c failed on %d exercise%s: those have no "
                    "similarity flags (run sim_c by hand on the files to see why)\n",
            failed, failed == 1 ? "" : "s");
  if (nout > 1)
    qsort(*out, (size_t)nout, sizeof **out, by_share);
  gr_rmtree(tmpl);
  free(tmpl);
  for (int e = 0; e < nex; e++)
    free(jobs[e].hash);
  free(jobs);
  return nout;
}

char *gr_similar_to(const gr_class_t *c, const gr_similar_t *sim, int n, int student) {
  /* The five most similar (sim is sorted so): a cell, not a list of the
   * 80 classmates who handed in the same reference solution. */
  gr_buf_t b = {0};
  gr_buf_add(&b, "", 0);
  int shown = 0, more = 0;
  for (int i = 0; i < n; i++) {
    int other = sim[i].a == student ? sim[i].b : sim[i].b == student ? sim[i].a : -1;
    if (other < 0)
      continue;
    if (shown++ < 5)
      gr_buf_printf(&b, "%s%s (%s, %.0f%%)", b.len ? "; " : "", c->s[other].name,
                    sim[i].ex->id, sim[i].share);
    else
      more++;
  }
  if (more)
    gr_buf_printf(&b, "; and %d more", more);
  return b.data;
}
