/* expect: exercise 02-basic-patterns/03-fetch-json, score 0, report "wb_http_get belongs to the workbook's chapters" */
/* Hands the whole transfer to the workbook's own lib/wb_http instead of
 * writing the curl glue the exercise asks for: it would pass every test if
 * the test binaries linked that helper. */
#include "fetch_json.h"
#include "wb_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fetch { fetch_json_cb cb; void *arg; };

static void done_cb(struct ev_loop *loop, long status, const char *body,
                    size_t len, const char *error, void *arg) {
  struct fetch *f = arg;
  char why[64];
  json_error_t jerr;
  json_t *json = NULL;
  if (!error && status >= 400) {
    snprintf(why, sizeof why, "HTTP %ld", status);
    error = why;
  }
  if (!error && !(json = json_loadb(body, len, 0, &jerr))) {
    snprintf(why, sizeof why, "invalid JSON: %.40s", jerr.text);
    error = why;
  }
  f->cb(loop, json, error, f->arg);
  json_decref(json);
  free(f);
}

int fetch_json(struct ev_loop *loop, const char *url, long timeout_ms,
               fetch_json_cb cb, void *arg) {
  struct fetch *f = malloc(sizeof *f);
  if (!f)
    return -1;
  f->cb = cb, f->arg = arg;
  if (wb_http_get(loop, url, timeout_ms, done_cb, f, NULL) < 0) {
    free(f);
    return -1;
  }
  return 0;
}
