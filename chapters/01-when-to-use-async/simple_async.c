/* simple_async.c - the job of simple_sync.c written for a loop: start the
 * request, return, finish in a callback, and a loop made, run and destroyed
 * around it. More code, and no faster: with one request there is nothing
 * to overlap its wait with.
 * Usage: simple_async [URL]   (without one: the workbook's server's /json)
 * expect: elapsed_ms < 3000, lag_ms < 1000, errors < 1
 */
#include "wb_http.h"
#include "wb_lag.h"
#include "wb_server.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>

/* The second half of the job: the loop calls it with the answer. */
static void print_name_done(struct ev_loop *loop, long status,
                            const char *body, size_t len, const char *error,
                            void *arg) {
  int *errors = arg;
  (void)loop, (void)status;
  json_t *doc = error ? NULL : json_loadb(body, len, 0, NULL);
  const char *name = json_string_value(json_object_get(doc, "name"));
  if (name)
    printf("name: %s\n", name);
  else
    (*errors)++;
  json_decref(doc);
}

/* The first half: start the request and return at once. */
static int print_name(struct ev_loop *loop, const char *url, int *errors) {
  return wb_http_get(loop, url, 5000, print_name_done, errors, NULL);
}

int main(int argc, char **argv) {
  char url[512];
  wb_server_t *srv = NULL;
  int errors = 0;
  wb_lag_t lag;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (argc > 1)
    snprintf(url, sizeof url, "%s", argv[1]);
  else if (wb_server_start(&srv, "127.0.0.1", 0) == 0)
    snprintf(url, sizeof url, "http://127.0.0.1:%d/json", wb_server_port(srv));
  else
    return 1;
  double t0 = wb_now_ms();
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  wb_lag_start(loop, &lag);
  if (print_name(loop, url, &errors) < 0)
    errors++;
  ev_run(loop, 0); /* returns once the answer has been handled */
  wb_lag_stop(loop, &lag);
  ev_loop_destroy(loop);
  double elapsed = wb_now_ms() - t0;
  if (srv)
    wb_server_stop(srv);
  curl_global_cleanup();
  wb_measured_print(stdout, wb_lag_longest_ms(&lag), elapsed, errors);
  return errors;
}
