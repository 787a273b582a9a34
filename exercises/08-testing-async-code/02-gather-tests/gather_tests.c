/* gather_tests.c - your tests for gather_get.h (exercise 08.2). Each test
 * gets a fresh loop, wb_loop(), and the workbook's HTTP server through
 * wb_server_url(PATH) (its endpoints: server/wb_server.h).
 */
#include "gather_get.h"
#include "wbtest.h"

#include <stdio.h>
#include <string.h>

/* What the callback saw. The results are only valid while it runs: copy
 * what a test needs to look at afterwards. */
static int calls;
static long first_status;

static void record(struct ev_loop *loop, const gather_result_t *results,
                   size_t n, void *arg) {
  (void)loop, (void)arg;
  calls++;
  if (n > 0)
    first_status = results[0].status;
}

/* An example: one URL, one answer. It passes on a correct implementation,
 * and catches none of the broken ones. */
WB_TEST(one_url_gets_its_answer, 1) {
  const char *urls[] = {wb_server_url("/json/1")};
  ck_assert_int_eq(gather_get(wb_loop(), urls, 1, 2000, record, NULL), 0);
  wb_run(wb_loop(), 1000);
  ck_assert_int_ge(calls, 1);
  ck_assert_int_eq(first_status, 200);
}
END_TEST

/* TODO: write the tests that hold gather_get.h to each of its promises;
 * the README's "What your tests must catch" says what can go wrong.
 *   - Several URLs whose answers come back in another order than asked
 *     (/delay/MS answers late): is each result in its URL's slot? Copy
 *     what you check inside the callback.
 *   - Were the requests really in flight together? The server can tell
 *     you (wb_server_most_in_flight), which no clock can do reliably.
 *   - Failures on cue: /close (no response), /status/500 (a response),
 *     a request slower than the timeout: what must each slot say, and what
 *     must the other slots still say?
 *   - No URL at all.
 *   - How many times, and from where, is the callback called?
 *   - What is left afterwards (wb_assert_no_leaks), and what happens when
 *     memory runs out (wb_fail_alloc, wb_allocs)?
 * Never sleep to wait for something: run the loop with wb_run. */
