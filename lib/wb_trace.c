/* wb_trace.c - the recorder behind wb_trace.h: a fixed ring of events, an
 * open-addressing table of the watchers that wait (when each wait began,
 * which callback it leads to, which task it belongs to), the loops'
 * phases, and the writer of Chrome's trace event format.
 */
#define _GNU_SOURCE
#include "wb_trace.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int wb__trace_on;

enum { T_WAIT, T_CALL, T_POLL, T_RUN, T_MARK };
/* How a wait ended; for callbacks and phases H_OPEN means "still going". */
enum { H_FIRED, H_STOPPED, H_OPEN, H_GONE };

/* One thing that happened, stored when it is over. Times are microseconds
 * since the recorder started: Chrome's unit. */
struct tev {
  double t0, t1;
  union {
    struct {
      const void *id;
      wb_trace_fn cb;
      float after_ms;
      int32_t fd;
      uint8_t events; /* an ev_io's EV_READ | EV_WRITE */
    } w;
    char text[WB_TRACE_TEXT];
  } u;
  uint32_t call; /* the call it is (callbacks), or the one it happened in */
  uint16_t task;
  uint8_t type, kind, how, loop;
};

/* A watcher that is waiting (since >= 0), or in its own callback (-1), or
 * whose loop is gone while the program's trampoline still fronts its
 * callback (loop 0: kept so that the callback can still be found). */
struct slot {
  const void *id; /* NULL: free */
  wb_trace_fn cb;
  double since;
  float after_ms;
  int32_t fd;
  uint16_t task;
  uint8_t kind, loop, events;
};

/* A loop whose phases are recorded. Its prepare and check watchers live
 * here, so wb_trace_owns can recognise them by address. */
struct tloop {
  struct ev_loop *loop;
  ev_prepare prepare;
  ev_check check;
  double poll_since, run_since; /* < 0: not in that phase */
  int foreign;                  /* run by another thread: left out */
};

/* A callback that is running. */
struct tcall {
  uint32_t seq;
  double t0;
  const void *id;
  wb_trace_fn cb;
  float after_ms;
  int32_t fd;
  uint16_t task, outer_task;
  uint8_t kind, loop, events;
};

#define MAX_LOOPS 16
#define MAX_TASKS 64
#define MAX_DEPTH 64
#define TASK_NAME 32

/* Loops keep their probe across stop and start (its watchers stay on the
 * loop, and only look at wb__trace_on): a loop is attached once. */
static struct tloop loops[MAX_LOOPS];
static int nloops;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static struct {
  pthread_t owner;
  pid_t pid;
  char path[1024];
  char command[512];
  double t_start; /* monotonic seconds */
  struct tev *ev;
  unsigned cap, head; /* head: where the next event goes */
  unsigned long n;    /* events recorded in all */
  struct slot *slots;
  unsigned nslots, used;
  unsigned long untracked;
  char tasks[MAX_TASKS][TASK_NAME]; /* [0] is "no task" */
  int ntasks;
  uint16_t cur_task;
  struct tcall calls[MAX_DEPTH];
  int depth;
  uint32_t call_seq;
  void (*tramp)(struct ev_loop *, ev_watcher *, int);
} R;

static const char *const kind_names[] = {
#define X(type) "ev_" #type,
    WB_TRACE_KINDS(X)
#undef X
};

/* clock_gettime through the vDSO: a trace is a picture, not a verdict, so
 * the cheap clock is the right one here (wb_sys.h is for verdicts). */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_us(void) { return (now_s() - R.t_start) * 1e6; }

static int is_owner(void) { return pthread_equal(pthread_self(), R.owner); }

/* ---- The watcher table ---------------------------------------------------- */

static unsigned hash_ptr(const void *p) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 17;
  x *= 0x9E3779B97F4A7C15ull;
  return (unsigned)(x >> 32);
}

/* The table is never more than 3/4 full, so a probe always meets a free
 * slot: the loops below end. */
static struct slot *slot_find(const void *id) {
  unsigned m = R.nslots - 1;
  for (unsigned i = hash_ptr(id) & m;; i = (i + 1) & m) {
    if (R.slots[i].id == id)
      return &R.slots[i];
    if (!R.slots[i].id)
      return NULL;
  }
}

static struct slot *slot_add(const void *id) {
  if ((R.used + 1) * 4 > R.nslots * 3)
    return NULL;
  unsigned m = R.nslots - 1, i = hash_ptr(id) & m;
  while (R.slots[i].id)
    i = (i + 1) & m;
  R.used++;
  R.slots[i].id = id;
  return &R.slots[i];
}

/* Removes a slot by shifting back the ones that probed past it (no
 * tombstones, so lookups stay short however long the program runs). */
static void slot_del(struct slot *s) {
  unsigned m = R.nslots - 1, i = (unsigned)(s - R.slots), j = i;
  for (;;) {
    j = (j + 1) & m;
    if (!R.slots[j].id)
      break;
    unsigned k = hash_ptr(R.slots[j].id) & m;
    /* Entry j stays unless its home k lies cyclically outside (i, j]. */
    int stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);
    if (!stays) {
      R.slots[i] = R.slots[j];
      i = j;
    }
  }
  R.slots[i] = (struct slot){0};
  R.used--;
}

/* A watcher that stops waiting gets its own callback back from the
 * program's trampoline. Only called while the watcher's memory is surely
 * valid: when it is being stopped or its callback is being called. */
static void slot_release(struct slot *s) {
  if (R.tramp && s->kind != WB_TRACE_once) {
    ev_watcher *w = (ev_watcher *)s->id;
    if (w->cb == R.tramp)
      w->cb = (void (*)(struct ev_loop *, ev_watcher *, int))s->cb;
  }
  slot_del(s);
}

/* ---- Events ------------------------------------------------------------------ */

static struct tev *ev_new(uint8_t type, double t0, double t1) {
  struct tev *e = &R.ev[R.head];
  R.head = R.head + 1 == R.cap ? 0 : R.head + 1;
  R.n++;
  e->type = type;
  e->t0 = t0;
  e->t1 = t1;
  e->how = 0;
  e->call = 0;
  e->task = 0;
  e->loop = 0;
  e->kind = 0;
  return e;
}

static void ev_watcher_event(uint8_t type, double t0, double t1, const void *id,
                             wb_trace_fn cb, uint8_t kind, int32_t fd,
                             float after_ms, uint8_t events, uint16_t task,
                             uint8_t loop, uint8_t how, uint32_t call) {
  struct tev *e = ev_new(type, t0, t1);
  e->u.w.events = events;
  e->u.w.id = id;
  e->u.w.cb = cb;
  e->u.w.fd = fd;
  e->u.w.after_ms = after_ms;
  e->kind = kind;
  e->task = task;
  e->loop = loop;
  e->how = how;
  e->call = call;
}

static void wait_event(const struct slot *s, double t1, uint8_t how) {
  ev_watcher_event(T_WAIT, s->since, t1, s->id, s->cb, s->kind, s->fd,
                   s->after_ms, s->events, s->task, s->loop, how, 0);
}

/* ---- Loops --------------------------------------------------------------------- */

static struct tloop *loop_of_prepare(ev_prepare *w) {
  return (struct tloop *)((char *)w - offsetof(struct tloop, prepare));
}

static struct tloop *loop_of_check(ev_check *w) {
  return (struct tloop *)((char *)w - offsetof(struct tloop, check));
}

/* The loop moved from one phase to the next: the phase that began at
 * *ended (if any) becomes an event of `kind`, and the next begins now. */
static void phase_switch(struct tloop *l, double *ended, int kind, double *begins) {
  if (!wb__trace_on)
    return;
  pthread_mutex_lock(&mu);
  if (!is_owner()) {
    l->foreign = 1;
  } else {
    double t = now_us();
    if (*ended >= 0)
      ev_new(kind, *ended, t)->loop = (uint8_t)(l - loops + 1);
    *ended = -1;
    *begins = t;
  }
  pthread_mutex_unlock(&mu);
}

/* The loop is about to poll: the callbacks it ran since it last polled
 * were one running phase. */
static void prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents) {
  struct tloop *l = loop_of_prepare(w);
  (void)loop, (void)revents;
  phase_switch(l, &l->run_since, T_RUN, &l->poll_since);
}

/* It polled: at EV_MAXPRI this runs before every other callback of the
 * iteration, so what follows is the running phase. */
static void check_cb(struct ev_loop *loop, ev_check *w, int revents) {
  struct tloop *l = loop_of_check(w);
  (void)loop, (void)revents;
  phase_switch(l, &l->poll_since, T_POLL, &l->run_since);
}

static int loop_find(const struct ev_loop *loop) {
  for (int i = 0; i < nloops; i++)
    if (loops[i].loop == loop)
      return i + 1;
  return 0;
}

/* Index (1...) of `loop` in the table, attaching it first if need be; 0
 * when the table is full. Called by the owner thread only, never with the
 * lock held: starting the probe's watchers goes through the hooks again
 * (which recognise them by address and return at once). */
static int loop_attach(struct ev_loop *loop) {
  int i = loop_find(loop);
  if (i || nloops == MAX_LOOPS)
    return i;
  struct tloop *l = &loops[nloops];
  l->loop = loop;
  l->poll_since = l->run_since = -1;
  l->foreign = 0;
  ev_prepare_init(&l->prepare, prepare_cb);
  ev_set_priority(&l->prepare, EV_MINPRI);
  ev_check_init(&l->check, check_cb);
  ev_set_priority(&l->check, EV_MAXPRI);
  pthread_mutex_lock(&mu);
  nloops++;
  pthread_mutex_unlock(&mu);
  ev_prepare_start(loop, &l->prepare);
  ev_unref(loop); /* the probe never keeps the loop running */
  ev_check_start(loop, &l->check);
  ev_unref(loop);
  return nloops;
}

void wb_trace_loop(struct ev_loop *loop) {
  if (wb__trace_on && is_owner())
    loop_attach(loop);
}

int wb_trace_owns(const void *w) {
  return (const char *)w >= (const char *)loops &&
         (const char *)w < (const char *)(loops + MAX_LOOPS);
}

void wb__trace_loop_idle(struct ev_loop *loop) {
  if (!wb__trace_on || !is_owner())
    return;
  pthread_mutex_lock(&mu);
  int i = loop_find(loop);
  if (i && loops[i - 1].run_since >= 0) {
    ev_new(T_RUN, loops[i - 1].run_since, now_us())->loop = (uint8_t)i;
    loops[i - 1].run_since = -1;
  }
  if (i)
    loops[i - 1].poll_since = -1;
  pthread_mutex_unlock(&mu);
}

void wb__trace_loop_gone(struct ev_loop *loop) {
  if (!wb__trace_on)
    return;
  pthread_mutex_lock(&mu);
  int li = loop_find(loop);
  if (li) {
    double t = now_us();
    struct tloop *l = &loops[li - 1];
    if (l->run_since >= 0 && is_owner())
      ev_new(T_RUN, l->run_since, t)->loop = (uint8_t)li;
    /* Its watchers wait no more; one still fronted by the trampoline keeps
     * its slot (loop 0), so a restart on another loop finds its callback.
     * A slot shifted back into place i by slot_del is looked at again. */
    for (unsigned i = 0; i < R.nslots; i++) {
      while (R.slots[i].id && R.slots[i].loop == li) {
        struct slot *s = &R.slots[i];
        if (s->since >= 0 && is_owner() && !l->foreign)
          wait_event(s, t, H_GONE);
        if (R.tramp && s->kind != WB_TRACE_once) {
          s->loop = 0;
          s->since = -1;
        } else {
          slot_del(s);
        }
      }
    }
    /* The slot stays taken (events refer to it by index), but no longer
     * matches: a new loop at the same address is attached afresh. */
    l->loop = NULL;
    l->run_since = l->poll_since = -1;
  }
  pthread_mutex_unlock(&mu);
}

/* ---- Tasks and marks -------------------------------------------------------- */

/* The task a mark names ("Task 1: started" names "Task 1"), 0 for none. */
static uint16_t task_of(const char *text) {
  const char *colon = strstr(text, ": ");
  size_t len = colon ? (size_t)(colon - text) : 0;
  if (len == 0 || len >= TASK_NAME)
    return 0;
  for (int i = 1; i <= R.ntasks; i++)
    if (!strncmp(R.tasks[i], text, len) && R.tasks[i][len] == 0)
      return (uint16_t)i;
  if (R.ntasks + 1 == MAX_TASKS)
    return 0;
  R.ntasks++;
  memcpy(R.tasks[R.ntasks], text, len);
  R.tasks[R.ntasks][len] = 0;
  return (uint16_t)R.ntasks;
}

/* Cuts `s` where a UTF-8 sequence is broken and replaces other bad bytes,
 * so that the trace is valid JSON whatever a program marks. */
static void utf8_clean(char *s) {
  unsigned char *p = (unsigned char *)s;
  while (*p) {
    int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
                        : (*p & 0xF8) == 0xF0 ? 3 : -1;
    int k = 1;
    while (k <= n && (p[k] & 0xC0) == 0x80)
      k++;
    if (n >= 0 && k > n) {
      p += n + 1;
    } else if (n > 0 && p[k] == 0) {
      *p = 0; /* the text was cut inside the sequence */
      return;
    } else {
      *p++ = '?';
    }
  }
}

void wb_trace_mark(const char *fmt, ...) {
  if (__builtin_expect(!wb__trace_on, 1) || !is_owner())
    return;
  char text[WB_TRACE_TEXT];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  utf8_clean(text);
  pthread_mutex_lock(&mu);
  double t = now_us();
  uint16_t task = task_of(text);
  if (task)
    R.cur_task = task; /* watchers started from here on belong to it */
  struct tev *e = ev_new(T_MARK, t, t);
  memcpy(e->u.text, text, sizeof text);
  e->task = task;
  e->call = R.depth > 0 && R.depth <= MAX_DEPTH ? R.calls[R.depth - 1].seq : 0;
  pthread_mutex_unlock(&mu);
}

/* ---- Hooks ----------------------------------------------------------------------- */

void wb__trace_details(struct ev_loop *loop, const ev_watcher *w,
                       enum wb_trace_kind kind, int *fd, double *after_s) {
  *fd = -1;
  *after_s = -1;
  switch (kind) {
  case WB_TRACE_io:
    *fd = ((const ev_io *)w)->fd;
    break;
  case WB_TRACE_timer:
    /* Once started, libev keeps the due time, not the delay: what remains
     * right after the start is the delay asked for. */
    if (ev_is_active(w))
      *after_s = ev_timer_remaining(loop, (ev_timer *)w);
    break;
  case WB_TRACE_periodic:
    *after_s = ((const ev_periodic *)w)->interval;
    break;
  case WB_TRACE_signal:
    *fd = ((const ev_signal *)w)->signum;
    break;
  case WB_TRACE_child:
    *fd = ((const ev_child *)w)->pid;
    break;
  default:
    break;
  }
}

int wb__trace_watch(struct ev_loop *loop, const void *id, enum wb_trace_kind kind,
                    wb_trace_fn cb, int fd, double after_s) {
  if (!wb__trace_on || !id || wb_trace_owns(id) || !is_owner())
    return 0;
  int li = loop_attach(loop);
  pthread_mutex_lock(&mu);
  double t = now_us();
  struct slot *s = slot_find(id);
  /* The program's trampoline in front: a restart of a watcher whose
   * callback the table keeps (it is not the watcher's own). */
  int tramp = R.tramp && cb == (wb_trace_fn)R.tramp;
  if (s && s->since >= 0 && s->loop == li) {
    /* Already waiting (ev_timer_again): the wait goes on. */
  } else if (s || (!tramp && (s = slot_add(id)))) {
    /* New, restarted in its own callback, or back after its loop went;
     * a callback given anew (ev_init again) replaces the one kept. */
    if (!tramp)
      s->cb = cb;
    s->since = t;
    s->kind = (uint8_t)kind;
    s->fd = fd;
    s->after_ms = after_s >= 0 ? (float)(after_s * 1e3) : -1.f;
    s->events = kind == WB_TRACE_io ? (uint8_t)(((const ev_io *)id)->events & (EV_READ | EV_WRITE)) : 0;
    s->task = R.cur_task;
    s->loop = (uint8_t)li;
  } else {
    R.untracked++;
  }
  pthread_mutex_unlock(&mu);
  return s != NULL && s->cb != NULL;
}

void wb__trace_unwatch(const void *id) {
  if (!wb__trace_on || !id)
    return;
  pthread_mutex_lock(&mu);
  struct slot *s = slot_find(id);
  if (s) {
    if (s->since >= 0 && s->loop && is_owner())
      wait_event(s, now_us(), H_STOPPED);
    slot_release(s);
  }
  pthread_mutex_unlock(&mu);
}

wb_trace_fn wb__trace_call_begin(const void *id, enum wb_trace_kind kind,
                                 wb_trace_fn cb, int still_waiting) {
  if (!R.slots)
    return NULL;
  pthread_mutex_lock(&mu);
  struct slot *s = id ? slot_find(id) : NULL;
  wb_trace_fn kept = s ? s->cb : NULL;
  if (!wb__trace_on || !is_owner()) {
    /* Another thread's loop (or the recorder was turned off): only the
     * table is kept right, for the trampoline to find callbacks. */
    if (s && !still_waiting)
      slot_release(s);
    pthread_mutex_unlock(&mu);
    return kept;
  }
  double t = now_us();
  struct tcall c = {++R.call_seq, t, id, cb ? cb : kept, -1.f, -1, 0,
                    R.cur_task, (uint8_t)kind, 0, 0};
  if (s) {
    c.kind = s->kind;
    c.events = s->events;
    c.after_ms = s->after_ms;
    c.fd = s->fd;
    c.task = s->task;
    c.loop = s->loop;
    if (s->since >= 0 && s->loop)
      wait_event(s, t, H_FIRED);
    if (still_waiting)
      s->since = -1; /* its next wait begins when the callback returns */
    else
      slot_release(s);
  }
  if (R.depth < MAX_DEPTH)
    R.calls[R.depth] = c;
  R.depth++;
  R.cur_task = c.task; /* what the callback starts belongs to its task */
  pthread_mutex_unlock(&mu);
  return kept;
}

void wb__trace_call_end(void) {
  if (!wb__trace_on)
    return;
  pthread_mutex_lock(&mu);
  if (is_owner() && R.depth > 0) {
    R.depth--;
    if (R.depth < MAX_DEPTH) {
      struct tcall *c = &R.calls[R.depth];
      double t = now_us();
      ev_watcher_event(T_CALL, c->t0, t, c->id, c->cb, c->kind, c->fd,
                       c->after_ms, c->events, c->task, c->loop, 0, c->seq);
      /* Still (or again) waiting: it cannot fire before its own callback
       * returned, so its wait begins now. */
      struct slot *s = c->id ? slot_find(c->id) : NULL;
      if (s && s->loop)
        s->since = t;
      R.cur_task = c->outer_task;
    }
  }
  pthread_mutex_unlock(&mu);
}

void wb__trace_set_trampoline(void (*tramp)(struct ev_loop *, ev_watcher *, int)) {
  R.tramp = tramp;
}

void wb__trace_set_command(const char *command) {
  snprintf(R.command, sizeof R.command, "%s", command);
}

/* ---- Starting and stopping --------------------------------------------------- */

static unsigned env_events(void) {
  const char *s = getenv("WB_TRACE_EVENTS");
  long v = s ? strtol(s, NULL, 10) : 0;
  return v > 0 && v <= (1l << 26) ? (unsigned)v : WB_TRACE_EVENTS_DEFAULT;
}

void wb_trace_stop(void) {
  wb__trace_on = 0;
  pthread_mutex_lock(&mu);
  /* Watchers still fronted by the program's trampoline get their own
   * callbacks back: the table that knows them goes. Those of a destroyed
   * loop (loop 0) may be gone and are not touched. */
  for (unsigned i = 0; R.tramp && i < R.nslots; i++) {
    struct slot *s = &R.slots[i];
    if (s->id && s->loop && s->kind != WB_TRACE_once &&
        ((ev_watcher *)s->id)->cb == R.tramp)
      ((ev_watcher *)s->id)->cb = (void (*)(struct ev_loop *, ev_watcher *, int))s->cb;
  }
  free(R.ev);
  free(R.slots);
  void (*tramp)(struct ev_loop *, ev_watcher *, int) = R.tramp;
  memset(&R, 0, sizeof R);
  R.tramp = tramp;
  pthread_mutex_unlock(&mu);
}

int wb_trace_start(const char *path, unsigned max_events) {
  if (!path)
    return -EINVAL;
  wb_trace_stop();
  unsigned cap = max_events ? max_events : env_events();
  if (cap < 16)
    cap = 16;
  /* Room for half as many waiting watchers as events, at most 3/4 full. */
  unsigned nslots = 1024;
  while (nslots < cap / 2 * 4 / 3 + 1)
    nslots *= 2;
  struct tev *ev = calloc(cap, sizeof *ev);
  struct slot *slots = calloc(nslots, sizeof *slots);
  if (!ev || !slots) {
    free(ev);
    free(slots);
    return -ENOMEM;
  }
  pthread_mutex_lock(&mu);
  R.ev = ev;
  R.cap = cap;
  R.slots = slots;
  R.nslots = nslots;
  R.owner = pthread_self();
  R.pid = getpid();
  snprintf(R.path, sizeof R.path, "%s", path);
  R.t_start = now_s();
  for (int i = 0; i < nloops; i++)
    loops[i].poll_since = loops[i].run_since = -1;
  pthread_mutex_unlock(&mu);
  wb__trace_on = 1;
  return 0;
}

int wb_trace_enabled(void) { return wb__trace_on; }

unsigned long wb_trace_dropped(void) {
  return R.n > R.cap ? R.n - R.cap : 0;
}

/* ---- Names for callbacks ----------------------------------------------------- */

/* Each callback seen, with the name the trace gives it: "{cb:0xOFFSET}"
 * and "{at:0xOFFSET}" (offsets in the program file, for addr2line, done
 * here for a file and by the grader for a test's trace), or the resolved
 * "function" and "file.c:line". */
#define MAX_NAMES 512
struct name {
  wb_trace_fn cb;
  unsigned long offset; /* 0: not in the program itself */
  char fn[80];
  char at[96];
};
static struct name names[MAX_NAMES];
static int nnames;

static const struct name *name_of(wb_trace_fn cb) {
  static struct name unknown = {NULL, 0, "a callback", ""};
  for (int i = 0; i < nnames; i++)
    if (names[i].cb == cb)
      return &names[i];
  if (!cb || nnames == MAX_NAMES)
    return &unknown;
  struct name *n = &names[nnames++];
  Dl_info info, self;
  n->cb = cb;
  n->offset = 0;
  uintptr_t addr = (uintptr_t)cb;
  if (dladdr((void *)addr, &info) && info.dli_fbase &&
      dladdr((void *)(uintptr_t)wb_trace_start, &self) &&
      info.dli_fbase == self.dli_fbase) {
    /* Position-independent programs are linked at 0: the offset is the
     * address addr2line knows. Others keep their absolute addresses. */
    const ElfW(Ehdr) *eh = info.dli_fbase;
    n->offset = eh->e_type == ET_DYN ? addr - (uintptr_t)info.dli_fbase : addr;
    snprintf(n->fn, sizeof n->fn, "{cb:0x%lx}", n->offset);
    snprintf(n->at, sizeof n->at, "{at:0x%lx}", n->offset);
  } else if (dladdr((void *)addr, &info) && info.dli_sname) {
    const char *lib = info.dli_fname ? strrchr(info.dli_fname, '/') : NULL;
    snprintf(n->fn, sizeof n->fn, "%s", info.dli_sname);
    snprintf(n->at, sizeof n->at, "%s", lib ? lib + 1 : "");
  } else {
    snprintf(n->fn, sizeof n->fn, "callback at %p", (void *)addr);
    n->at[0] = 0;
  }
  return n;
}

/* Names every callback of the program with addr2line, in one run. Where
 * that fails the markers stay, for `grader timeline` to try again. */
static void names_resolve(const char *exe) {
  char *argv[MAX_NAMES + 8];
  char addrs[MAX_NAMES][24];
  int idx[MAX_NAMES], n = 0, a = 0;
  argv[a++] = "addr2line";
  argv[a++] = "-f";
  argv[a++] = "-s";
  argv[a++] = "-e";
  argv[a++] = (char *)exe;
  for (int i = 0; i < nnames; i++)
    if (names[i].offset) {
      snprintf(addrs[n], sizeof addrs[n], "0x%lx", names[i].offset);
      idx[n] = i;
      argv[a++] = addrs[n++];
    }
  argv[a] = NULL;
  if (n == 0)
    return;
  int p[2];
  if (pipe(p) < 0)
    return;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_addclose(&fa, p[0]);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int rc = posix_spawnp(&pid, "addr2line", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  static char out[64 << 10];
  size_t got = 0;
  for (ssize_t r; rc == 0 && got < sizeof out - 1 &&
                  (r = read(p[0], out + got, sizeof out - 1 - got)) > 0;)
    got += (size_t)r;
  out[got] = 0;
  close(p[0]);
  int status = -1;
  if (rc == 0)
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
  if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return;
  /* Two lines per address: the function, then "file.c:line". */
  char *save = NULL, *line = strtok_r(out, "\n", &save);
  for (int k = 0; k < n && line; k++) {
    char *loc = strtok_r(NULL, "\n", &save);
    struct name *nm = &names[idx[k]];
    if (strcmp(line, "??") != 0)
      snprintf(nm->fn, sizeof nm->fn, "%s", line);
    if (loc && strncmp(loc, "??", 2) != 0) {
      loc[strcspn(loc, " ")] = 0; /* " (discriminator 2)" */
      snprintf(nm->at, sizeof nm->at, "%s", loc);
    } else {
      nm->at[0] = 0;
    }
    line = strtok_r(NULL, "\n", &save);
  }
}

/* ---- Writing: Chrome's trace event format --------------------------------- */

/* The writer uses no allocation and no stdio stream: a test hands in its
 * trace from a signal handler when it is about to be stopped. */
static struct {
  int fd, err;
  size_t len;
  char buf[1 << 16];
} out;

static void out_flush(void) {
  for (size_t off = 0; off < out.len && !out.err;) {
    ssize_t w = write(out.fd, out.buf + off, out.len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      out.err = w < 0 ? errno : EIO;
    else
      off += (size_t)w;
  }
  out.len = 0;
}

static void out_str(const char *s) {
  for (size_t n = strlen(s); n > 0;) {
    if (out.len == sizeof out.buf)
      out_flush();
    size_t k = sizeof out.buf - out.len < n ? sizeof out.buf - out.len : n;
    memcpy(out.buf + out.len, s, k);
    out.len += k;
    s += k;
    n -= k;
  }
}

static void out_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out_fmt(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  out_str(line);
}

/* A JSON string, quotes included. */
static void out_json(const char *s) {
  char esc[8];
  out_str("\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      esc[0] = '\\', esc[1] = (char)*p, esc[2] = 0;
      out_str(esc);
    } else if (*p < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", *p);
      out_str(esc);
    } else {
      esc[0] = (char)*p, esc[1] = 0;
      out_str(esc);
    }
  }
  out_str("\"");
}

/* The rows of the picture, as Chrome's threads: one per loop, one per
 * watcher (its address, callback and task), one per task for its marks,
 * and one for marks of no task. */
#define MAX_ROWS 256
enum { ROW_LOOP, ROW_WATCHER, ROW_TASK, ROW_MARKS, ROW_MORE };
struct row {
  uint8_t cls, kind, loop, after_varies;
  uint16_t task;
  const void *id;
  wb_trace_fn cb;
  int32_t fd;
  float after_ms;
  double first;
};
static struct row rows[MAX_ROWS];
static int nrows;

static int row_of(const struct tev *e) {
  struct row key = {0};
  switch (e->type) {
  case T_POLL:
  case T_RUN:
    key.cls = ROW_LOOP;
    key.loop = e->loop;
    break;
  case T_MARK:
    key.cls = e->task ? ROW_TASK : ROW_MARKS;
    key.task = e->task;
    break;
  default:
    key.cls = ROW_WATCHER;
    key.id = e->u.w.id;
    key.cb = e->u.w.cb;
    key.task = e->task;
  }
  for (int i = 0; i < nrows; i++) {
    struct row *r = &rows[i];
    if (r->cls == key.cls && r->loop == key.loop && r->task == key.task &&
        r->id == key.id && r->cb == key.cb) {
      if (e->t0 < r->first)
        r->first = e->t0;
      if (key.cls == ROW_WATCHER && e->u.w.after_ms != r->after_ms)
        r->after_varies = 1;
      return i;
    }
  }
  if (nrows >= MAX_ROWS - 1) { /* the last row takes the rest */
    if (nrows == MAX_ROWS - 1)
      rows[nrows++] = (struct row){.cls = ROW_MORE, .first = e->t0};
    return MAX_ROWS - 1;
  }
  key.first = e->t0;
  if (key.cls == ROW_WATCHER) {
    key.kind = e->kind;
    key.fd = e->u.w.fd;
    key.after_ms = e->u.w.after_ms;
  }
  rows[nrows] = key;
  return nrows++;
}

static const char *ended_words[] = {"fired", "stopped", "still waiting",
                                    "loop destroyed while waiting"};

static void write_event(const struct tev *e) {
  if (e->loop && e->loop <= MAX_LOOPS && loops[e->loop - 1].foreign)
    return; /* another thread's loop */
  int tid = row_of(e) + 1;
  const char *task = e->task ? R.tasks[e->task] : NULL;
  double dur = e->t1 - e->t0;
  switch (e->type) {
  case T_POLL:
  case T_RUN:
    out_fmt("{\"ph\":\"X\",\"cat\":\"%s\",\"name\":\"%s\",\"pid\":1,\"tid\":%d,"
            "\"ts\":%.3f,\"dur\":%.3f%s},\n",
            e->type == T_POLL ? "poll" : "run",
            e->type == T_POLL ? "polling" : "running callbacks", tid, e->t0,
            dur, e->how == H_OPEN ? ",\"args\":{\"open\":true}" : "");
    return;
  case T_MARK:
    out_fmt("{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"mark\",\"pid\":1,\"tid\":%d,"
            "\"ts\":%.3f,\"name\":",
            tid, e->t0);
    out_json(e->u.text);
    out_fmt(",\"args\":{\"call\":%u", e->call);
    break;
  default: {
    const struct name *nm = name_of(e->u.w.cb);
    int wait = e->type == T_WAIT;
    out_fmt("{\"ph\":\"X\",\"cat\":\"%s\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,"
            "\"dur\":%.3f,\"name\":",
            wait ? "wait" : "callback", tid, e->t0, dur);
    out_json(wait ? "waiting" : nm->fn);
    out_fmt(",\"args\":{\"kind\":\"%s\"", kind_names[e->kind % WB_TRACE_NKINDS]);
    if (wait) {
      out_str(",\"ended\":");
      out_json(ended_words[e->how & 3]);
      out_str(",\"callback\":");
      out_json(nm->fn);
    } else {
      out_str(",\"at\":");
      out_json(nm->at);
      out_fmt(",\"call\":%u", e->call);
      if (e->how == H_OPEN)
        out_str(",\"open\":true");
    }
    if (e->u.w.fd >= 0)
      out_fmt(",\"%s\":%d", e->kind == WB_TRACE_signal ? "signal"
                            : e->kind == WB_TRACE_child ? "pid" : "fd",
              e->u.w.fd);
    if (e->u.w.after_ms >= 0)
      out_fmt(",\"after_ms\":%.3f", e->u.w.after_ms);
    if (e->u.w.events)
      out_fmt(",\"waits_for\":\"%s%s%s\"", e->u.w.events & EV_READ ? "reading" : "",
              e->u.w.events == (EV_READ | EV_WRITE) ? " and " : "",
              e->u.w.events & EV_WRITE ? "writing" : "");
  }
  }
  if (task) {
    out_str(",\"task\":");
    out_json(task);
  }
  out_str("}},\n");
}

/* "ev_timer 100 ms", "ev_io fd 7", ... */
static void kind_words(const struct row *r, char *buf, size_t len) {
  const char *k = kind_names[r->kind % WB_TRACE_NKINDS];
  char ms[32] = "";
  if (r->after_ms >= 0 && !r->after_varies && r->kind != WB_TRACE_once)
    snprintf(ms, sizeof ms, " %g ms", (double)r->after_ms);
  switch (r->kind) {
  case WB_TRACE_io:
    snprintf(buf, len, "%s fd %d", k, r->fd);
    break;
  case WB_TRACE_signal:
    snprintf(buf, len, "%s %d", k, r->fd);
    break;
  case WB_TRACE_child:
    snprintf(buf, len, "%s pid %d", k, r->fd);
    break;
  case WB_TRACE_once:
    if (r->after_ms > 0 && !r->after_varies)
      snprintf(ms, sizeof ms, " %g ms", (double)r->after_ms);
    if (r->fd >= 0)
      snprintf(buf, len, "%s fd %d%s", k, r->fd, ms);
    else
      snprintf(buf, len, "%s%s", k, ms);
    break;
  default:
    snprintf(buf, len, "%s%s", k, ms);
  }
}

static void write_rows(void) {
  int loops_seen = 0;
  for (int i = 0; i < nrows; i++)
    loops_seen += rows[i].cls == ROW_LOOP;
  for (int i = 0; i < nrows; i++) {
    const struct row *r = &rows[i];
    char name[256], kw[64];
    switch (r->cls) {
    case ROW_LOOP:
      if (loops_seen > 1)
        snprintf(name, sizeof name, "loop %d", r->loop);
      else
        snprintf(name, sizeof name, "loop");
      break;
    case ROW_WATCHER:
      kind_words(r, kw, sizeof kw);
      snprintf(name, sizeof name, "%s%s%s · %s", r->task ? R.tasks[r->task] : "",
               r->task ? " · " : "", name_of(r->cb)->fn, kw);
      break;
    case ROW_TASK:
      snprintf(name, sizeof name, "%s", R.tasks[r->task]);
      break;
    case ROW_MARKS:
      snprintf(name, sizeof name, "marks");
      break;
    default:
      snprintf(name, sizeof name, "more watchers (over %d rows)", MAX_ROWS - 1);
    }
    out_fmt("{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":%d,"
            "\"args\":{\"name\":",
            i + 1);
    out_json(name);
    /* Loops first, then the rows in the order they began. */
    int rank = 0;
    for (int j = 0; j < nrows; j++)
      rank += (rows[j].cls == ROW_LOOP) > (r->cls == ROW_LOOP) ||
              ((rows[j].cls == ROW_LOOP) == (r->cls == ROW_LOOP) &&
               (rows[j].first < r->first || (rows[j].first == r->first && j < i)));
    out_fmt("}},\n{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":1,"
            "\"tid\":%d,\"args\":{\"sort_index\":%d}},\n",
            i + 1, rank);
  }
}

int wb_trace_write(void) {
  if (!R.ev || getpid() != R.pid)
    return R.ev ? 0 : -EINVAL;
  /* Not from under our own feet: a signal handler may call this while the
   * interrupted code holds the lock; it then goes ahead without it. */
  int locked = 0;
  for (int i = 0; i < 1000 && !(locked = !pthread_mutex_trylock(&mu)); i++)
    sched_yield();
  double t = now_us();
  int to_stderr = !strcmp(R.path, "-");
  char exe[1024];
  ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[el > 0 ? el : 0] = 0;
  unsigned kept = R.n < R.cap ? (unsigned)R.n : R.cap;
  unsigned first = R.n < R.cap ? 0 : R.head;
  nrows = 0;
  memset(rows, 0, sizeof rows);
  if (!to_stderr) {
    /* Every callback named before anything is written. */
    nnames = 0;
    for (unsigned k = 0; k < kept; k++) {
      const struct tev *e = &R.ev[(first + k) % R.cap];
      if (e->type == T_WAIT || e->type == T_CALL)
        name_of(e->u.w.cb);
    }
    for (unsigned i = 0; i < R.nslots; i++)
      if (R.slots[i].id)
        name_of(R.slots[i].cb);
    for (int d = 0; d < R.depth && d < MAX_DEPTH; d++)
      name_of(R.calls[d].cb);
    names_resolve(exe);
  }
  out.err = 0;
  out.len = 0;
  out.fd = to_stderr ? 2 : open(R.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out.fd < 0) {
    int err = errno;
    if (locked)
      pthread_mutex_unlock(&mu);
    return -err;
  }
  if (to_stderr)
    out_str("\n" WB_TRACE_BEGIN "\n");
  out_str("{\"traceEvents\":[\n");
  for (unsigned k = 0; k < kept; k++)
    write_event(&R.ev[(first + k) % R.cap]);
  /* What is still going on ends now, open. */
  struct tev e;
  for (unsigned i = 0; i < R.nslots; i++) {
    const struct slot *s = &R.slots[i];
    if (!s->id || s->since < 0 || !s->loop)
      continue;
    e = (struct tev){s->since, t, .type = T_WAIT, .kind = s->kind, .how = H_OPEN,
                     .loop = s->loop, .task = s->task};
    e.u.w.id = s->id, e.u.w.cb = s->cb, e.u.w.fd = s->fd, e.u.w.after_ms = s->after_ms;
    e.u.w.events = s->events;
    write_event(&e);
  }
  for (int d = 0; d < R.depth && d < MAX_DEPTH; d++) {
    const struct tcall *c = &R.calls[d];
    e = (struct tev){c->t0, t, .type = T_CALL, .kind = c->kind, .how = H_OPEN,
                     .loop = c->loop, .task = c->task, .call = c->seq};
    e.u.w.id = c->id, e.u.w.cb = c->cb, e.u.w.fd = c->fd, e.u.w.after_ms = c->after_ms;
    e.u.w.events = c->events;
    write_event(&e);
  }
  for (int i = 0; i < nloops; i++) {
    const struct tloop *l = &loops[i];
    double since = l->run_since >= 0 ? l->run_since : l->poll_since;
    if (!l->loop || since < 0)
      continue;
    e = (struct tev){since, t, .type = l->run_since >= 0 ? T_RUN : T_POLL,
                     .how = H_OPEN, .loop = (uint8_t)(i + 1)};
    write_event(&e);
  }
  write_rows();
  const char *prog = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
  out_str("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"args\":{\"name\":");
  out_json(R.command[0] ? R.command : prog);
  out_str("}}\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{\"program\":");
  out_json(prog);
  out_str(",\"binary\":");
  out_json(exe);
  out_str(",\"command\":");
  out_json(R.command);
  out_fmt(",\"clock\":\"CLOCK_MONOTONIC, microseconds since the recorder "
          "started\",\"block_ms\":50,\"capacity\":%u,\"events_recorded\":%lu,"
          "\"events_dropped\":%lu,\"watchers_untracked\":%lu,\"ended_at\":%.3f}}\n",
          R.cap, R.n, wb_trace_dropped(), R.untracked, t);
  if (to_stderr)
    out_str(WB_TRACE_END "\n");
  out_flush();
  int err = out.err;
  if (!to_stderr && close(out.fd) < 0 && !err)
    err = errno;
  if (locked)
    pthread_mutex_unlock(&mu);
  return -err;
}
