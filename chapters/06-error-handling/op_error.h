/* op_error.h - what an error carries in this chapter, decided once: a code
 * from one X-macro list, errno where a system call failed, and a message.
 * The message lives inside the struct, so an error owns no memory.
 */
#ifndef OP_ERROR_H
#define OP_ERROR_H

#include <stdarg.h>
#include <stdio.h>

/* Every code of the chapter, with its meaning: one row per error. */
#define OP_ERRORS(X)                                                           \
  X(OP_OK, 0, "no error")                                                      \
  X(OP_EVALUE, -1, "bad value")                                                \
  X(OP_ESYS, -2, "system call failed")                                         \
  X(OP_EACQUIRE, -3, "could not acquire the resource")                         \
  X(OP_ETIMEDOUT, -4, "timed out")                                             \
  X(OP_ECANCELED, -5, "cancelled")

enum op_code {
#define OP_ENUM(name, value, text) name = value,
  OP_ERRORS(OP_ENUM)
#undef OP_ENUM
};

/* An error is a value. The callback that receives a `const struct op_error
 * *` may read it until it returns, and copies it to keep it: no free, no
 * strdup, and reporting an error never needs memory that may have run out. */
struct op_error {
  enum op_code code; /* OP_OK when all went well */
  int sys_errno;     /* errno of the failed system call, else 0 */
  char message[80];  /* for people: what failed, with which name */
};

/* The words for a code (the X-macro's third column). */
static inline const char *op_strerror(enum op_code code) {
  switch (code) {
#define OP_TEXT(name, value, text)                                             \
  case name:                                                                   \
    return text;
    OP_ERRORS(OP_TEXT)
#undef OP_TEXT
  }
  return "unknown error";
}

/* Fills `e` in: the code, errno (0 if none), and a printf-made message. */
static inline void op_error_set(struct op_error *e, enum op_code code,
                                int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline void op_error_set(struct op_error *e, enum op_code code,
                                int sys_errno, const char *fmt, ...) {
  va_list ap;
  e->code = code;
  e->sys_errno = sys_errno;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
}

#endif /* OP_ERROR_H */
