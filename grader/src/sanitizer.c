/* sanitizer.c - turns an AddressSanitizer, LeakSanitizer or UBSan report
 * into a few sentences for the learner: what went wrong, at which line of
 * their own file, and what to try. The stack frames of the support library,
 * libev and the C library are skipped; the learner's are what count.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <stdlib.h>
#include <string.h>

/* A frame "    #1 0x55.. in sleeper_cb /path/async_sleep.c:10" reduced to
 * "async_sleep.c:10 in sleeper_cb()" when its file is one of `files`
 * (shown as the matching `shown`). 1 when it was the learner's. */
static int learner_frame(const char *line, size_t len, const gr_san_files_t *f,
                         char *out, size_t outlen) {
  char fn[128], path[512];
  char copy[768];
  snprintf(copy, sizeof copy, "%.*s", (int)(len < sizeof copy ? len : sizeof copy - 1), line);
  if (sscanf(copy, " #%*d %*s in %127s %511s", fn, path) != 2)
    return 0;
  char *colon = strchr(path, ':');
  if (!colon)
    return 0;
  *colon = 0;
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  for (int i = 0; i < f->n; i++) {
    if (!strcmp(base, f->files[i])) {
      int ln = atoi(colon + 1);
      snprintf(out, outlen, "%s:%d in %s()", f->shown[i], ln, fn);
      return 1;
    }
  }
  return 0;
}

/* The first learner frame of the stack that starts after `from` (up to the
 * first blank line), or "" when none of it is the learner's. */
static void first_learner_frame(const char *from, const gr_san_files_t *f,
                                char *out, size_t len) {
  out[0] = 0;
  const char *s = strchr(from, '\n');
  while (s && *++s && *s != '\n') {
    size_t n = strcspn(s, "\n");
    if (learner_frame(s, n, f, out, len))
      return;
    s += n;
    if (!*s)
      break;
  }
}

/* "heap-use-after-free" from "ERROR: AddressSanitizer: heap-use-after-free on". */
static void error_kind(const char *e, char *out, size_t len) {
  const char *k = strstr(e, "Sanitizer: ");
  k = k ? k + strlen("Sanitizer: ") : e;
  snprintf(out, len, "%.*s", (int)strcspn(k, " \n"), k);
}

static char *explain_leaks(const char *e, const gr_san_files_t *f) {
  gr_buf_t b = {0};
  int shown = 0, total = 0;
  long bytes = 0;
  for (const char *s = e; (s = strstr(s, " leak of ")); s++) {
    long n = atol(s + strlen(" leak of "));
    bytes += n;
    total++;
    char where[600];
    first_learner_frame(s, f, where, sizeof where);
    if (!where[0] || shown >= 4)
      continue;
    /* One line per place: several leaks of one line are one mistake. */
    if (b.data && strstr(b.data, where))
      continue;
    gr_buf_printf(&b, "\n  - %ld bytes allocated at %s were never freed", n, where);
    shown++;
  }
  char *text;
  if (shown)
    text = gr_xasprintf("memory leak: %ld bytes in %d allocation%s were never "
                        "freed.%s\nFree everything your code allocates once "
                        "its work is done (each struct once its callback has "
                        "run and nothing refers to it any more), on every "
                        "path: success, error, and early return.",
                        bytes, total, total == 1 ? "" : "s", b.data);
  else
    text = gr_xasprintf("memory leak: %ld bytes in %d allocation%s were never "
                        "freed, none of them allocated in your file directly "
                        "(a library's object your code should release: "
                        "json_decref, curl_easy_cleanup, curl_multi_cleanup, "
                        "ev_loop_destroy?).",
                        bytes, total, total == 1 ? "" : "s");
  gr_buf_free(&b);
  return text;
}

char *gr_sanitizer_explain(const char *out, const gr_san_files_t *f) {
  const char *e = strstr(out, "ERROR: AddressSanitizer");
  if (!e)
    e = strstr(out, "ERROR: LeakSanitizer");
  if (e && strstr(e, "detected memory leaks") && !strncmp(e, "ERROR: LeakSanitizer", 20))
    return explain_leaks(e, f);
  if (!e) {
    /* UBSan: "FILE:LINE:COL: runtime error: WHAT" on one line. */
    const char *r = strstr(out, "runtime error:");
    if (!r)
      return NULL;
    const char *bol = r;
    while (bol > out && bol[-1] != '\n')
      bol--;
    char path[512];
    snprintf(path, sizeof path, "%.*s", (int)(r - bol), bol);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const char *shown = base;
    for (int i = 0; i < f->n; i++)
      if (!strncmp(base, f->files[i], strlen(f->files[i])))
        shown = f->shown[i], base += strlen(f->files[i]);
    return gr_xasprintf("undefined behaviour at %s%s %.*s", shown,
                        shown == base ? "" : base, (int)strcspn(r, "\n"), r);
  }
  char kind[64], at[600], freed[600], alloc[600];
  error_kind(e, kind, sizeof kind);
  first_learner_frame(e, f, at, sizeof at);
  const char *fr = strstr(e, "freed by thread");
  const char *al = strstr(e, "allocated by thread");
  const char *st = strstr(e, "is located in stack of thread");
  freed[0] = alloc[0] = 0;
  if (fr)
    first_learner_frame(fr, f, freed, sizeof freed);
  if (al)
    first_learner_frame(al, f, alloc, sizeof alloc);
  if (st) /* the frame whose local variable it was */
    first_learner_frame(st, f, alloc, sizeof alloc);
  char access[64] = "";
  const char *acc = strstr(e, "\nREAD of size ");
  if (!acc)
    acc = strstr(e, "\nWRITE of size ");
  if (acc)
    snprintf(access, sizeof access, "a %s of %d byte%s",
             acc[1] == 'R' ? "read" : "write",
             atoi(strstr(acc, "size ") + 5), atoi(strstr(acc, "size ") + 5) == 1 ? "" : "s");
  char *where = at[0] ? gr_xasprintf(" at %s", at)
                      : gr_xstrdup(" (not in your file: in the test or a library, "
                                   "with memory your code handed over)");
  char *text;
  if (!strcmp(kind, "heap-use-after-free"))
    text = gr_xasprintf(
        "memory was used after it was freed (%s)%s%s%s%s%s.\nFree a struct "
        "only after its last use: once the callback that needs it has run, "
        "and after anything that still reads it (libcurl and libev keep "
        "pointers to what you give them until you remove or stop it).",
        access[0] ? access : "an access", where, freed[0] ? "; it was freed at " : "",
        freed, alloc[0] ? " and allocated at " : "", alloc);
  else if (!strcmp(kind, "stack-use-after-return") || !strcmp(kind, "stack-use-after-scope"))
    text = gr_xasprintf(
        "memory of a function that had already returned was used (%s)%s%s%s.\n"
        "A local variable lives only until its function returns: a watcher "
        "or struct the loop or a library keeps using must be allocated "
        "with malloc, and freed once nothing uses it any more.",
        access[0] ? access : "an access", where,
        alloc[0] ? "; it was a local variable of " : "", alloc);
  else if (strstr(e, "hard rss limit exhausted") || strstr(e, "out of memory") ||
           strstr(e, "allocation-size-too-big"))
    text = gr_xasprintf("the test used more memory than it may (1 GiB)%s: an "
                        "allocation in a loop that never ends, or a size "
                        "computed wrong?", where);
  else if (!strcmp(kind, "double-free") || !strcmp(kind, "attempting"))
    text = gr_xasprintf("memory was freed twice%s%s%s.\nEach allocation is "
                        "freed exactly once: is a cleanup path run twice?",
                        where, alloc[0] ? "; it was allocated at " : "", alloc);
  else if (strstr(kind, "overflow"))
    text = gr_xasprintf("%s: %s outside the memory it belongs to%s%s%s.\nCheck "
                        "sizes and indexes (sizeof the struct, not the pointer; "
                        "room for the string's final NUL byte).",
                        kind, access[0] ? access : "an access", where,
                        alloc[0] ? "; the block was allocated at " : "", alloc);
  else
    text = gr_xasprintf("the sanitizer found a memory error (%s)%s.", kind, where);
  free(where);
  return text;
}
