/* word_count.c - exercise 09.4: count the words of a text.
 * This file compiles and counts correctly, but the tests find it slow, and
 * say that it needs things a count should not need: find out why with
 * `build/grader check 09-common-pitfalls/04-word-count`, and fix it.
 */
#include "word_count.h"

#include <ev.h>
#include <stdlib.h>

/* Bytes counted per step: the loop can run other callbacks in between. */
#define STEP 16

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

/* ---- The count as an asynchronous task --------------------------------- */

typedef void (*count_cb)(size_t words, void *arg);

struct count_task {
  ev_idle idle;
  const char *text;
  size_t len, pos, words;
  int in_word;
  count_cb done;
  void *arg;
};

/* Counts one step of the text, then gives the loop back. */
static void count_step(struct ev_loop *loop, ev_idle *w, int revents) {
  struct count_task *t = (struct count_task *)w;
  (void)revents;
  size_t end = t->pos + STEP < t->len ? t->pos + STEP : t->len;
  for (; t->pos < end; t->pos++) {
    int space = is_space(t->text[t->pos]);
    if (!space && !t->in_word)
      t->words++;
    t->in_word = !space;
  }
  if (t->pos < t->len)
    return; /* more next time round */
  ev_idle_stop(loop, w);
  t->done(t->words, t->arg);
  free(t);
}

static int count_async(struct ev_loop *loop, const char *text, size_t len,
                       count_cb done, void *arg) {
  struct count_task *t = malloc(sizeof *t);
  if (!t)
    return -1;
  *t = (struct count_task){.text = text, .len = len, .done = done,
                           .arg = arg};
  ev_idle_init(&t->idle, count_step);
  ev_idle_start(loop, &t->idle);
  return 0;
}

static void store_count(size_t words, void *arg) { *(size_t *)arg = words; }

/* ---- The function of the contract -------------------------------------- */

size_t word_count(const char *text, size_t len) {
  size_t words = 0;
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  if (!loop)
    return 0;
  if (count_async(loop, text, len, store_count, &words) == 0)
    ev_run(loop, 0);
  ev_loop_destroy(loop);
  return words;
}
