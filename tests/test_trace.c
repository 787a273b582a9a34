/* test_trace.c - the recorder (lib/wb_trace.c) on its own: off by default,
 * bounded, and writing Chrome's trace event format with waits, callbacks,
 * tasks and marks where they belong. The hooks are called by hand here;
 * tests/e2e-timeline.sh checks them linked into real programs.
 */
#define _GNU_SOURCE
#include "wb_trace.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static void tmp_path(void) {
  snprintf(path, sizeof path, "/tmp/wb-test-trace-%d.json", (int)getpid());
}

static void noop_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop, (void)w, (void)revents;
}

static json_t *written(void) {
  ck_assert_int_eq(wb_trace_write(), 0);
  json_error_t err;
  json_t *root = json_load_file(path, 0, &err);
  ck_assert_msg(root != NULL, "the trace is not JSON: line %d: %s", err.line, err.text);
  unlink(path);
  return root;
}

/* The events of one category ("wait", "callback", "mark"...). */
static json_t *events_of(json_t *root, const char *cat) {
  json_t *out = json_array(), *e;
  size_t i;
  json_array_foreach(json_object_get(root, "traceEvents"), i, e) {
    const char *c = json_string_value(json_object_get(e, "cat"));
    if (c && !strcmp(c, cat))
      json_array_append(out, e);
  }
  return out;
}

static const char *arg(json_t *e, const char *key) {
  return json_string_value(json_object_get(json_object_get(e, "args"), key));
}

START_TEST(off_by_default_records_nothing) {
  ck_assert_int_eq(wb_trace_enabled(), 0);
  ev_timer t;
  ck_assert_int_eq(wb__trace_watch(NULL, &t, WB_TRACE_timer, NULL, -1, 0.1), 0);
  wb_trace_mark("Task 1: %s", "ignored");
  ck_assert(wb__trace_call_begin(&t, WB_TRACE_timer, NULL, 0) == NULL);
  ck_assert_int_eq(wb_trace_write(), -EINVAL);
}
END_TEST

START_TEST(wait_and_callback_of_a_timer) {
  tmp_path();
  ck_assert_int_eq(wb_trace_start(path, 0), 0);
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  ev_timer t;
  ev_timer_init(&t, noop_cb, 0.05, 0.);
  ev_timer_start(loop, &t);
  ck_assert_int_eq(wb__trace_watch(loop, &t, WB_TRACE_timer, (wb_trace_fn)noop_cb, -1,
                                   0.05), 1);
  usleep(20000);
  ck_assert(wb__trace_call_begin(&t, WB_TRACE_timer, NULL, 0) == (wb_trace_fn)noop_cb);
  wb__trace_call_end();
  ev_timer_stop(loop, &t);
  wb__trace_loop_gone(loop);
  ev_loop_destroy(loop);
  json_t *root = written();
  json_t *waits = events_of(root, "wait"), *calls = events_of(root, "callback");
  ck_assert_int_eq(json_array_size(waits), 1);
  ck_assert_int_eq(json_array_size(calls), 1);
  json_t *w = json_array_get(waits, 0), *c = json_array_get(calls, 0);
  ck_assert_str_eq(arg(w, "ended"), "fired");
  ck_assert_str_eq(arg(w, "kind"), "ev_timer");
  ck_assert(json_number_value(json_object_get(w, "dur")) >= 19000); /* microseconds */
  /* addr2line names the callback, with its file and line. */
  ck_assert_str_eq(json_string_value(json_object_get(c, "name")), "noop_cb");
  ck_assert_msg(strstr(arg(c, "at"), "test_trace.c:") != NULL, "at: %s", arg(c, "at"));
  ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(root, "otherData"),
                                                      "events_dropped")), 0);
  json_decref(waits);
  json_decref(calls);
  json_decref(root);
  wb_trace_stop();
}
END_TEST

START_TEST(a_task_mark_names_the_watchers_started_after_it) {
  tmp_path();
  ck_assert_int_eq(wb_trace_start(path, 0), 0);
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  ev_timer a, b;
  wb_trace_mark("Task A: started");
  ev_timer_init(&a, noop_cb, 1., 0.);
  ev_timer_start(loop, &a);
  wb__trace_watch(loop, &a, WB_TRACE_timer, (wb_trace_fn)noop_cb, -1, 1.);
  /* Inside A's callback, B inherits A's task. */
  wb__trace_call_begin(&a, WB_TRACE_timer, NULL, 0);
  ev_timer_init(&b, noop_cb, 1., 0.);
  ev_timer_start(loop, &b);
  wb__trace_watch(loop, &b, WB_TRACE_timer, (wb_trace_fn)noop_cb, -1, 1.);
  wb__trace_call_end();
  json_t *root = written();
  json_t *waits = events_of(root, "wait"), *marks = events_of(root, "mark"), *e;
  size_t i;
  ck_assert_int_eq(json_array_size(waits), 2); /* a's, then b's still going */
  json_array_foreach(waits, i, e) ck_assert_str_eq(arg(e, "task"), "Task A");
  ck_assert_str_eq(arg(json_array_get(waits, 1), "ended"), "still waiting");
  ck_assert_int_eq(json_array_size(marks), 1);
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(marks, 0), "ph")), "i");
  json_decref(waits);
  json_decref(marks);
  json_decref(root);
  ev_timer_stop(loop, &b);
  wb__trace_loop_gone(loop);
  ev_loop_destroy(loop);
  wb_trace_stop();
}
END_TEST

START_TEST(memory_is_bounded_and_drops_are_counted) {
  tmp_path();
  ck_assert_int_eq(wb_trace_start(path, 16), 0);
  for (int i = 0; i < 40; i++)
    wb_trace_mark("mark %d", i);
  ck_assert_uint_eq(wb_trace_dropped(), 24);
  json_t *root = written();
  json_t *marks = events_of(root, "mark");
  ck_assert_int_eq(json_array_size(marks), 16);
  /* The latest are kept. */
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(marks, 15), "name")),
                   "mark 39");
  ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(root, "otherData"),
                                                      "events_dropped")), 24);
  json_decref(marks);
  json_decref(root);
  wb_trace_stop();
}
END_TEST

START_TEST(any_text_makes_valid_json) {
  tmp_path();
  ck_assert_int_eq(wb_trace_start(path, 0), 0);
  wb_trace_mark("quote \" backslash \\ tab \t bad \xff\xfe end");
  wb_trace_mark("%s", "cut inside a sequence: 0123456789ab\xc3\xa9\xc3\xa9\xc3\xa9");
  json_t *root = written(); /* fails unless it parses */
  json_t *marks = events_of(root, "mark");
  ck_assert_int_eq(json_array_size(marks), 2);
  json_decref(marks);
  json_decref(root);
  wb_trace_stop();
}
END_TEST

START_TEST(the_loop_phases_alternate) {
  tmp_path();
  ck_assert_int_eq(wb_trace_start(path, 0), 0);
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  wb_trace_loop(loop);
  ev_timer t;
  ev_timer_init(&t, noop_cb, 0.02, 0.);
  ev_timer_start(loop, &t);
  ev_run(loop, 0);
  wb__trace_loop_idle(loop);
  wb__trace_loop_gone(loop);
  ev_loop_destroy(loop);
  json_t *root = written();
  json_t *polls = events_of(root, "poll"), *runs = events_of(root, "run");
  ck_assert_int_ge(json_array_size(polls), 1);
  ck_assert_int_ge(json_array_size(runs), 1);
  double polled = 0;
  json_t *e;
  size_t i;
  json_array_foreach(polls, i, e) polled += json_number_value(json_object_get(e, "dur"));
  ck_assert_msg(polled >= 15000, "the loop polled %.0f us for a 20 ms timer", polled);
  json_decref(polls);
  json_decref(runs);
  json_decref(root);
  wb_trace_stop();
}
END_TEST

int main(void) {
  Suite *s = suite_create("trace");
  TCase *tc = tcase_create("recorder");
  tcase_add_test(tc, off_by_default_records_nothing);
  tcase_add_test(tc, wait_and_callback_of_a_timer);
  tcase_add_test(tc, a_task_mark_names_the_watchers_started_after_it);
  tcase_add_test(tc, memory_is_bounded_and_drops_are_counted);
  tcase_add_test(tc, any_text_makes_valid_json);
  tcase_add_test(tc, the_loop_phases_alternate);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
