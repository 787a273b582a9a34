/* expect: score 0, report "out of memory" */
/* Asks the compiler to read an endless file. */
#include "/dev/zero"
