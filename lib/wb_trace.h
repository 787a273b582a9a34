/* wb_trace.h - the loop's flight recorder: when each callback ran and for
 * how long, how long each watcher waited, when the loop polled, and the
 * marks a program adds. Chapter programs and exercise tests share it; the
 * grader draws what it wrote as a timeline (`grader timeline`). Off unless
 * asked for, and then it costs one predictable branch per hook.
 */
#ifndef WB_TRACE_H
#define WB_TRACE_H

#include <ev.h>

/* ---- Recording ---------------------------------------------------------- */

/* How many events the recorder keeps unless told otherwise (the
 * environment variable WB_TRACE_EVENTS overrides it). An event is a wait,
 * a callback, a polling or running phase of the loop, or a mark; each takes
 * 72 bytes. When more happen, the oldest are dropped, and the trace says
 * how many. */
#define WB_TRACE_EVENTS_DEFAULT 65536u

/* The longest text a mark keeps, in bytes (a longer one is cut). */
#define WB_TRACE_TEXT 40

/* Turns the recorder on (or starts it afresh) for this thread's loops:
 * from now on it records every watcher started and every callback run on
 * a loop this thread runs. `path` is where wb_trace_write writes the trace:
 * a file, or "-" for standard error between two marker lines (how a test
 * hands its trace to the grader). `max_events` bounds the memory (0: the
 * default above). Returns 0, -EINVAL for a NULL path, or -ENOMEM (then the
 * recorder stays off). Chapter programs need not call it: `--trace FILE`
 * or WB_TRACE=FILE does (see wb_trace_prog.c). */
int wb_trace_start(const char *path, unsigned max_events);

/* Whether the recorder is on. */
int wb_trace_enabled(void);

/* Adds a mark at this moment, made with printf's format (cut at
 * WB_TRACE_TEXT - 1 bytes). A mark "NAME: what happened" names a task:
 * it is drawn on NAME's row, and watchers started after it, in the same
 * callback or in callbacks that descend from it, are drawn on that row
 * too (their task is inherited, as an asyncio task's is across awaits).
 * When the recorder is off it returns at once. Exercise files may call it
 * too: their marks show in `grader check --timeline`. */
void wb_trace_mark(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes what was recorded to the path given to wb_trace_start, in the
 * Chrome trace event format (JSON; Perfetto and chrome://tracing open it).
 * Waits still going on and callbacks still running are written as open,
 * ending now. In a file, callbacks are named "function" with their
 * "file:line" (found with addr2line, when it is installed); on standard
 * error they are left as {cb:0xOFFSET} for the grader to name. Only the
 * process that started the recorder writes (a forked child does not).
 * Returns 0 or a negative errno value. */
int wb_trace_write(void);

/* Events dropped so far because the buffer was full. */
unsigned long wb_trace_dropped(void);

/* Turns the recorder off and frees its memory (nothing is written).
 * Watchers the recorder was following get their own callbacks back. */
void wb_trace_stop(void);

/* ---- Loops ---------------------------------------------------------------- */

/* Records when `loop` polls and when it runs callbacks, with an ev_prepare
 * at EV_MINPRI (the loop is about to poll) and an ev_check at EV_MAXPRI
 * (it polled; callbacks come next). Both are unref'ed. Done by itself for
 * every loop a watcher is started on; calling it again does nothing. */
void wb_trace_loop(struct ev_loop *loop);

/* Whether `w` is one of the recorder's own watchers (a watcher list of the
 * code under test leaves them out). */
int wb_trace_owns(const void *w);

/* ---- For the runtime's hooks (wraps.c, wb_trace_prog.c) ------------------- */

/* Nonzero while the recorder is on: the hooks test it first. */
extern int wb__trace_on;

#define WB_TRACE_KINDS(X)                                                      \
  X(io) X(timer) X(periodic) X(signal) X(child) X(stat) X(idle) X(prepare)    \
      X(check) X(async) X(once)

enum wb_trace_kind {
#define X(type) WB_TRACE_##type,
  WB_TRACE_KINDS(X)
#undef X
  WB_TRACE_NKINDS
};

/* Any callback, for naming only: never called through this type. */
typedef void (*wb_trace_fn)(void);

/* A watcher `id` (an ev_watcher, or an ev_once's slot) was started on
 * `loop` with callback `cb`: its wait begins. `fd` is its descriptor,
 * signal or pid (-1: none), `after_s` its timeout in seconds (< 0: none).
 * A watcher already waiting keeps its wait (ev_timer_again). Returns 1 if
 * it is recorded, 0 if not (recorder off, another thread, table full). */
int wb__trace_watch(struct ev_loop *loop, const void *id, enum wb_trace_kind kind,
                    wb_trace_fn cb, int fd, double after_s);

/* The watcher was stopped: its wait ends. */
void wb__trace_unwatch(const void *id);

/* The loop is about to call the watcher's callback: its wait ends (it
 * fired), the call begins. `still_waiting` says whether the watcher is
 * still active (an ev_io, a repeating timer): then its next wait begins
 * when the callback returns. `cb` may be NULL for the one recorded at the
 * start. Returns the callback recorded at the start, or NULL. Each call
 * must be followed by wb__trace_call_end once the callback returned. */
wb_trace_fn wb__trace_call_begin(const void *id, enum wb_trace_kind kind,
                                 wb_trace_fn cb, int still_waiting);
void wb__trace_call_end(void);

/* The descriptor (or signal, or pid) and the timeout, in seconds, that a
 * watcher of `kind`, just started on `loop`, waits for, for
 * wb__trace_watch. */
void wb__trace_details(struct ev_loop *loop, const ev_watcher *w,
                       enum wb_trace_kind kind, int *fd, double *after_s);

/* ev_run returned: the running phase ends (what the caller's code does
 * until it runs the loop again is not the loop's). */
void wb__trace_loop_idle(struct ev_loop *loop);

/* `loop` is being destroyed: the waits of its watchers end, as open. */
void wb__trace_loop_gone(struct ev_loop *loop);

/* The program's trampoline, when the hooks put one in front of the
 * watchers' callbacks (wb_trace_prog.c): a watcher that stops waiting
 * gets its own callback back. */
void wb__trace_set_trampoline(void (*tramp)(struct ev_loop *, ev_watcher *, int));

/* The command line the trace says it recorded (for its title). */
void wb__trace_set_command(const char *command);

/* The line that opens and the line that closes a trace written to
 * standard error ("-"), for the grader to find it in a test's output. */
#define WB_TRACE_BEGIN "=== wb-trace 1 begin ==="
#define WB_TRACE_END "=== wb-trace end ==="

#endif /* WB_TRACE_H */
