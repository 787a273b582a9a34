/* expect: exercise 08-testing-async-code/01-delay-tests, score 0, report "WRONG", needs bubblewrap */
/* A learner-written test that looks for the implementations' sources (the
 * workbook's tests/impl/, a Gradescope zip's impl/) to read what it runs
 * on. Inside the sandbox none is in sight: the test fails on the correct
 * implementation, and catches nothing. */
#include "delay.h"
#include "wbtest.h"
#include <dirent.h>
#include <stdio.h>
#include <string.h>
/* Depth-first from `dir`, at most `depth` levels: whether a reference.c or
 * a *.patch is found. */
static int finds(const char *dir, int depth) {
  DIR *d = opendir(dir);
  int found = 0;
  if (!d)
    return 0;
  for (struct dirent *e; !found && (e = readdir(d));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "proc") ||
        !strcmp(e->d_name, "sys") || !strcmp(e->d_name, "usr"))
      continue;
    size_t n = strlen(e->d_name);
    if (!strcmp(e->d_name, "reference.c") || (n > 6 && !strcmp(e->d_name + n - 6, ".patch")))
      found = 1;
    else if (depth > 0 && e->d_type == DT_DIR) {
      char sub[4096];
      snprintf(sub, sizeof sub, "%s/%s", strcmp(dir, "/") ? dir : "", e->d_name);
      found = finds(sub, depth - 1);
    }
  }
  closedir(d);
  return found;
}
WB_TEST(reads_the_sources, 1) {
  ck_assert_msg(finds("/", 8), "no implementation source in sight");
}
END_TEST
