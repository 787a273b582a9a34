/* sandbox.c - where every compile and every test of a submission runs.
 *
 * Always: resource limits (CPU, memory, processes, file size, open files,
 * no core files), a process group of its own, a scrubbed environment, and
 * as root an unprivileged uid per job slot, so that whatever the job leaves
 * behind can be killed by uid. Where bubblewrap works: new namespaces (no
 * network, own PIDs, private /tmp), only /usr, /etc and the folders the
 * job needs visible, and only its work folder writable. Which of these was
 * in force is decided once and shown in every report.
 */
#define _GNU_SOURCE
#include "gr.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define UID_BASE 61000 /* job slots run as uids UID_BASE... */
#define UID_RANGE 4096
#define MAX_SLOTS 64
#define TMP_BYTES (64ul << 20) /* a test's private /tmp */

static int iso_known = 0;
static enum gr_isolation iso;
static char iso_why[256];

static const char *needed_dir; /* the workbook: the slot uid must read it */
static int uid_ok = -1;

void gr_sandbox_require(const char *dir) { needed_dir = dir; }

/* Whether a slot's uid can reach the workbook (not under a 0700 folder
 * such as /root): if not, jobs keep root's uid inside the namespaces. */
static int slot_uid_can_read(void) {
  if (uid_ok >= 0)
    return uid_ok;
  uid_ok = 1;
  if (!needed_dir)
    return uid_ok;
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(0, NULL) < 0 || setgid(UID_BASE) < 0 || setuid(UID_BASE) < 0)
      _exit(1);
    _exit(access(needed_dir, R_OK | X_OK) == 0 ? 0 : 1);
  }
  int status = 1;
  if (pid > 0)
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
  uid_ok = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!uid_ok)
    fprintf(stderr,
            "grader: WARNING: %s cannot be read by other users, so jobs "
            "cannot run as an unprivileged user; they keep root's uid inside "
            "the sandbox. Make the folders above it readable (chmod o+rx) "
            "to restore that.\n",
            needed_dir);
  return uid_ok;
}

static int have_root(void) { return geteuid() == 0 && slot_uid_can_read(); }

static void set_limit(int what, rlim_t v) {
  struct rlimit rl = {v, v};
  struct rlimit cur;
  /* Never try to raise a hard limit we do not have: lower both instead. */
  if (getrlimit(what, &cur) == 0 && cur.rlim_max != RLIM_INFINITY &&
      cur.rlim_max < v)
    rl.rlim_cur = rl.rlim_max = cur.rlim_max;
  setrlimit(what, &rl);
}

static void apply_limits(const gr_sandbox_t *sb, int own_uid) {
  rlim_t cpu = (rlim_t)(sb->timeout_s + 2);
  set_limit(RLIMIT_CORE, 0);
  set_limit(RLIMIT_CPU, cpu);
  set_limit(RLIMIT_FSIZE, sb->compile ? 64u << 20 : 16u << 20);
  set_limit(RLIMIT_NOFILE, sb->compile ? 1024 : 256);
  /* AddressSanitizer reserves terabytes of address space for its shadow
   * memory: a sanitizer build is bounded by ASAN_OPTIONS instead. */
  if (!sb->sanitizer)
    set_limit(RLIMIT_AS, sb->compile ? 2048ul << 20 : 1024ul << 20);
  /* RLIMIT_NPROC counts every process of the uid: only meaningful when
   * the job has a uid of its own. */
  if (own_uid)
    set_limit(RLIMIT_NPROC, 64);
}

/* Each job slot leases a uid of its own for the life of this process, so
 * that two graders on one machine (a batch and a learner's check, two
 * shards, graders in two chroots) never share a uid and never kill each
 * other's jobs. The lease is an abstract Unix socket named after the uid:
 * only one process can bind a name, the name is shared by every file
 * system view of the machine, and the kernel frees it when its holder dies,
 * even by kill -9. */
static int slot_uid[MAX_SLOTS];

static void kill_uid(uid_t uid);

static int lease_uid(int slot) {
  if (slot < 0 || slot >= MAX_SLOTS)
    slot = 0;
  if (slot_uid[slot])
    return slot_uid[slot];
  for (int u = UID_BASE; u < UID_BASE + UID_RANGE; u++) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      break;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int n = snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1,
                     "wb-grader-uid-%d", u);
    if (bind(fd, (struct sockaddr *)&addr,
             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) < 0) {
      close(fd);
      continue;
    }
    /* the socket stays open: the lease lasts as long as this process */
    slot_uid[slot] = u;
    kill_uid((uid_t)u); /* whatever a grader killed with -9 left behind */
    return u;
  }
  fprintf(stderr, "grader: no free uid for job slot %d; using %d\n", slot,
          UID_BASE + slot);
  return slot_uid[slot] = UID_BASE + slot;
}

static void drop_to_slot_uid(int slot) {
  uid_t uid = (uid_t)(slot >= 0 && slot < MAX_SLOTS && slot_uid[slot]
                          ? slot_uid[slot]
                          : UID_BASE + slot);
  if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0) {
    fprintf(stderr, "grader: could not drop privileges: %s\n", strerror(errno));
    _exit(126);
  }
}

/* Whether this bubblewrap can bound a tmpfs (--size, since 0.7): asked
 * once, before any job forks. */
static int has_size = -1;
static int bwrap_has_size(void) {
  if (has_size < 0) {
    char *argv[] = {"bwrap", "--help", NULL};
    gr_buf_t out = {0};
    gr_run_capture(argv, &out, 64 << 10);
    has_size = out.data && strstr(out.data, "--size") != NULL;
    gr_buf_free(&out);
  }
  return has_size;
}

/* Builds the bubblewrap command line in front of argv. */
static void exec_bwrap(const gr_sandbox_t *sb, char *const argv[],
                       char *const env[]) {
  const char *args[128];
  int n = 0;
  args[n++] = "bwrap";
  args[n++] = "--unshare-all";
  args[n++] = "--die-with-parent";
  args[n++] = "--new-session";
  args[n++] = "--ro-bind";
  args[n++] = "/usr";
  args[n++] = "/usr";
  /* Debian's merged /usr: /bin, /lib... are links into /usr. */
  static const char *const links[][2] = {{"usr/bin", "/bin"},
                                         {"usr/sbin", "/sbin"},
                                         {"usr/lib", "/lib"},
                                         {"usr/lib64", "/lib64"}};
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    struct stat st;
    if (lstat(links[i][1], &st) < 0)
      continue;
    if (S_ISLNK(st.st_mode)) {
      args[n++] = "--symlink";
      args[n++] = links[i][0];
    } else {
      args[n++] = "--ro-bind";
      args[n++] = links[i][1];
    }
    args[n++] = links[i][1];
  }
  args[n++] = "--ro-bind";
  args[n++] = "/etc";
  args[n++] = "/etc";
  args[n++] = "--proc";
  args[n++] = "/proc";
  args[n++] = "--dev";
  args[n++] = "/dev";
  /* A private /tmp, in memory: bounded, or a test could fill the RAM. */
  static char tmp_size[32];
  if (bwrap_has_size()) {
    snprintf(tmp_size, sizeof tmp_size, "%lu", sb->compile ? 256ul << 20 : TMP_BYTES);
    args[n++] = "--size";
    args[n++] = tmp_size;
  }
  args[n++] = "--tmpfs";
  args[n++] = "/tmp";
  for (int i = 0; i < 8 && sb->ro[i]; i++) {
    args[n++] = "--ro-bind";
    args[n++] = sb->ro[i];
    args[n++] = sb->ro[i];
  }
  if (sb->workdir) {
    args[n++] = sb->compile ? "--bind" : "--ro-bind";
    args[n++] = sb->workdir;
    args[n++] = sb->workdir;
    args[n++] = "--chdir";
    args[n++] = sb->workdir;
  }
  args[n++] = "--";
  for (int i = 0; argv[i] && n < 127; i++)
    args[n++] = argv[i];
  args[n] = NULL;
  execve("/usr/bin/bwrap", (char *const *)args, env);
  fprintf(stderr, "grader: could not start bwrap: %s\n", strerror(errno));
  _exit(127);
}

void gr_sandbox_exec(const gr_sandbox_t *sb, char *const argv[],
                     char *const env[]) {
  enum gr_isolation how = gr_isolation();
  int own_uid = have_root();
  setpgid(0, 0);
  apply_limits(sb, own_uid);
  if (own_uid)
    drop_to_slot_uid(sb->slot);
  if (how == GR_ISO_BWRAP)
    exec_bwrap(sb, argv, env);
  if (sb->workdir && chdir(sb->workdir) < 0)
    _exit(126);
  execvpe(argv[0], argv, env);
  fprintf(stderr, "grader: could not start %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

void gr_sandbox_cleanup(const gr_sandbox_t *sb, int pid) {
  if (pid > 0)
    kill(-pid, SIGKILL);
  if (!have_root())
    return;
  /* Everything running as the slot's uid belongs to this job: processes
   * that left the group with setsid included. */
  kill_uid((uid_t)lease_uid(sb->slot));
}

/* kill(-1) from that uid reaches exactly its processes. */
static void kill_uid(uid_t uid) {
  pid_t killer = fork();
  if (killer == 0) {
    if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
      _exit(1);
    kill(-1, SIGKILL);
    _exit(0);
  }
  if (killer > 0)
    while (waitpid(killer, NULL, 0) < 0 && errno == EINTR)
      ;
}

/* Runs /bin/true the way a test would run, to see whether bubblewrap
 * works on this machine (it does not where user namespaces are blocked). */
static int bwrap_works(void) {
  if (access("/usr/bin/bwrap", X_OK) != 0) {
    snprintf(iso_why, sizeof iso_why, "bubblewrap is not installed (apt-get install bubblewrap)");
    return 0;
  }
  if (have_root())
    lease_uid(0); /* taken here: the child below drops to it */
  bwrap_has_size();
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    iso = GR_ISO_BWRAP;
    iso_known = 1;
    gr_sandbox_t sb = {.timeout_s = 5, .slot = 0};
    char *argv[] = {"/bin/true", NULL};
    char *env[] = {"PATH=/usr/bin:/bin", NULL};
    gr_sandbox_exec(&sb, argv, env);
  }
  int status = -1;
  if (pid > 0)
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
  if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 1;
  snprintf(iso_why, sizeof iso_why,
           "bubblewrap is installed but cannot create namespaces here "
           "(user namespaces are probably disabled)");
  return 0;
}

int gr_sandbox_own_uid(void) { return have_root(); }

int gr_sandbox_uid(int slot) { return lease_uid(slot); }

enum gr_isolation gr_isolation(void) {
  if (iso_known)
    return iso;
  slot_uid_can_read(); /* decided once, before any job forks */
  const char *force = getenv("WB_SANDBOX");
  if (force && !strcmp(force, "none")) {
    snprintf(iso_why, sizeof iso_why, "WB_SANDBOX=none was set");
    iso = have_root() ? GR_ISO_UID : GR_ISO_RLIMITS;
  } else if (bwrap_works()) {
    iso = GR_ISO_BWRAP;
  } else {
    iso = have_root() ? GR_ISO_UID : GR_ISO_RLIMITS;
  }
  iso_known = 1;
  if (iso != GR_ISO_BWRAP)
    fprintf(stderr,
            "grader: WARNING: %s.\n"
            "grader: WARNING: submissions run with %s only: they can see the "
            "file system and the network.\n",
            iso_why, gr_isolation_text(iso));
  return iso;
}

const char *gr_isolation_text(enum gr_isolation i) {
  switch (i) {
  case GR_ISO_BWRAP:
    return have_root() ? "bubblewrap (no network, own PIDs, read-only system, "
                         "private /tmp) + rlimits + unprivileged uid"
                       : "bubblewrap (no network, own PIDs, read-only system, "
                         "private /tmp) + rlimits";
  case GR_ISO_UID:
    return "rlimits + process group + unprivileged uid (no bubblewrap)";
  default:
    return "rlimits + process group (no bubblewrap, no separate user)";
  }
}
