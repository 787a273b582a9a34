/* timeline.c - the loop's timeline as a picture. Reads a trace in Chrome's
 * trace event format (what lib/wb_trace.c writes), names its callbacks with
 * addr2line, and draws a self-contained SVG: one row per loop, task or
 * watcher, waits light, callbacks solid, callbacks that blocked the loop
 * red, a millisecond axis and a legend. No script, no external file.
 * Also `grader timeline`, `grader pictures`, and verify's look at the
 * lessons' pictures.
 */
#define _GNU_SOURCE
#include "gr.h"
#include "wb_trace.h" /* the marker lines around a test's trace */

#include <jansson.h>

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BLOCK_MS_DEFAULT 50.0

/* ---- Naming callbacks ------------------------------------------------------ */

/* A test's trace names callbacks by their offset in the test program,
 * "{cb:0x1a2b}" for the function and "{at:0x1a2b}" for its file:line: the
 * test cannot run addr2line in its sandbox, the grader can. */
struct marker {
  unsigned long off;
  char fn[128];
  char at[256];
};

struct markers {
  struct marker *m;
  int n, cap;
};

static struct marker *marker_find(struct markers *ms, unsigned long off) {
  for (int i = 0; i < ms->n; i++)
    if (ms->m[i].off == off)
      return &ms->m[i];
  return NULL;
}

/* Calls f for every "{cb:0x...}" or "{at:0x...}" in s: its start, its
 * length, its kind ('c' or 'a') and offset. */
static void markers_each(const char *s, void (*f)(const char *at, size_t len, char kind,
                                                  unsigned long off, void *data),
                         void *data) {
  for (const char *p = s; (p = strchr(p, '{'));) {
    if ((!strncmp(p, "{cb:0x", 6) || !strncmp(p, "{at:0x", 6))) {
      char *end;
      unsigned long off = strtoul(p + 6, &end, 16);
      if (*end == '}' && end > p + 6) {
        f(p, (size_t)(end + 1 - p), p[1] == 'c' ? 'c' : 'a', off, data);
        p = end + 1;
        continue;
      }
    }
    p++;
  }
}

static void marker_note(const char *at, size_t len, char kind, unsigned long off,
                        void *data) {
  struct markers *ms = data;
  (void)at, (void)len, (void)kind;
  if (marker_find(ms, off) || ms->n == 4096)
    return;
  if (ms->n == ms->cap) {
    ms->cap = ms->cap ? 2 * ms->cap : 32;
    struct marker *m = gr_xmalloc(sizeof *m * (size_t)ms->cap);
    if (ms->n)
      memcpy(m, ms->m, sizeof *m * (size_t)ms->n);
    free(ms->m);
    ms->m = m;
  }
  struct marker *m = &ms->m[ms->n++];
  m->off = off;
  snprintf(m->fn, sizeof m->fn, "callback at 0x%lx", off);
  m->at[0] = 0;
}

/* Every string of the document, depth first. */
static void json_strings(json_t *j, void (*f)(json_t *s, void *data), void *data) {
  const char *key;
  json_t *v;
  size_t i;
  switch (json_typeof(j)) {
  case JSON_OBJECT:
    json_object_foreach(j, key, v) json_strings(v, f, data);
    break;
  case JSON_ARRAY:
    json_array_foreach(j, i, v) json_strings(v, f, data);
    break;
  case JSON_STRING:
    f(j, data);
    break;
  default:
    break;
  }
}

static void collect_cb(json_t *s, void *data) {
  markers_each(json_string_value(s), marker_note, data);
}

struct rewrite {
  struct markers *ms;
  gr_buf_t out;
  const char *from;
};

static void rewrite_one(const char *at, size_t len, char kind, unsigned long off,
                        void *data) {
  struct rewrite *r = data;
  const struct marker *m = marker_find(r->ms, off);
  gr_buf_add(&r->out, r->from, (size_t)(at - r->from));
  const char *with = !m ? "" : kind == 'c' ? m->fn : m->at;
  gr_buf_add(&r->out, with, strlen(with));
  r->from = at + len;
}

static void rewrite_cb(json_t *s, void *data) {
  struct rewrite r = {data, {0}, json_string_value(s)};
  if (!strstr(r.from, "{cb:0x") && !strstr(r.from, "{at:0x"))
    return;
  const char *text = r.from;
  markers_each(text, rewrite_one, &r);
  gr_buf_add(&r.out, r.from, strlen(r.from));
  json_string_set(s, r.out.data);
  gr_buf_free(&r.out);
}

/* Resolves the markers of a trace against `bin` with addr2line (a few
 * hundred addresses per run). Returns how many were named. */
static int trace_name_callbacks(json_t *root, const char *bin) {
  struct markers ms = {0};
  json_strings(root, collect_cb, &ms);
  int named = 0;
  for (int from = 0; bin && *bin && from < ms.n; from += 200) {
    int to = ms.n - from < 200 ? ms.n : from + 200;
    char *argv[210];
    char addrs[200][24];
    int a = 0;
    argv[a++] = "addr2line";
    argv[a++] = "-f";
    argv[a++] = "-s";
    argv[a++] = "-e";
    argv[a++] = (char *)bin;
    for (int i = from; i < to; i++) {
      snprintf(addrs[i - from], sizeof addrs[0], "0x%lx", ms.m[i].off);
      argv[a++] = addrs[i - from];
    }
    argv[a] = NULL;
    gr_buf_t out = {0};
    int st = gr_run_capture(argv, &out, 1 << 20);
    char *save = NULL, *line = st == 0 && out.data ? strtok_r(out.data, "\n", &save) : NULL;
    for (int i = from; i < to && line; i++) {
      char *loc = strtok_r(NULL, "\n", &save);
      if (strcmp(line, "??")) {
        snprintf(ms.m[i].fn, sizeof ms.m[i].fn, "%s", line);
        named++;
      }
      if (loc && strncmp(loc, "??", 2)) {
        loc[strcspn(loc, " ")] = 0; /* " (discriminator 2)" */
        snprintf(ms.m[i].at, sizeof ms.m[i].at, "%s", loc);
      }
      line = strtok_r(NULL, "\n", &save);
    }
    gr_buf_free(&out);
  }
  if (ms.n)
    json_strings(root, rewrite_cb, &ms);
  free(ms.m);
  return named;
}

/* ---- The picture's model: rows of bars -------------------------------------- */

enum { K_POLL, K_WAIT, K_BUSY, K_RUN, K_CALL, K_MARK, K_NKINDS };

struct bar {
  double t0, t1; /* milliseconds */
  int kind, blocked, open;
  const char *text; /* a mark's text, as shown (borrowed from the JSON) */
  char *label;      /* what a wait waited for, written on it if it fits */
  char *tip;        /* what hovering says */
  long call;        /* marks and callbacks: the call they are, or were in */
};

struct row {
  char key[160];
  char label[160];
  char sub[256];
  int is_loop;
  long sort;
  double first;
  struct bar *b;
  int nb, cap;
};

struct model {
  struct row *rows;
  int nrows, cap;
  double end_ms, block_ms;
  double recorded_ms; /* the trace's own length (end_ms may be the span asked for) */
  long callbacks, dropped;
  double longest_ms;
  int longest_open; /* the longest was still running when the trace ended */
  char longest[256];
  char title[512];
};

static struct row *row_get(struct model *m, const char *key) {
  for (int i = 0; i < m->nrows; i++)
    if (!strcmp(m->rows[i].key, key))
      return &m->rows[i];
  if (m->nrows == m->cap) {
    m->cap = m->cap ? 2 * m->cap : 16;
    struct row *r = gr_xmalloc(sizeof *r * (size_t)m->cap);
    if (m->nrows)
      memcpy(r, m->rows, sizeof *r * (size_t)m->nrows);
    free(m->rows);
    m->rows = r;
  }
  struct row *r = &m->rows[m->nrows++];
  memset(r, 0, sizeof *r);
  snprintf(r->key, sizeof r->key, "%s", key);
  r->first = INFINITY;
  r->sort = LONG_MAX;
  return r;
}

static struct bar *bar_add(struct row *r) {
  if (r->nb == r->cap) {
    r->cap = r->cap ? 2 * r->cap : 8;
    struct bar *b = gr_xmalloc(sizeof *b * (size_t)r->cap);
    if (r->nb)
      memcpy(b, r->b, sizeof *b * (size_t)r->nb);
    free(r->b);
    r->b = b;
  }
  struct bar *b = &r->b[r->nb++];
  memset(b, 0, sizeof *b);
  return b;
}

static void model_free(struct model *m) {
  for (int i = 0; i < m->nrows; i++) {
    for (int k = 0; k < m->rows[i].nb; k++) {
      free(m->rows[i].b[k].tip);
      free(m->rows[i].b[k].label);
    }
    free(m->rows[i].b);
  }
  free(m->rows);
  memset(m, 0, sizeof *m);
}

/* The threads of the trace: their names and sort indexes. */
struct thread {
  long tid, sort;
  const char *name;
  int row; /* the row its events go to, once known; -1 before */
};

struct threads {
  struct thread *t;
  int n, cap;
};

static struct thread *thread_get(struct threads *ts, long tid) {
  for (int i = 0; i < ts->n; i++)
    if (ts->t[i].tid == tid)
      return &ts->t[i];
  if (ts->n == ts->cap) {
    ts->cap = ts->cap ? 2 * ts->cap : 32;
    struct thread *t = gr_xmalloc(sizeof *t * (size_t)ts->cap);
    if (ts->n)
      memcpy(t, ts->t, sizeof *t * (size_t)ts->n);
    free(ts->t);
    ts->t = t;
  }
  struct thread *t = &ts->t[ts->n++];
  *t = (struct thread){tid, LONG_MAX, NULL, -1};
  return t;
}

static const char *str_arg(json_t *args, const char *key) {
  return json_string_value(json_object_get(args, key));
}

/* Splits "Task 1 · task_resume · ev_timer 100 ms" for a row's two lines. */
static void split_name(const char *name, const char *task, char *label, size_t ll,
                       char *sub, size_t sl) {
  const char *rest = name;
  if (task && !strncmp(name, task, strlen(task)) && !strncmp(name + strlen(task), " · ", 4))
    rest = name + strlen(task) + 4;
  const char *dot = strstr(rest, " · ");
  if (task) {
    snprintf(label, ll, "%s", task);
    snprintf(sub, sl, "%s", rest == name && !strcmp(name, task) ? "" : rest);
  } else if (dot) {
    snprintf(label, ll, "%.*s", (int)(dot - rest), rest);
    snprintf(sub, sl, "%s", dot + 4);
  } else {
    snprintf(label, ll, "%s", rest);
    sub[0] = 0;
  }
}

/* A callback's call, for the marks made inside it. */
struct call {
  long seq, tid;
  double dur_ms;
  const char *name;
};

static int by_call(const void *a, const void *b) {
  const struct call *x = a, *y = b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int by_time(const void *a, const void *b) {
  const struct bar *x = a, *y = b;
  return x->t0 < y->t0 ? -1 : x->t0 > y->t0;
}

static int by_row_order(const void *a, const void *b) {
  const struct row *x = a, *y = b;
  if (x->is_loop != y->is_loop)
    return y->is_loop - x->is_loop;
  if (x->first != y->first)
    return x->first < y->first ? -1 : 1;
  return x->sort < y->sort ? -1 : x->sort > y->sort;
}

/* Reads the trace into rows of bars. 0, or -1 with err set. */
static int model_build(json_t *root, const gr_tl_opts_t *o, struct model *m,
                       char *err, size_t errlen) {
  memset(m, 0, sizeof *m);
  json_t *evs = json_is_array(root) ? root : json_object_get(root, "traceEvents");
  if (!json_is_array(evs)) {
    snprintf(err, errlen, "it has no \"traceEvents\" array: not a trace in "
                          "Chrome's trace event format");
    return -1;
  }
  json_t *other = json_object_get(root, "otherData");
  m->block_ms = o && o->block_ms > 0 ? o->block_ms : BLOCK_MS_DEFAULT;
  m->dropped = (long)json_integer_value(json_object_get(other, "events_dropped"));
  const char *cmd = str_arg(other, "command");
  const char *prog = str_arg(other, "program");
  snprintf(m->title, sizeof m->title, "%s",
           o && o->title ? o->title : cmd && *cmd ? cmd : prog ? prog : "trace");
  struct threads ts = {0};
  size_t i;
  json_t *e;
  /* Threads first: names and order. */
  json_array_foreach(evs, i, e) {
    const char *ph = str_arg(e, "ph");
    if (!ph || strcmp(ph, "M"))
      continue;
    const char *what = str_arg(e, "name");
    json_t *args = json_object_get(e, "args");
    struct thread *t = thread_get(&ts, (long)json_integer_value(json_object_get(e, "tid")));
    if (what && !strcmp(what, "thread_name"))
      t->name = str_arg(args, "name");
    else if (what && !strcmp(what, "thread_sort_index"))
      t->sort = (long)json_integer_value(json_object_get(args, "sort_index"));
  }
  /* How long each call lasted, and what it was, by its number (for the
   * tasks' marks). */
  size_t ncalls = 0;
  struct call *calls = gr_xmalloc(sizeof *calls * (json_array_size(evs) + 1));
  json_array_foreach(evs, i, e) {
    const char *cat = str_arg(e, "cat");
    json_t *call = json_object_get(json_object_get(e, "args"), "call");
    if (cat && !strcmp(cat, "callback") && json_is_integer(call)) {
      calls[ncalls].seq = (long)json_integer_value(call);
      calls[ncalls].dur_ms = json_number_value(json_object_get(e, "dur")) / 1e3;
      calls[ncalls].name = str_arg(e, "name");
      calls[ncalls].tid = (long)json_integer_value(json_object_get(e, "tid"));
      ncalls++;
    }
  }
  qsort(calls, ncalls, sizeof *calls, by_call);
  json_array_foreach(evs, i, e) {
    const char *ph = str_arg(e, "ph");
    if (!ph || (strcmp(ph, "X") && strcmp(ph, "i") && strcmp(ph, "I")))
      continue;
    const char *cat = str_arg(e, "cat");
    const char *name = str_arg(e, "name");
    json_t *args = json_object_get(e, "args");
    const char *task = str_arg(args, "task");
    long tid = (long)json_integer_value(json_object_get(e, "tid"));
    struct thread *t = thread_get(&ts, tid);
    double t0 = json_number_value(json_object_get(e, "ts")) / 1e3;
    double dur = json_number_value(json_object_get(e, "dur")) / 1e3;
    if (!cat)
      cat = ph[0] == 'X' ? "callback" : "mark";
    int loop = !strcmp(cat, "poll") || !strcmp(cat, "run");
    struct row *r = t->row >= 0 ? &m->rows[t->row] : NULL;
    if (!r) {
      char key[160];
      if (task)
        snprintf(key, sizeof key, "task:%s", task);
      else
        snprintf(key, sizeof key, "%s:%ld", loop ? "loop" : "tid", tid);
      r = row_get(m, key);
      t->row = (int)(r - m->rows);
      if (!r->label[0] || (task && !r->sub[0])) {
        char label[160], sub[256];
        split_name(t->name ? t->name : task ? task : "thread", task, label,
                   sizeof label, sub, sizeof sub);
        snprintf(r->label, sizeof r->label, "%s", label);
        if (sub[0])
          snprintf(r->sub, sizeof r->sub, "%s", sub);
      }
      r->is_loop = loop;
      if (t->sort < r->sort)
        r->sort = t->sort;
    }
    struct bar *b = bar_add(r);
    b->t0 = t0;
    b->t1 = ph[0] == 'X' ? t0 + dur : t0;
    b->open = json_is_true(json_object_get(args, "open"));
    b->call = (long)json_integer_value(json_object_get(args, "call"));
    const char *kind = str_arg(args, "kind");
    if (!strcmp(cat, "poll")) {
      b->kind = K_POLL;
      b->tip = gr_xasprintf("the loop polled (waited for events) for %.3f ms, from %.3f ms", dur, t0);
    } else if (!strcmp(cat, "run")) {
      b->kind = K_RUN;
      b->blocked = dur > m->block_ms;
      b->tip = gr_xasprintf("the loop ran callbacks for %.3f ms in one go, from %.3f ms%s",
                            dur, t0, b->blocked ? ": nothing else could run meanwhile" : "");
    } else if (!strcmp(cat, "wait")) {
      const char *ended = str_arg(args, "ended");
      const char *waits_for = str_arg(args, "waits_for");
      json_t *after = json_object_get(args, "after_ms");
      int stopped = ended && !strcmp(ended, "stopped");
      b->open = b->open || (ended && (!strcmp(ended, "still waiting") || !strncmp(ended, "loop destroyed", 14)));
      const char *how = stopped ? " (stopped)" : b->open ? " (still waiting)" : "";
      if (waits_for)
        b->label = gr_xasprintf("%s%s", waits_for, how);
      else if (json_is_number(after) && json_number_value(after) > 0)
        b->label = gr_xasprintf("%g ms%s", round(json_number_value(after) * 10) / 10, how);
      b->kind = K_WAIT;
      b->tip = gr_xasprintf("%s waited %.3f ms (from %.3f ms), then %s; its callback: %s",
                            kind ? kind : "a watcher", dur, t0, ended ? ended : "ended",
                            str_arg(args, "callback") ? str_arg(args, "callback") : "?");
    } else if (ph[0] == 'X') {
      const char *at = str_arg(args, "at");
      b->kind = K_CALL;
      b->blocked = dur > m->block_ms;
      m->callbacks++;
      if (dur > m->longest_ms) {
        m->longest_ms = dur;
        m->longest_open = b->open;
        snprintf(m->longest, sizeof m->longest, "%s%s%s%s", name ? name : "a callback",
                 at && *at ? " (" : "", at && *at ? at : "", at && *at ? ")" : "");
      }
      b->tip = gr_xasprintf("%s%s%s%s, %s callback: ran %.3f ms%s, from %.3f ms",
                            name ? name : "a callback", at && *at ? " at " : "",
                            at && *at ? at : "", "", kind ? kind : "a",
                            dur, b->open ? " and was still running" : "", t0);
    } else {
      b->kind = K_MARK;
      b->text = name ? name : "";
      if (task && !strncmp(b->text, task, strlen(task)) && !strncmp(b->text + strlen(task), ": ", 2))
        b->text += strlen(task) + 2; /* the row says whose it is */
      b->tip = gr_xasprintf("%s (at %.3f ms)", name ? name : "mark", t0);
    }
    if (t0 < r->first)
      r->first = t0;
    if (b->t1 > m->end_ms)
      m->end_ms = b->t1;
  }
  /* A task busy between two of its marks made in one call: it ran inside
   * that callback all along (red if the callback blocked the loop). */
  for (int k = 0; k < m->nrows; k++) {
    struct row *r = &m->rows[k];
    qsort(r->b, (size_t)r->nb, sizeof *r->b, by_time); /* for drawing, too */
    if (strncmp(r->key, "task:", 5))
      continue;
    int nb = r->nb;
    const struct bar *prev = NULL;
    for (int j = 0; j < nb; j++) {
      const struct bar *b = &r->b[j];
      if (b->kind != K_MARK)
        continue;
      if (prev && prev->call && prev->call == b->call && b->t0 > prev->t0) {
        struct call key = {b->call, 0, 0, NULL}, *hit;
        hit = bsearch(&key, calls, ncalls, sizeof *calls, by_call);
        if (hit && hit->name && !r->sub[0]) {
          /* A task with no watcher of its own ran inside someone's
           * callback: the row says whose. */
          const char *kind = NULL;
          struct thread *ct = thread_get(&ts, hit->tid);
          char l[160], sub[256];
          split_name(ct->name ? ct->name : "", NULL, l, sizeof l, sub, sizeof sub);
          kind = sub[0] ? sub : NULL;
          snprintf(r->sub, sizeof r->sub, "inside %s%s%s%s", hit->name, kind ? " (" : "",
                   kind ? kind : "", kind ? ")" : "");
        }
        double t0 = prev->t0, t1 = b->t0;
        struct bar *busy = bar_add(r);
        b = &r->b[j]; /* bar_add may have moved the array */
        prev = &r->b[j];
        busy->kind = K_BUSY;
        busy->t0 = t0;
        busy->t1 = t1;
        busy->blocked = hit && hit->dur_ms > m->block_ms;
        busy->tip = gr_xasprintf("%s ran for %.3f ms inside one callback%s", r->label,
                                 t1 - t0, busy->blocked ? ", which blocked the loop" : "");
        continue;
      }
      prev = b;
    }
  }
  free(calls);
  free(ts.t);
  qsort(m->rows, (size_t)m->nrows, sizeof *m->rows, by_row_order);
  /* Watchers alike (same callback, same kind) are told apart by number,
   * in the order they appear. */
  int *nth = gr_xmalloc(sizeof *nth * (size_t)(m->nrows + 1));
  for (int k = 0; k < m->nrows; k++) {
    int same = 0;
    nth[k] = 0;
    for (int j = 0; j < m->nrows; j++)
      if (!strcmp(m->rows[j].label, m->rows[k].label) && !strcmp(m->rows[j].sub, m->rows[k].sub) &&
          !m->rows[j].is_loop && strncmp(m->rows[j].key, "task:", 5)) {
        same++;
        nth[k] += j <= k;
      }
    if (same < 2)
      nth[k] = 0;
  }
  for (int k = 0; k < m->nrows; k++)
    if (nth[k] && strlen(m->rows[k].label) + 8 < sizeof m->rows[k].label)
      snprintf(m->rows[k].label + strlen(m->rows[k].label), 8, " #%d", nth[k]);
  free(nth);
  m->recorded_ms = m->end_ms;
  if (o && o->span_ms > 0)
    m->end_ms = o->span_ms;
  return 0;
}

/* ---- The signature: what verify compares ---------------------------------- */

static const char *kind_word(const struct bar *b) {
  switch (b->kind) {
  case K_POLL: return "poll";
  case K_WAIT: return b->open ? "wait-open" : "wait";
  case K_BUSY: return b->blocked ? "busy-blocked" : "busy";
  case K_RUN: return b->blocked ? "run-blocked" : "run";
  case K_CALL: return b->open ? "callback-open" : b->blocked ? "callback-blocked" : "callback";
  default: return "mark";
  }
}

/* [[label, [kinds...]], ...]: the rows in order, each with the kinds of
 * bars it has, sorted. Times are left out: they vary from run to run. */
static json_t *model_signature(const struct model *m) {
  json_t *rows = json_array();
  for (int i = 0; i < m->nrows; i++) {
    const struct row *r = &m->rows[i];
    const char *seen[16];
    int ns = 0;
    for (int k = 0; k < r->nb; k++) {
      const char *w = kind_word(&r->b[k]);
      int have = 0;
      for (int s = 0; s < ns; s++)
        have |= !strcmp(seen[s], w);
      if (!have && ns < 16)
        seen[ns++] = w;
    }
    for (int a = 0; a < ns; a++)
      for (int b = a + 1; b < ns; b++)
        if (strcmp(seen[a], seen[b]) > 0) {
          const char *t = seen[a];
          seen[a] = seen[b];
          seen[b] = t;
        }
    json_t *kinds = json_array();
    for (int s = 0; s < ns; s++)
      json_array_append_new(kinds, json_string(seen[s]));
    char label[512];
    snprintf(label, sizeof label, "%s%s%s", r->label, r->sub[0] ? " · " : "", r->sub);
    json_array_append_new(rows, json_pack("[s,o]", label, kinds));
  }
  return rows;
}

/* ---- Drawing ---------------------------------------------------------------------- */

#define SVG_W 960
#define LABEL_X 12
#define PLOT_X0 230
#define PLOT_X1 936
#define TOP 78
#define ROW_H 34
#define MAX_DRAWN_ROWS 80

#define C_WAIT "#b9d3ef"
#define C_CALL "#1f5fa8"
#define C_BLOCK "#d62728"
#define C_POLL "#d9d9d9"
#define C_RUN "#4d4d4d"
#define C_MARK "#e69f00"

static void xml_add(gr_buf_t *b, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': gr_buf_add(b, "&amp;", 5); break;
    case '<': gr_buf_add(b, "&lt;", 4); break;
    case '>': gr_buf_add(b, "&gt;", 4); break;
    case '"': gr_buf_add(b, "&quot;", 6); break;
    default:
      if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
        gr_buf_add(b, s, 1);
    }
  }
}

/* Width of a text in pixels, roughly (sans-serif: half an em a letter). */
static double text_w(const char *s, double size) {
  double n = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    n += (*p & 0xC0) != 0x80; /* UTF-8: count letters, not bytes */
  return n * size * 0.56;
}

/* `s` cut to fit `px` at font `size`, with "…" (UTF-8) when cut. */
static void fit(char *out, size_t len, const char *s, double px, double size) {
  snprintf(out, len, "%s", s);
  if (text_w(out, size) <= px)
    return;
  size_t n = strlen(out);
  while (n > 0 && text_w(out, size) + size * 0.6 > px) {
    do
      n--;
    while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80);
    out[n] = 0;
  }
  if (n > 0 && n + 4 < len)
    strcat(out, "…");
}

static double nice_step(double span) {
  double raw = span / 8, p = pow(10, floor(log10(raw)));
  static const double ms[] = {1, 2, 5, 10};
  for (int i = 0; i < 4; i++)
    if (ms[i] * p >= raw)
      return ms[i] * p;
  return 10 * p;
}

static void fmt_ms(char *buf, size_t len, double v) {
  if (fabs(v - round(v)) < 1e-9)
    snprintf(buf, len, "%.0f", v);
  else
    snprintf(buf, len, "%g", v);
}

/* Each kind's look: light bars are thin, solid ones fill the row. */
static void bar_style(const struct bar *b, const char **fill, double *h) {
  switch (b->kind) {
  case K_POLL: *fill = C_POLL, *h = 10; break;
  case K_WAIT: *fill = C_WAIT, *h = 10; break;
  case K_RUN: *fill = b->blocked ? C_BLOCK : C_RUN, *h = 16; break;
  default: *fill = b->blocked ? C_BLOCK : C_CALL, *h = 16;
  }
}

static void draw_row(gr_buf_t *s, const struct model *m, const struct row *r,
                     double y, double x_of_ms) {
  double mid = y + ROW_H / 2.0;
  char buf[512];
  gr_buf_printf(s, "<g data-row=\"");
  xml_add(s, r->label);
  gr_buf_printf(s, "\">\n");
  fit(buf, sizeof buf, r->label, PLOT_X0 - LABEL_X - 10, 12);
  gr_buf_printf(s, "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" fill=\"#222\"%s><title>",
                LABEL_X, r->sub[0] ? mid - 2 : mid + 4, r->is_loop ? " font-weight=\"bold\"" : "");
  xml_add(s, r->label);
  if (r->sub[0]) {
    xml_add(s, " · ");
    xml_add(s, r->sub);
  }
  gr_buf_printf(s, "</title>");
  xml_add(s, buf);
  gr_buf_printf(s, "</text>\n");
  if (r->sub[0]) {
    fit(buf, sizeof buf, r->sub, PLOT_X0 - LABEL_X - 10, 9.5);
    gr_buf_printf(s, "<text x=\"%d\" y=\"%.1f\" font-size=\"9.5\" fill=\"#666\">", LABEL_X, mid + 10);
    xml_add(s, buf);
    gr_buf_printf(s, "</text>\n");
  }
  /* Light bars under solid ones. A bar that overlaps the previous one of
   * its kind, or that is under two pixels wide and touches it, adds no
   * detail at this scale: it is merged into it (a trace of 100,000 timers
   * stays a picture of reasonable size). */
  static const int order[] = {K_POLL, K_WAIT, K_BUSY, K_RUN, K_CALL};
  for (size_t oi = 0; oi < sizeof order / sizeof order[0]; oi++) {
    double run_x0 = -1, run_x1 = -1, run_true_x1 = -1;
    int run_n = 0;
    const struct bar *run_b = NULL, *widest = NULL;
    double widest_x0 = 0, widest_x1 = 0;
    for (int k = 0; k <= r->nb; k++) {
      const struct bar *b = k < r->nb ? &r->b[k] : NULL;
      if (b && b->kind != order[oi])
        continue;
      double x0 = 0, x1 = 0, true_x1 = 0;
      if (b) {
        if (b->t0 > m->end_ms)
          continue;
        x0 = PLOT_X0 + b->t0 * x_of_ms;
        x1 = true_x1 = PLOT_X0 + (b->t1 < m->end_ms ? b->t1 : m->end_ms) * x_of_ms;
        double minw = b->kind == K_CALL || b->kind == K_RUN || b->kind == K_BUSY ? 2 : 1;
        if (x1 - x0 < minw)
          x1 = x0 + minw; /* drawn wider than it is, so that it shows */
        if (run_b && (x0 < run_true_x1 - 0.5 || (x0 <= run_x1 + 0.5 && x1 - x0 <= 2)) &&
            b->blocked == run_b->blocked && b->open == run_b->open && b->kind != K_BUSY) {
          if (x1 > run_x1)
            run_x1 = x1;
          if (true_x1 > run_true_x1)
            run_true_x1 = true_x1;
          if (x1 - x0 > widest_x1 - widest_x0)
            widest = b, widest_x0 = x0, widest_x1 = x1;
          run_n++;
          continue;
        }
      }
      if (run_b) {
        const char *fill;
        double h;
        bar_style(run_b, &fill, &h);
        gr_buf_printf(s, "<rect data-kind=\"%s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
                         "height=\"%.0f\" fill=\"%s\"%s><title>",
                      kind_word(run_b), run_x0, mid - h / 2, run_x1 - run_x0, h, fill,
                      run_b->open ? " stroke=\"#333\" stroke-dasharray=\"3,2\"" : "");
        if (run_n > 1)
          gr_buf_printf(s, "%d bars merged at this scale; the longest: ", run_n);
        xml_add(s, widest->tip ? widest->tip : "");
        gr_buf_printf(s, "</title></rect>\n");
        /* What the longest wait waited for, on it when it fits there. */
        if (widest->label && text_w(widest->label, 8) + 6 <= widest_x1 - widest_x0) {
          gr_buf_printf(s, "<text x=\"%.2f\" y=\"%.1f\" font-size=\"8\" fill=\"#1d3d66\" "
                           "text-anchor=\"middle\">",
                        (widest_x0 + widest_x1) / 2, mid + 3);
          xml_add(s, widest->label);
          gr_buf_printf(s, "</text>\n");
        }
      }
      run_b = widest = b;
      run_x0 = widest_x0 = x0;
      run_x1 = widest_x1 = x1;
      run_true_x1 = true_x1;
      run_n = 1;
    }
  }
  /* Marks on top, each labelled if its text fits before the next one. */
  for (int k = 0; k < r->nb; k++) {
    const struct bar *b = &r->b[k];
    if (b->kind != K_MARK || b->t0 > m->end_ms)
      continue;
    double x = PLOT_X0 + b->t0 * x_of_ms, next = PLOT_X1 + 20;
    for (int j = 0; j < r->nb; j++)
      if (r->b[j].kind == K_MARK && j != k && r->b[j].t0 >= b->t0 &&
          (r->b[j].t0 > b->t0 || j > k)) {
        double xj = PLOT_X0 + r->b[j].t0 * x_of_ms;
        if (xj < next)
          next = xj;
      }
    gr_buf_printf(s, "<path data-kind=\"mark\" d=\"M%.2f %.1f l4 4 l-4 4 l-4 -4 z\" "
                     "fill=\"%s\" stroke=\"#fff\" stroke-width=\"0.8\"><title>",
                  x, mid - 4, C_MARK);
    xml_add(s, b->tip ? b->tip : "");
    gr_buf_printf(s, "</title></path>\n");
    double room = next - x - 8;
    if (room > SVG_W - x - 4)
      room = SVG_W - x - 4;
    if (room >= 24) {
      fit(buf, sizeof buf, b->text, room, 9);
      gr_buf_printf(s, "<text x=\"%.2f\" y=\"%.1f\" font-size=\"9\" fill=\"#444\">", x + 5, mid - 7);
      xml_add(s, buf);
      gr_buf_printf(s, "</text>\n");
    }
  }
  gr_buf_printf(s, "</g>\n");
}

static void legend_item(gr_buf_t *s, double *x, double y, const char *fill, double h,
                        int dashed, int diamond, const char *text) {
  if (diamond)
    gr_buf_printf(s, "<path d=\"M%.1f %.1f l4 4 l-4 4 l-4 -4 z\" fill=\"%s\"/>\n", *x + 8,
                  y - 4, fill);
  else
    gr_buf_printf(s, "<rect x=\"%.1f\" y=\"%.1f\" width=\"16\" height=\"%.0f\" fill=\"%s\"%s/>\n",
                  *x, y - h / 2, h, fill,
                  dashed ? " stroke=\"#333\" stroke-dasharray=\"3,2\"" : "");
  gr_buf_printf(s, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#333\">", *x + 21, y + 4);
  xml_add(s, text);
  gr_buf_printf(s, "</text>\n");
  *x += 21 + text_w(text, 11) + 18;
}

/* The whole picture, into s. */
static void model_svg(const struct model *m, const gr_tl_opts_t *o, gr_buf_t *s) {
  int shown = m->nrows < MAX_DRAWN_ROWS ? m->nrows : MAX_DRAWN_ROWS;
  double end = m->end_ms > 0 ? m->end_ms : 1;
  double step = nice_step(end);
  /* A span asked for is the axis (pictures meant to be compared share
   * it); otherwise the axis ends at the next tick. */
  double axis_end = o && o->span_ms > 0 ? o->span_ms : ceil(end / step - 1e-9) * step;
  double x_of_ms = (PLOT_X1 - PLOT_X0) / axis_end;
  int rows_h = shown * ROW_H;
  int height = TOP + rows_h + 96 + (m->nrows > shown ? 16 : 0);
  char buf[1024];
  gr_buf_printf(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                   "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, "
                   "sans-serif\" role=\"img\">\n<title>",
                SVG_W, height, SVG_W, height);
  xml_add(s, "Timeline of ");
  xml_add(s, m->title);
  gr_buf_printf(s, "</title>\n");
  /* What verify compares, and the command that made the picture. */
  json_t *meta = json_pack("{s:i,s:s?,s:o}", "version", 1, "recipe", o ? o->recipe : NULL,
                           "rows", model_signature(m));
  char *mj = json_dumps(meta, JSON_COMPACT);
  gr_buf_printf(s, "<metadata id=\"wb-timeline\">");
  xml_add(s, mj ? mj : "{}");
  gr_buf_printf(s, "</metadata>\n");
  free(mj);
  json_decref(meta);
  gr_buf_printf(s, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
  gr_buf_printf(s, "<text x=\"%d\" y=\"24\" font-size=\"15\" font-weight=\"bold\" fill=\"#111\">",
                LABEL_X);
  fit(buf, sizeof buf, m->title, SVG_W - 2 * LABEL_X, 15);
  xml_add(s, buf);
  gr_buf_printf(s, "</text>\n<text x=\"%d\" y=\"42\" font-size=\"11\" fill=\"#444\">", LABEL_X);
  char endtxt[32];
  fmt_ms(endtxt, sizeof endtxt, round(m->recorded_ms * 10) / 10);
  if (m->longest_open)
    snprintf(buf, sizeof buf, "%s ms recorded, %ld callback%s. The loop was stuck: %s had "
                              "been running for %.0f ms and had not returned.",
             endtxt, m->callbacks, m->callbacks == 1 ? "" : "s", m->longest, m->longest_ms);
  else if (m->longest_ms > m->block_ms)
    snprintf(buf, sizeof buf, "%s ms recorded, %ld callback%s. The loop was blocked: "
                              "%s ran for %.0f ms in one go (over %.0f ms).",
             endtxt, m->callbacks, m->callbacks == 1 ? "" : "s", m->longest, m->longest_ms,
             m->block_ms);
  else if (m->callbacks == 0)
    snprintf(buf, sizeof buf, "%s ms recorded, and no callback ran.", endtxt);
  else
    snprintf(buf, sizeof buf, "%s ms recorded, %ld callback%s, the longest %.2f ms%s%s: "
                              "the loop was never blocked for over %.0f ms.",
             endtxt, m->callbacks, m->callbacks == 1 ? "" : "s", m->longest_ms,
             m->longest[0] ? ", " : "", m->longest, m->block_ms);
  char line[1024];
  fit(line, sizeof line, buf, SVG_W - 2 * LABEL_X, 11);
  xml_add(s, line);
  gr_buf_printf(s, "</text>\n");
  /* The axis: ticks in milliseconds, with grid lines through the rows. */
  gr_buf_printf(s, "<g data-axis=\"ms\" data-x0=\"%d\" data-px-per-ms=\"%.6f\">\n", PLOT_X0, x_of_ms);
  for (double t = 0; t <= axis_end + 1e-9; t += step) {
    double x = PLOT_X0 + t * x_of_ms;
    char v[32];
    fmt_ms(v, sizeof v, t);
    gr_buf_printf(s, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"#e3e3e3\"/>\n"
                     "<text x=\"%.2f\" y=\"%d\" font-size=\"10\" fill=\"#555\" "
                     "text-anchor=\"middle\">%s%s</text>\n",
                  x, TOP - 8, x, TOP + rows_h, x, TOP - 12, v,
                  t + step > axis_end + 1e-9 ? " ms" : "");
  }
  gr_buf_printf(s, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n</g>\n",
                PLOT_X0, TOP - 6, PLOT_X1, TOP - 6);
  for (int i = 0; i < shown; i++) {
    double y = TOP + i * ROW_H;
    if (i % 2)
      gr_buf_printf(s, "<rect x=\"0\" y=\"%.0f\" width=\"%d\" height=\"%d\" fill=\"#f6f7f9\"/>\n",
                    y, SVG_W, ROW_H);
  }
  for (int i = 0; i < shown; i++)
    draw_row(s, m, &m->rows[i], TOP + i * ROW_H, x_of_ms);
  double y = TOP + rows_h + 12;
  if (m->nrows > shown) {
    gr_buf_printf(s, "<text x=\"%d\" y=\"%.0f\" font-size=\"11\" fill=\"#444\">%d more rows "
                     "are not drawn; the JSON trace has them all.</text>\n",
                  LABEL_X, y + 4, m->nrows - shown);
    y += 16;
  }
  /* The legend. */
  double x = LABEL_X;
  y += 14;
  char blocked[96];
  snprintf(blocked, sizeof blocked, "callback over %.0f ms: the loop was blocked", m->block_ms);
  legend_item(s, &x, y, C_WAIT, 10, 0, 0, "a watcher waiting");
  legend_item(s, &x, y, C_CALL, 16, 0, 0, "its callback running");
  legend_item(s, &x, y, C_BLOCK, 16, 0, 0, blocked);
  legend_item(s, &x, y, C_MARK, 0, 0, 1, "a mark");
  x = LABEL_X;
  y += 24;
  legend_item(s, &x, y, C_POLL, 10, 0, 0, "loop polling");
  legend_item(s, &x, y, C_RUN, 16, 0, 0, "loop running callbacks");
  legend_item(s, &x, y, C_WAIT, 10, 1, 0, "still going when the recording ended");
  y += 22;
  if (m->dropped > 0)
    snprintf(buf, sizeof buf, "Times in milliseconds since the recording began. %ld earlier "
                              "events were dropped (the recorder keeps the latest).",
             m->dropped);
  else
    snprintf(buf, sizeof buf, "Times in milliseconds since the recording began; drawn by the "
                              "workbook (lib/wb_trace.c, grader timeline) from a real run.");
  gr_buf_printf(s, "<text x=\"%d\" y=\"%.0f\" font-size=\"10\" fill=\"#777\">", LABEL_X, y);
  xml_add(s, buf);
  gr_buf_printf(s, "</text>\n</svg>\n");
}

/* ---- Files ----------------------------------------------------------------- */

/* Draws a parsed trace: svg (and the JSON with its callbacks named) to the
 * given paths; the signature into *sig when asked. */
static int timeline_draw(json_t *root, const char *bin, const gr_tl_opts_t *o,
                         const char *svg_path, const char *json_path, json_t **sig,
                         char *err, size_t errlen) {
  if (!bin || !*bin)
    bin = str_arg(json_object_get(root, "otherData"), "binary");
  trace_name_callbacks(root, bin);
  struct model m;
  if (model_build(root, o, &m, err, errlen) < 0)
    return -1;
  int rc = 0;
  if (json_path && json_dump_file(root, json_path, JSON_COMPACT | JSON_REAL_PRECISION(12)) < 0) {
    snprintf(err, errlen, "could not write %s", json_path);
    rc = -1;
  }
  if (svg_path && rc == 0) {
    gr_buf_t svg = {0};
    model_svg(&m, o, &svg);
    if (gr_write_file(svg_path, svg.data, svg.len) < 0) {
      snprintf(err, errlen, "could not write %s", svg_path);
      rc = -1;
    }
    gr_buf_free(&svg);
  }
  if (sig)
    *sig = model_signature(&m);
  model_free(&m);
  return rc;
}

static json_t *trace_parse(const char *trace, size_t len, char *err, size_t errlen) {
  json_error_t je;
  json_t *root = json_loadb(trace, len, 0, &je);
  if (!root)
    snprintf(err, errlen, "it is not valid JSON (line %d: %s)", je.line, je.text);
  return root;
}

int gr_timeline_files(const char *trace, size_t len, const char *bin,
                      const gr_tl_opts_t *o, const char *base, char *err,
                      size_t errlen) {
  json_t *root = trace_parse(trace, len, err, errlen);
  if (!root)
    return -1;
  char svg[PATH_MAX + 8], json[PATH_MAX + 8];
  snprintf(svg, sizeof svg, "%s.svg", base);
  snprintf(json, sizeof json, "%s.json", base);
  int rc = timeline_draw(root, bin, o, svg, json, NULL, err, errlen);
  json_decref(root);
  return rc;
}

char *gr_timeline_take(gr_buf_t *out, int *cut) {
  *cut = 0;
  if (!out->data)
    return NULL;
  const char *begin = NULL;
  for (const char *p = out->data; (p = strstr(p, WB_TRACE_BEGIN "\n")); p++)
    if (p == out->data || p[-1] == '\n')
      begin = p; /* the last one */
  if (!begin)
    return NULL;
  const char *json = begin + strlen(WB_TRACE_BEGIN "\n");
  const char *end = strstr(json, "\n" WB_TRACE_END "\n");
  const char *after = end ? end + strlen("\n" WB_TRACE_END "\n") : out->data + out->len;
  if (!end) {
    *cut = 1;
    end = out->data + out->len;
  }
  char *trace = gr_xmalloc((size_t)(end - json) + 1);
  memcpy(trace, json, (size_t)(end - json));
  /* The line break the writer put before its first marker goes too. */
  char *from = (char *)begin;
  if (from > out->data && from[-1] == '\n')
    from--;
  size_t tail = (size_t)(out->data + out->len - after);
  memmove(from, after, tail + 1);
  out->len = (size_t)(from - out->data) + tail;
  return trace;
}

/* ---- grader timeline ---------------------------------------------------------- */

int gr_cmd_timeline(gr_workbook_t *wb, int argc, char **argv) {
  const char *in = NULL, *out = NULL, *json = NULL, *bin = NULL;
  gr_tl_opts_t o = {0};
  (void)wb;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "-o") && i + 1 < argc)
      out = argv[++i];
    else if (!strcmp(argv[i], "--json") && i + 1 < argc)
      json = argv[++i];
    else if (!strcmp(argv[i], "--title") && i + 1 < argc)
      o.title = argv[++i];
    else if (!strcmp(argv[i], "--binary") && i + 1 < argc)
      bin = argv[++i];
    else if (!strcmp(argv[i], "--span") && i + 1 < argc)
      o.span_ms = atof(argv[++i]);
    else if (!strcmp(argv[i], "--block") && i + 1 < argc)
      o.block_ms = atof(argv[++i]);
    else if (argv[i][0] != '-' && !in)
      in = argv[i];
    else
      in = NULL, argc = 0;
  }
  if (!in) {
    fprintf(stderr, "usage: grader timeline TRACE.json [-o PICTURE.svg] [--json NAMED.json] "
                    "[--title TEXT] [--span MS] [--block MS] [--binary PROGRAM]\n"
                    "Draws a trace that a chapter program wrote (PROGRAM --trace TRACE.json) "
                    "as an SVG picture; without -o, next to the trace (TRACE.svg).\n");
    return 2;
  }
  char svg[PATH_MAX];
  if (!out) {
    size_t n = strlen(in);
    snprintf(svg, sizeof svg, "%.*s.svg", (int)(n > 5 && !strcmp(in + n - 5, ".json") ? n - 5 : n), in);
    out = svg;
  }
  gr_buf_t text = {0};
  if (gr_read_file(in, 512u << 20, &text) < 0 || !text.data) {
    fprintf(stderr, "grader: cannot read %s: %s\n", in, strerror(errno));
    return 1;
  }
  char err[512];
  json_t *root = trace_parse(text.data, text.len, err, sizeof err);
  gr_buf_free(&text);
  json_t *sig = NULL;
  if (!root || timeline_draw(root, bin, &o, out, json, &sig, err, sizeof err) < 0) {
    fprintf(stderr, "grader: cannot draw %s: %s\n", in, err);
    json_decref(root);
    return 1;
  }
  printf("Drawn: %s (%zu rows)%s%s\n", out, json_array_size(sig), json ? "; named trace: " : "",
         json ? json : "");
  json_decref(sig);
  json_decref(root);
  return 0;
}

/* ---- The lessons' pictures -------------------------------------------------------- */

/* One "<!-- picture: PROGRAM [ARGS...] [--span MS] -->" line of a lesson,
 * and the image below it: ![words](img/NAME.svg). */
struct picture {
  char chapter[128]; /* "02-basic-patterns" */
  char recipe[256];  /* "fetch_data /delay/300 --span 320" */
  char program[128];
  char *args[8];
  int nargs;
  double span_ms;
  char image[PATH_MAX]; /* absolute path of the SVG */
  char shown[PATH_MAX]; /* "chapters/02-basic-patterns/img/fetch_data.svg" */
  int line;
};

static void picture_free(struct picture *p) {
  for (int i = 0; i < p->nargs; i++)
    free(p->args[i]);
  p->nargs = 0;
}

/* The pictures of one lesson; when `judge`, its problems are verdicts. */
static int lesson_pictures(const gr_workbook_t *wb, const char *readme, struct picture *ps,
                           int max, int judge) {
  gr_buf_t md = {0};
  if (gr_read_file(readme, 4 << 20, &md) < 0 || !md.data)
    return 0;
  char chapter[PATH_MAX];
  snprintf(chapter, sizeof chapter, "%s", readme + strlen(wb->root) + strlen("/chapters/"));
  *strchr(chapter, '/') = 0;
  int n = 0, line = 1;
  const char *pending = NULL; /* the directive waiting for its image */
  for (const char *s = md.data; *s; line++) {
    size_t ll = strcspn(s, "\n");
    char text[1024];
    snprintf(text, sizeof text, "%.*s", (int)(ll < sizeof text ? ll : sizeof text - 1), s);
    s += ll + (s[ll] == '\n');
    const char *img = strstr(text, "](img/");
    if (!strncmp(text, "<!-- picture: ", 14)) {
      pending = NULL;
      if (n == max)
        continue;
      struct picture *p = &ps[n];
      memset(p, 0, sizeof *p);
      char *end = strstr(text, " -->");
      if (end)
        *end = 0;
      snprintf(p->recipe, sizeof p->recipe, "%s", text + 14);
      snprintf(p->chapter, sizeof p->chapter, "%s", chapter);
      p->line = line;
      char copy[256], *save = NULL;
      snprintf(copy, sizeof copy, "%s", p->recipe);
      for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (!p->program[0])
          snprintf(p->program, sizeof p->program, "%s", w);
        else if (!strcmp(w, "--span") && (w = strtok_r(NULL, " ", &save)))
          p->span_ms = atof(w);
        else if (p->nargs < 8)
          p->args[p->nargs++] = gr_xstrdup(w);
      }
      pending = p->recipe;
    } else if (img && strstr(img, ".svg)")) {
      char rel[PATH_MAX];
      snprintf(rel, sizeof rel, "%.*s", (int)strcspn(img + 2, ")"), img + 2);
      if (!pending) {
        if (judge)
          gr_verdict(0, "chapters/%s/README.md:%d: the picture %s has no \"<!-- picture: "
                     "PROGRAM ARGS -->\" line above it saying which program draws it",
                  chapter, line, rel);
        continue;
      }
      struct picture *p = &ps[n++];
      snprintf(p->image, sizeof p->image, "%s/chapters/%s/%s", wb->root, chapter, rel);
      snprintf(p->shown, sizeof p->shown, "chapters/%s/%s", chapter, rel);
      pending = NULL;
    }
  }
  if (pending && judge)
    gr_verdict(0, "chapters/%s/README.md: \"<!-- picture: %s -->\" is not followed by an "
               "image ![...](img/NAME.svg)", chapter, pending);
  gr_buf_free(&md);
  return n;
}

static void picture_job_done(gr_job_t *job) { (void)job; }

/* Runs the picture's program with --trace into `trace`. 0, or -1 with err. */
static int picture_run(const gr_workbook_t *wb, const struct picture *p, const char *trace,
                       char *err, size_t errlen) {
  char bin[PATH_MAX + 256];
  snprintf(bin, sizeof bin, "%s/chapters/%s/%s", wb->build, p->chapter, p->program);
  if (!gr_is_file(bin)) {
    snprintf(err, errlen, "its program build/chapters/%s/%s is not built (run `make "
                          "examples`), or the picture line names a program that does not exist",
             p->chapter, p->program);
    return -1;
  }
  unlink(trace);
  gr_engine_init(1); /* alone: its times are what the picture shows */
  gr_job_t job = {0};
  int n = 0;
  job.argv[n++] = bin;
  for (int i = 0; i < p->nargs; i++)
    job.argv[n++] = p->args[i];
  job.argv[n++] = "--trace";
  job.argv[n++] = (char *)trace;
  job.argv[n] = NULL;
  job.env[0] = "PATH=/usr/bin:/bin";
  job.sb.trusted = 1;
  job.sb.timeout_s = 20;
  job.done = picture_job_done;
  gr_engine_submit(&job);
  gr_engine_run();
  int ok = !job.timed_out && WIFEXITED(job.status) && WEXITSTATUS(job.status) == 0 &&
           gr_is_file(trace);
  if (!ok)
    snprintf(err, errlen, "%s %s (exit status %d): %.300s", p->program,
             job.timed_out ? "did not finish within 20 s" : "failed",
             WIFEXITED(job.status) ? WEXITSTATUS(job.status) : -1,
             job.out.data ? job.out.data : "");
  gr_buf_free(&job.out);
  gr_buf_free(&job.result);
  return ok ? 0 : -1;
}

static int picture_draw(const gr_workbook_t *wb, const struct picture *p, const char *trace,
                        const char *svg, json_t **sig, char *err, size_t errlen) {
  gr_buf_t text = {0};
  char bin[PATH_MAX + 256];
  snprintf(bin, sizeof bin, "%s/chapters/%s/%s", wb->build, p->chapter, p->program);
  if (gr_read_file(trace, 256 << 20, &text) < 0 || !text.data) {
    snprintf(err, errlen, "its trace %s could not be read", trace);
    return -1;
  }
  json_t *root = trace_parse(text.data, text.len, err, errlen);
  gr_buf_free(&text);
  if (!root)
    return -1;
  char title[300];
  snprintf(title, sizeof title, "%s", p->recipe);
  char *span = strstr(title, " --span");
  if (span)
    *span = 0;
  gr_tl_opts_t o = {.title = title, .recipe = p->recipe, .span_ms = p->span_ms};
  int rc = timeline_draw(root, bin, &o, svg, NULL, sig, err, errlen);
  json_decref(root);
  return rc;
}

static void glob_lessons(const gr_workbook_t *wb, glob_t *gl) {
  char pattern[PATH_MAX];
  snprintf(pattern, sizeof pattern, "%s/chapters/%s*/README.md", wb->root, wb->only);
  if (glob(pattern, 0, NULL, gl) != 0)
    gl->gl_pathc = 0;
}


int gr_cmd_pictures(gr_workbook_t *wb, int argc, char **argv) {
  if (argc >= 1 && argc <= 2 && !strcmp(argv[0], "--check")) {
    /* What verify does with the pictures, alone; of one chapter ("02"). */
    if (argc == 2)
      snprintf(wb->only, sizeof wb->only, "%s", argv[1]);
    gr_pictures_verify(wb);
    printf("pictures: %d still drawn as they are, %d not\n", gr_verdicts(1), gr_verdicts(0));
    return gr_verdicts(0) > 0;
  }
  for (int a = 0; a < argc; a++)
    if (argv[a][0] == '-') {
      fprintf(stderr, "usage: grader pictures [CHAPTER...]   remake the lessons' pictures\n"
                      "       grader pictures --check [CHAPTER]  check that their programs still draw them\n");
      return 2;
    }
  glob_t gl;
  glob_lessons(wb, &gl);
  int made = 0, failed = 0;
  for (size_t i = 0; i < gl.gl_pathc; i++) {
    struct picture ps[32];
    int n = lesson_pictures(wb, gl.gl_pathv[i], ps, 32, 0);
    for (int k = 0; k < n; k++) {
      struct picture *p = &ps[k];
      int wanted = argc == 0;
      for (int a = 0; a < argc; a++)
        wanted |= strstr(p->chapter, argv[a]) != NULL || strstr(p->shown, argv[a]) != NULL;
      if (!wanted || !p->image[0]) {
        picture_free(p);
        continue;
      }
      char dir[PATH_MAX], trace[PATH_MAX * 2], err[1024];
      snprintf(dir, sizeof dir, "%s/pictures/%s", wb->build, p->chapter);
      gr_mkdirs(dir);
      const char *base = strrchr(p->image, '/') + 1;
      snprintf(trace, sizeof trace, "%s/%.*s.json", dir, (int)(strlen(base) - 4), base);
      char imgdir[PATH_MAX];
      snprintf(imgdir, sizeof imgdir, "%s", p->image);
      *strrchr(imgdir, '/') = 0;
      gr_mkdirs(imgdir);
      json_t *sig = NULL;
      if (picture_run(wb, p, trace, err, sizeof err) < 0 ||
          picture_draw(wb, p, trace, p->image, &sig, err, sizeof err) < 0) {
        fprintf(stderr, "grader: %s (chapters/%s/README.md:%d): %s\n", p->shown, p->chapter,
                p->line, err);
        failed++;
      } else {
        printf("  drew %s from `%s` (%zu rows; its trace: build/pictures/%s/%s)\n", p->shown,
               p->recipe, json_array_size(sig), p->chapter, strrchr(trace, '/') + 1);
        made++;
      }
      json_decref(sig);
      picture_free(p);
    }
  }
  globfree(&gl);
  printf("pictures: %d drawn, %d failed\n", made, failed);
  return failed > 0;
}

/* The rows of a picture as it was drawn: its <metadata>. */
static json_t *svg_signature(const char *path, char *recipe, size_t rlen) {
  gr_buf_t b = {0};
  if (gr_read_file(path, 64 << 20, &b) < 0 || !b.data)
    return NULL;
  const char *open = strstr(b.data, "<metadata id=\"wb-timeline\">");
  const char *close = open ? strstr(open, "</metadata>") : NULL;
  json_t *rows = NULL;
  if (close) {
    open += strlen("<metadata id=\"wb-timeline\">");
    gr_buf_t j = {0};
    for (const char *p = open; p < close;) {
      static const char *const ents[][2] = {{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"},
                                            {"&quot;", "\""}};
      size_t k = 0;
      while (k < 4 && strncmp(p, ents[k][0], strlen(ents[k][0])))
        k++;
      if (k < 4) {
        gr_buf_add(&j, ents[k][1], 1);
        p += strlen(ents[k][0]);
      } else {
        gr_buf_add(&j, p++, 1);
      }
    }
    json_t *meta = j.data ? json_loads(j.data, 0, NULL) : NULL;
    const char *r = str_arg(meta, "recipe");
    snprintf(recipe, rlen, "%s", r ? r : "");
    rows = json_incref(json_object_get(meta, "rows"));
    json_decref(meta);
    gr_buf_free(&j);
  }
  gr_buf_free(&b);
  return rows;
}

/* A row's label with its descriptor or pid numbers left out: those may
 * differ from one run to the next. */
static void label_norm(const char *in, char *out, size_t len) {
  size_t o = 0;
  for (const char *p = in; *p && o + 1 < len;) {
    if ((!strncmp(p, "fd ", 3) || !strncmp(p, "pid ", 4)) && isdigit((unsigned char)p[*p == 'f' ? 3 : 4])) {
      size_t k = *p == 'f' ? 3 : 4;
      for (size_t i = 0; i < k && o + 1 < len; i++)
        out[o++] = p[i];
      p += k;
      while (isdigit((unsigned char)*p))
        p++;
      if (o + 1 < len)
        out[o++] = 'N';
      continue;
    }
    out[o++] = *p++;
  }
  out[o] = 0;
}

/* The first difference between two signatures, in words; "" if none. */
static const char *row_label(json_t *row) {
  const char *l = json_string_value(json_array_get(row, 0));
  return l ? l : "";
}

/* Rows are matched by label, not by position: two rows whose first events
 * race (a worker's pipe and its exit, say) may swap places from one run to
 * the next, and the picture is still the program's. */
static void signature_diff(json_t *was, json_t *now, char *out, size_t len) {
  out[0] = 0;
  size_t nw = json_array_size(was), nn = json_array_size(now);
  char used[512] = {0};
  if (nn > sizeof used)
    nn = sizeof used;
  for (size_t i = 0; i < nw; i++) {
    json_t *a = json_array_get(was, i);
    char la[512] = "", lb[512] = "";
    label_norm(row_label(a), la, sizeof la);
    char *ka = json_dumps(json_array_get(a, 1), JSON_COMPACT);
    size_t found = nn, same_kinds = nn;
    for (size_t j = 0; j < nn && same_kinds == nn; j++) {
      json_t *b = json_array_get(now, j);
      label_norm(row_label(b), lb, sizeof lb);
      if (used[j] || strcmp(la, lb))
        continue;
      if (found == nn)
        found = j;
      char *kb = json_dumps(json_array_get(b, 1), JSON_COMPACT);
      if (ka && kb && !strcmp(ka, kb))
        same_kinds = j;
      free(kb);
    }
    if (found == nn) {
      snprintf(out, len, "row %zu, \"%s\", is in the picture but not in a new run",
               i + 1, la);
    } else if (same_kinds == nn) {
      char *kb = json_dumps(json_array_get(json_array_get(now, found), 1), JSON_COMPACT);
      snprintf(out, len, "row \"%s\" has %s in the picture but %s in a new run", la,
               ka ? ka : "?", kb ? kb : "?");
      free(kb);
    } else {
      used[same_kinds] = 1;
    }
    free(ka);
    if (out[0])
      return;
  }
  for (size_t j = 0; j < nn; j++)
    if (!used[j]) {
      char lb[512] = "";
      label_norm(row_label(json_array_get(now, j)), lb, sizeof lb);
      snprintf(out, len, "a new run draws the row \"%s\", which the picture does not have",
               lb);
      return;
    }
}

void gr_pictures_verify(gr_workbook_t *wb) {
  glob_t gl;
  glob_lessons(wb, &gl);
  for (size_t i = 0; i < gl.gl_pathc; i++) {
    struct picture ps[32];
    int n = lesson_pictures(wb, gl.gl_pathv[i], ps, 32, 1);
    for (int k = 0; k < n; k++) {
      struct picture *p = &ps[k];
      char recipe[256] = "", err[1024], trace[PATH_MAX + 64], diff[1024];
      json_t *was = gr_is_file(p->image) ? svg_signature(p->image, recipe, sizeof recipe) : NULL;
      json_t *now = NULL;
      snprintf(trace, sizeof trace, "%s/pictures/verify-%d.json", wb->build, (int)getpid());
      char dir[PATH_MAX];
      snprintf(dir, sizeof dir, "%s/pictures", wb->build);
      gr_mkdirs(dir);
      if (!gr_is_file(p->image)) {
        gr_verdict(0, "%s: the lesson shows it, but it does not exist: run `make pictures`", p->shown);
      } else if (!was) {
        gr_verdict(0, "%s: not a picture the workbook drew (no wb-timeline metadata): run "
                   "`make pictures`", p->shown);
      } else if (strcmp(recipe, p->recipe)) {
        gr_verdict(0, "%s: drawn from `%s`, but the lesson says `%s`: run `make pictures`",
                p->shown, recipe, p->recipe);
      } else if (picture_run(wb, p, trace, err, sizeof err) < 0 ||
                 picture_draw(wb, p, trace, NULL, &now, err, sizeof err) < 0) {
        gr_verdict(0, "%s: %s", p->shown, err);
      } else if (signature_diff(was, now, diff, sizeof diff), diff[0]) {
        gr_verdict(0, "%s: `%s` no longer draws it: %s. If the program changed on purpose, "
                   "run `make pictures`", p->shown, p->recipe, diff);
      } else {
        gr_verdict(1, "%s: `%s` still draws it (%zu rows, same kinds of bars)", p->shown,
                p->recipe, json_array_size(now));
      }
      unlink(trace);
      json_decref(was);
      json_decref(now);
      picture_free(p);
    }
  }
  globfree(&gl);
}
