/* simple_sync.c - "don't use async for simple synchronous code": one
 * request, one answer, nothing else to do meanwhile. A blocking call is the
 * whole program; compare simple_async.c, which does the same job.
 * Usage: simple_sync [URL]   (without one: the workbook's server's /json)
 * expect: elapsed_ms < 3000, errors < 1
 */
#include "wb_lag.h"
#include "wb_server.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

struct body {
  char data[4096];
  size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *arg) {
  struct body *b = arg;
  size_t len = size * n;
  if (len > sizeof b->data - b->len)
    return 0; /* too long for this small job: curl reports an error */
  memcpy(b->data + b->len, p, len);
  b->len += len;
  return len;
}

/* The job: fetch a document, print its "name". It waits for the network,
 * but the program has nothing else to do while it waits. */
static int print_name(const char *url) {
  struct body b = {.len = 0};
  CURL *easy = curl_easy_init();
  if (!easy)
    return -1;
  curl_easy_setopt(easy, CURLOPT_URL, url);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &b);
  CURLcode rc = curl_easy_perform(easy); /* blocks until the answer */
  curl_easy_cleanup(easy);
  json_t *doc = rc == CURLE_OK ? json_loadb(b.data, b.len, 0, NULL) : NULL;
  const char *name = json_string_value(json_object_get(doc, "name"));
  if (name)
    printf("name: %s\n", name);
  json_decref(doc);
  return name ? 0 : -1;
}

int main(int argc, char **argv) {
  char url[512];
  wb_server_t *srv = NULL;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (argc > 1)
    snprintf(url, sizeof url, "%s", argv[1]);
  else if (wb_server_start(&srv, "127.0.0.1", 0) == 0)
    snprintf(url, sizeof url, "http://127.0.0.1:%d/json", wb_server_port(srv));
  else
    return 1;
  double t0 = wb_now_ms();
  int errors = print_name(url) < 0;
  double elapsed = wb_now_ms() - t0;
  if (srv)
    wb_server_stop(srv);
  curl_global_cleanup();
  wb_measured_print(stdout, 0, elapsed, errors);
  return errors;
}
