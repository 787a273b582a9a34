/* word_count.c - exercise 09.4, the reference solution: counting words
 * waits for nothing, so it is a plain loop over the bytes. The task struct,
 * the callback type, the idle watcher and the private loop of the starting
 * file are gone, and with them the allocation and the trips through the
 * loop that made it many times slower.
 */
#include "word_count.h"

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

size_t word_count(const char *text, size_t len) {
  size_t words = 0;
  int in_word = 0;
  for (size_t pos = 0; pos < len; pos++) {
    int space = is_space(text[pos]);
    if (!space && !in_word)
      words++;
    in_word = !space;
  }
  return words;
}
