#!/bin/bash
# try-local.sh - tries mk/parallel/grade-class.sh with a second "machine"
# made on this one: an sshd on 127.0.0.1 (throwaway keys in a scratch
# folder) whose sessions see the workbook at the same path but through an
# overlay of their own, so what they write stays there until GNU parallel
# brings it back. Grades a generated class on ':' (here) and that machine,
# checks the CSV, and stops sshd again.
#
#   sudo mk/parallel/try-local.sh        (or: make parallel-try)
#
# As root; installs parallel, openssh-server and rsync with apt-get if they
# are missing. Every step is bounded in time; sshd is stopped by its pid on
# every path, a failure included.
set -eu -o pipefail
cd "$(dirname "$0")/../.."
top=$PWD
t0=$SECONDS
say() { printf '[%4ds] %s\n' $((SECONDS - t0)) "$*"; }
fail() { say "FAIL: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "try-local.sh: run it as root (it installs packages and starts sshd)" >&2; exit 2; }
[ -x build/grader ] || { echo "try-local.sh: build/grader is missing: run make first" >&2; exit 2; }
assignment=assignments/week-02.txt

# ---- What is undone on the way out, whatever the way -------------------------

scratch="" sshd_pid="" policy_rc_added="" privsep_added=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  [ -n "$policy_rc_added" ] && rm -f /usr/sbin/policy-rc.d
  if [ -n "$sshd_pid" ] && kill -0 "$sshd_pid" 2>/dev/null; then
    kill -TERM "$sshd_pid"
    for _ in $(seq 100); do kill -0 "$sshd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$sshd_pid" 2>/dev/null && { say "sshd ($sshd_pid) did not stop in 10 s: killed"; kill -KILL "$sshd_pid"; }
    wait "$sshd_pid" 2>/dev/null
    say "sshd stopped (pid $sshd_pid)"
  fi
  [ -n "$privsep_added" ] && rmdir /run/sshd 2>/dev/null
  if [ -n "$scratch" ]; then
    if [ "$rc" -eq 0 ]; then rm -rf "$scratch"
    else say "sshd's log, the other machine's files and the class are kept in $scratch"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM
# Waits up to $2 tenths of a second for the command $1 to succeed.
wait_for() { for _ in $(seq "$2"); do eval "$1" && return 0; sleep 0.1; done; return 1; }

# ---- Packages ----------------------------------------------------------------

source mk/try-class.sh
try_install parallel openssh-server openssh-client rsync

# Says so when the workbook's tests changed during the try (someone editing
# grader/support, lib, server or an exercise): the merge rightly refuses.
why_failed() {
  grep -q 'graded with other tests or points' "$@" 2>/dev/null &&
    echo " (the workbook's tests changed during the try: try again when nobody edits it)"
  return 0
}

# ---- The other machine: sshd on 127.0.0.1, the workbook through an overlay ---

scratch=$(mktemp -d /tmp/wb-parallel.XXXXXX)
mkdir -p "$scratch/upper" "$scratch/overlay-work"
ssh-keygen -q -t ed25519 -N '' -C wb-try-host -f "$scratch/host_key"
ssh-keygen -q -t ed25519 -N '' -C wb-try-user -f "$scratch/user_key"
cp "$scratch/user_key.pub" "$scratch/authorized_keys"
echo "wbtry $(cat "$scratch/host_key.pub")" >"$scratch/known_hosts"
free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 20000))
    [ -z "$(ss -Htan "( sport = :$p )")" ] && { echo "$p"; return 0; }
  done
  return 1
}
port=$(free_port) || fail "no free port"
cat >"$scratch/sshd_config" <<CONF
# The sshd of mk/parallel/try-local.sh: 127.0.0.1 only, one key, root only.
ListenAddress 127.0.0.1:$port
HostKey $scratch/host_key
PidFile $scratch/sshd.pid
AuthorizedKeysFile $scratch/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers root
UsePAM no
StrictModes no
X11Forwarding no
AllowTcpForwarding no
PrintMotd no
LogLevel VERBOSE
CONF
cat >"$scratch/ssh_config" <<CONF
Host wbtry
  HostName 127.0.0.1
  Port $port
  User root
  IdentityFile $scratch/user_key
  IdentitiesOnly yes
  HostKeyAlias wbtry
  UserKnownHostsFile $scratch/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 10
CONF
# Debian's sshd wants its privilege separation folder.
[ -d /run/sshd ] || { mkdir -m 755 /run/sshd && privsep_added=1; }
# sshd in a mount namespace of its own, where the workbook's folder is an
# overlay: the same files, but what the other machine writes (its shards'
# gradebooks, its cache) lands in $scratch/upper, not here. unshare and sh
# exec, so $! is sshd's pid.
unshare --mount --propagation private -- /bin/sh -c '
  mount -t overlay wb-try -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/overlay-work" "$1" &&
  exec /usr/sbin/sshd -D -e -f "$2/sshd_config"' sh "$top" "$scratch" 2>"$scratch/sshd.log" &
sshd_pid=$!
export PARALLEL_SSH="ssh -F $scratch/ssh_config"
wait_for '$PARALLEL_SSH wbtry true 2>/dev/null' 100 ||
  fail "no ssh to the other machine: $(tail -5 "$scratch/sshd.log")"
listening=$(ss -Htlnp | grep "pid=$sshd_pid," || true)
say "sshd up (pid $sshd_pid), listening on $(echo "$listening" | awk '{print $4}' | tr '\n' ' ')"
echo "$listening" | awk '{print $4}' | grep -v '^127\.0\.0\.1:' | grep -q . && fail "sshd listens beyond 127.0.0.1"
# The proof that it is another machine for our purpose: a file made there
# is not here.
$PARALLEL_SSH wbtry "cd $top && touch build/.wb-try-other-machine"
[ ! -e build/.wb-try-other-machine ] && [ -e "$scratch/upper/build/.wb-try-other-machine" ] ||
  fail "the other machine's workbook is not separate from this one"
say "the other machine sees $top, and what it writes there stays in its overlay"

# ---- A class with known scores, graded on both machines ----------------------

class=$scratch/class
try_class_make "$class" "$assignment" || fail "no class"
say "class of $n submissions in $class; $assignment is worth $all"
csv=build/parallel/class.csv
# A run's files are named after its class, here a scratch folder, so every
# try has its own; those of earlier tries (their class gone) are removed.
for d in build/parallel/run-*; do
  [ -f "$d/run.txt" ] || continue
  prev=$(sed -n 's/^class=//p' "$d/run.txt")
  case $prev in /tmp/wb-parallel.*/class) [ -d "$prev" ] || rm -rf "$d" ;; esac
done

say "run 1: 4 shards on ':' (here) and wbtry"
start=$SECONDS
timeout 900 mk/parallel/grade-class.sh "$class" "$assignment" ":,wbtry" 2>&1 |
  tee "$scratch/run1.out" | sed 's/^/         /' || fail "grade-class.sh failed$(why_failed "$scratch/run1.out")"
say "run 1 took $((SECONDS - start)) s"
run=$(sed -n 's|^Gradebook: .* (shards: \(build/parallel/run-[0-9a-f]*\)/shard-I.db)$|\1|p' "$scratch/run1.out")
[ -n "$run" ] || fail "grade-class.sh did not say where the shards are"
# Which machine ran each shard (the joblog's Host column; its Seq is the
# shard's number), and for those of wbtry: the gradebook made there came back here, byte for byte.
remote=0
while read -r host shard; do
  if [ "$host" = wbtry ]; then
    there=$scratch/upper/$run/shard-$shard.db
    [ -f "$there" ] || fail "shard $shard ran on wbtry but left no gradebook there"
    cmp -s "$there" "$run/shard-$shard.db" || fail "shard $shard's gradebook did not come back from wbtry"
    remote=$((remote + 1))
    say "ok: shard $shard graded on wbtry, its gradebook brought back ($(stat -c %s "$there") bytes)"
  fi
done < <(awk -F'\t' 'NR > 1 && $7 == 0 {print $2, $1}' "$run/joblog" | sort -u)
[ "$remote" -gt 0 ] || fail "no shard ran on wbtry: $(cat "$run/joblog")"
rows=$(try_class_check "$csv") || fail "$rows"
echo "$rows"
say "ok: $n rows, every score as expected"
cp "$csv" "$scratch/run1.csv"

say "run 2: the same class again, all on wbtry: nothing graded twice (the shards graded here go there)"
cp "$run/joblog" "$scratch/run1.joblog"
start=$SECONDS
timeout 900 mk/parallel/grade-class.sh "$class" "$assignment" wbtry >"$scratch/run2.out" 2>&1 ||
  { cat "$scratch/run2.out"; fail "grade-class.sh failed$(why_failed "$scratch/run2.out")"; }
grep -E 'Done:|^  shard' "$scratch/run2.out" | sed 's/^/         /'
moved=$(awk -F'\t' 'NR > 1 && $2 == ":"' "$scratch/run1.joblog" | wc -l)
kept=$(sed -n 's/.*Done: 0 graded now, \([0-9]*\) kept.*/\1/p' "$scratch/run2.out" | _try_sum)
[ "$kept" = "$n" ] || { cat "$scratch/run2.out"; fail "run 2 kept $kept of $n$(grep -q 'tests changed' "$scratch/run2.out" && echo ": the workbook's tests changed since run 1")"; }
cmp -s "$csv" "$scratch/run1.csv" || { diff "$scratch/run1.csv" "$csv"; fail "run 2's CSV differs"; }
say "ok: all $n kept ($moved shard(s) moved from here to wbtry), the same CSV, in $((SECONDS - start)) s"
say "PASS: $n submissions in 4 shards on 2 machines; the CSV is $top/$csv"
