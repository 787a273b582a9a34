/* probe.c - a test program with one empty test, linked like every exercise's
 * test programs (runner first, the test runtime, the same libraries). The
 * Makefile lists the names it and its libraries define: the names a
 * learner's file may not define (mk/reserved-symbols.sh). */
#include "wbtest.h"

WB_TEST(probe, 0) {}
END_TEST
