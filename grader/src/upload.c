/* upload.c - finding the learner's files in a submission, wherever the
 * upload put them (a flat folder, an exercises/ tree, a zipped handout
 * folder, an LMS's folder per student), and checking that each is C source
 * text worth compiling.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_SOURCE_BYTES (256 << 10)
#define xasprintf gr_xasprintf

/* How far the search goes: folders below the upload, and entries read. */
#define SEARCH_DEPTH 6
#define SEARCH_ENTRIES 4000

/* Calls visit(path, name, data) for every file below `dir`, depth-first
 * and in name order (the same upload always gives the same answer), at
 * most SEARCH_DEPTH folders down and SEARCH_ENTRIES entries in all
 * (*seen counts them); hidden entries and macOS's __MACOSX are skipped. */
static void walk(const char *dir, int depth, int *seen,
                 void (*visit)(const char *path, const char *name, void *data),
                 void *data) {
  struct dirent **list;
  int n = scandir(dir, &list, NULL, alphasort);
  if (n < 0)
    return;
  for (int i = 0; i < n; i++) {
    const char *name = list[i]->d_name;
    if (name[0] != '.' && strcmp(name, "__MACOSX") && (*seen)++ < SEARCH_ENTRIES) {
      char path[PATH_MAX];
      snprintf(path, sizeof path, "%s/%s", dir, name);
      struct stat st;
      if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (depth < SEARCH_DEPTH)
          walk(path, depth + 1, seen, visit, data);
      } else {
        visit(path, name, data);
      }
    }
    free(list[i]);
  }
  free(list);
}

struct search {
  const char *file, *slug;
  int nfound;
  char found[2][PATH_MAX]; /* the first two places it is */
  int best;                /* how many sit in a folder named after the exercise */
  char best_at[PATH_MAX];
};

static void search_visit(const char *path, const char *name, void *data) {
  struct search *s = data;
  if (strcmp(name, s->file))
    return;
  if (s->nfound < 2)
    snprintf(s->found[s->nfound], PATH_MAX, "%s", path);
  s->nfound++;
  /* .../02-basic-patterns/01-async-sleep/async_sleep.c or
   * .../01-async-sleep/async_sleep.c: the exercise's own folder. */
  size_t pl = strlen(path), fl = strlen(s->file), sl = strlen(s->slug);
  if (pl > fl + sl + 1 && path[pl - fl - 1] == '/' &&
      !strncmp(path + pl - fl - 1 - sl, s->slug, sl) &&
      path[pl - fl - 2 - sl] == '/' && s->best++ == 0)
    snprintf(s->best_at, PATH_MAX, "%s", path);
}

int gr_upload_locate(const char *sub, const gr_exercise_t *ex, const char *file,
                     char *out, char *other) {
  const char *slug = strchr(ex->id, '/') + 1;
  const char *forms[] = {"%s/exercises/%s/%s", "%s/%s/%s", NULL};
  struct stat st;
  if (other)
    other[0] = 0;
  for (int i = 0; forms[i]; i++) {
    snprintf(out, PATH_MAX, forms[i], sub, ex->id, file);
    if (lstat(out, &st) == 0)
      return 0;
  }
  snprintf(out, PATH_MAX, "%s/%s/%s", sub, slug, file);
  if (lstat(out, &st) == 0)
    return 0;
  snprintf(out, PATH_MAX, "%s/%s", sub, file);
  if (lstat(out, &st) == 0)
    return 0;
  struct search s = {.file = file, .slug = slug};
  int seen = 0;
  walk(sub, 1, &seen, search_visit, &s);
  if (s.best == 1 || s.nfound == 1) {
    snprintf(out, PATH_MAX, "%s", s.best == 1 ? s.best_at : s.found[0]);
    return 1;
  }
  if (s.nfound > 1) {
    snprintf(out, PATH_MAX, "%s", s.found[0]);
    if (other)
      snprintf(other, PATH_MAX, "%s", s.found[1]);
    return -2;
  }
  return -1;
}

/* What the upload holds instead: its first C files (paths below `base`)
 * and how many files it holds in all. */
struct holdings {
  const char *base;
  gr_buf_t list;
  int shown, files;
};

static void holdings_visit(const char *path, const char *name, void *data) {
  struct holdings *h = data;
  size_t len = strlen(name);
  h->files++;
  if (len > 2 && !strcasecmp(name + len - 2, ".c") && h->shown++ < 5)
    gr_buf_printf(&h->list, "%s%s", h->shown > 1 ? ", " : "", path + strlen(h->base) + 1);
}

char *gr_upload_missing(const char *sub, const char *file) {
  char near[512];
  gr_upload_near_misses(sub, file, near, sizeof near);
  if (near[0])
    return xasprintf("%s was not found in the submission, but %s is there: "
                     "rename it to %s (the grader matches files by their "
                     "exact name).",
                     file, near, file);
  struct holdings h = {.base = sub};
  int seen = 0;
  walk(sub, 1, &seen, holdings_visit, &h);
  int shown = h.shown, files = h.files;
  gr_buf_t list = h.list;
  char *text;
  if (files == 0)
    text = xasprintf("%s was not found in the submission: the upload is "
                     "empty.", file);
  else if (shown == 0)
    text = xasprintf("%s was not found in the submission, which holds %d "
                     "file%s and no C file at all (a zip inside the zip, or "
                     "the compiled program instead of the source?).",
                     file, files, files == 1 ? "" : "s");
  else
    text = xasprintf("%s was not found in the submission. Its C files are: "
                     "%s%s.",
                     file, list.data, shown > 5 ? ", ..." : "");
  gr_buf_free(&list);
  return text;
}

/* Files two levels deep whose name looks like `file` told apart only by
 * case or by what uploads add ("async_sleep (1).c", "alice_async_sleep.c"):
 * quoted in `out`, at most three, "" if none. */
void gr_upload_near_misses(const char *dir, const char *file, char *out, size_t len) {
  char stem[64];
  snprintf(stem, sizeof stem, "%.*s", (int)(strcspn(file, ".")), file);
  out[0] = 0;
  int found = 0;
  char *stack[2] = {gr_xstrdup(dir), NULL};
  for (int depth = 0; depth < 2 && stack[depth]; depth++) {
    DIR *d = opendir(stack[depth]);
    for (struct dirent *e; d && (e = readdir(d));) {
      if (e->d_name[0] == '.')
        continue;
      char path[PATH_MAX + 256];
      snprintf(path, sizeof path, "%s/%s", stack[depth], e->d_name);
      size_t n = strlen(e->d_name);
      if (depth == 0 && !stack[1] && gr_is_dir(path)) {
        stack[1] = gr_xstrdup(path); /* one wrapping folder is looked into */
        continue;
      }
      if (n < 2 || strcasecmp(e->d_name + n - 2, ".c") || !strcasestr(e->d_name, stem) ||
          found == 3)
        continue;
      size_t used = strlen(out);
      snprintf(out + used, len - used, "%s\"%s\"", found ? " and " : "",
               e->d_name);
      found++;
    }
    if (d)
      closedir(d);
  }
  free(stack[0]);
  free(stack[1]);
}

/* Returns NULL when the file can be compiled, or why not (malloc'ed). */
char *gr_upload_check(const char *path, const char *name) {
  struct stat st;
  if (lstat(path, &st) < 0)
    return xasprintf("%s could not be read: %s", name, strerror(errno));
  if (S_ISLNK(st.st_mode))
    return xasprintf("%s is a symbolic link, not a file: submit the file "
                     "itself.",
                     name);
  if (!S_ISREG(st.st_mode))
    return xasprintf("%s is not a regular file.", name);
  if (st.st_size > MAX_SOURCE_BYTES)
    return xasprintf("%s is %lld bytes, far more than a source file for this "
                     "exercise (at most %d KiB): was the right file uploaded?",
                     name, (long long)st.st_size, MAX_SOURCE_BYTES >> 10);
  gr_buf_t b = {0};
  if (gr_read_file(path, MAX_SOURCE_BYTES, &b) < 0) {
    gr_buf_free(&b);
    return xasprintf("%s could not be read.", name);
  }
  size_t ctrl = 0;
  for (size_t i = 0; i < b.len; i++) {
    unsigned char ch = (unsigned char)b.data[i];
    if (ch == 0 || (ch < 0x20 && ch != '\n' && ch != '\r' && ch != '\t' &&
                    ch != '\f' && ch != '\v'))
      ctrl++;
  }
  gr_buf_free(&b);
  if (ctrl > 0)
    return xasprintf("%s is not C source text (it contains %zu binary "
                     "bytes): was the compiled program or another file "
                     "uploaded under this name?",
                     name, ctrl);
  return NULL;
}

