#!/bin/bash
# try-local.sh - tries mk/slurm/grade-class.sh on a one-node Slurm cluster
# made on this machine: munged, slurmctld and slurmd started from a scratch
# folder (their own slurm.conf, munge key, ports, spool and logs; /etc is
# not used), a generated class graded, its CSV checked, the daemons stopped.
#
#   sudo mk/slurm/try-local.sh        (or: make slurm-try)
#
# As root; installs slurm-wlm and munge with apt-get if they are missing.
# Every step is bounded in time; the daemons listen on 127.0.0.1 only and
# are stopped by their pids on every path, a failure included.
set -eu -o pipefail
cd "$(dirname "$0")/../.."
top=$PWD
t0=$SECONDS
say() { printf '[%4ds] %s\n' $((SECONDS - t0)) "$*"; }
fail() { say "FAIL: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "try-local.sh: run it as root (it installs packages and starts daemons)" >&2; exit 2; }
[ -x build/grader ] || { echo "try-local.sh: build/grader is missing: run make first" >&2; exit 2; }
assignment=assignments/week-02.txt

# ---- What is stopped on the way out, whatever the way ------------------------

scratch="" munged_pid="" slurmctld_pid="" slurmd_pid="" jobs="" policy_rc_added=""
stop_pid() { # pid name: TERM, up to 10 s to go, then KILL
  local pid=$1 name=$2
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name ($pid) did not stop in 10 s: killed"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  [ -n "$policy_rc_added" ] && rm -f /usr/sbin/policy-rc.d
  # Jobs first, while slurmd can still end their steps; then the daemons.
  if [ -n "$jobs" ] && [ -n "$slurmctld_pid" ] && kill -0 "$slurmctld_pid" 2>/dev/null; then
    # shellcheck disable=SC2086 # two job ids
    scancel ${jobs//,/ } 2>/dev/null
    for _ in $(seq 30); do
      [ -z "$(squeue -h -j "$jobs" 2>/dev/null)" ] && break
      sleep 1
    done
  fi
  stop_pid "$slurmd_pid" slurmd
  stop_pid "$slurmctld_pid" slurmctld
  stop_pid "$munged_pid" munged
  [ -n "$slurmd_pid$slurmctld_pid$munged_pid" ] && say "daemons stopped (pids $slurmd_pid $slurmctld_pid $munged_pid)"
  if [ -n "$scratch" ]; then
    if [ "$rc" -eq 0 ]; then
      rm -rf "$scratch"
    else
      say "the daemons' logs and the class are kept in $scratch"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

# ---- Packages ----------------------------------------------------------------

source mk/try-class.sh
try_install slurm-wlm munge
for c in munged munge slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
  command -v "$c" >/dev/null || fail "$c not found after installing slurm-wlm and munge"
done

# ---- Scratch folder: keys, configuration, state, logs, the class -------------

scratch=$(mktemp -d /tmp/wb-slurm.XXXXXX)
chmod 755 "$scratch" # munged runs as munge and must reach its own folder
mkdir -p "$scratch"/{etc,state,spool,log,run}
# munged wants its key private and its socket's folder open to all.
install -d -m 700 -o munge -g munge "$scratch/munge"
install -d -m 755 -o munge -g munge "$scratch/munge-socket"
(umask 077 && dd if=/dev/urandom of="$scratch/munge/munge.key" bs=1024 count=1 status=none)
chown munge:munge "$scratch/munge/munge.key"
chmod 400 "$scratch/munge/munge.key"
sock=$scratch/munge-socket/munge.socket

# Two free ports on 127.0.0.1, away from Slurm's defaults (6817, 6818), so
# that a real cluster's daemons on this machine are never disturbed.
free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 20000))
    [ "$p" != "${1:-}" ] && [ -z "$(ss -Htan "( sport = :$p )")" ] && { echo "$p"; return 0; }
  done
  return 1
}
ctld_port=$(free_port) || fail "no free port"
slurmd_port=$(free_port "$ctld_port") || fail "no free port"
node=$(hostname -s)
cpus=$(nproc)
export SLURM_CONF=$scratch/etc/slurm.conf
cat >"$SLURM_CONF" <<CONF
# A one-node cluster for mk/slurm/try-local.sh; everything in $scratch.
ClusterName=wbtry
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
# slurmctld and slurmd bind to the addresses above (127.0.0.1), not to all.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=600
KillWait=10
StateSaveLocation=$scratch/state
SlurmdSpoolDir=$scratch/spool
SlurmctldPidFile=$scratch/run/slurmctld.pid
SlurmdPidFile=$scratch/run/slurmd.pid
SlurmctldLogFile=$scratch/log/slurmctld.log
SlurmdLogFile=$scratch/log/slurmd.log
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=try Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF

# ---- Daemons, each in the foreground of a background job: $! is its pid ------

# Waits up to $2 tenths of a second for the command $1 to succeed, and
# fails at once if the daemon $3 (a pid variable's value) has died.
wait_for() {
  for _ in $(seq "$2"); do
    eval "$1" && return 0
    [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null && return 1
    sleep 0.1
  done
  return 1
}
setpriv --reuid=munge --regid=munge --clear-groups \
  munged --foreground --key-file="$scratch/munge/munge.key" --socket="$sock" \
  --pid-file="$scratch/munge/munged.pid" --log-file="$scratch/munge/munged.log" \
  --seed-file="$scratch/munge/munged.seed" >"$scratch/log/munged.out" 2>&1 &
munged_pid=$!
wait_for 'munge -n -S "$sock" 2>/dev/null | unmunge -S "$sock" >/dev/null 2>&1' 100 "$munged_pid" ||
  fail "munged did not start: $(tail -3 "$scratch/log/munged.out" "$scratch/munge/munged.log" 2>/dev/null)"
say "munged up (pid $munged_pid, socket $sock)"

slurmctld -D -f "$SLURM_CONF" >"$scratch/log/slurmctld.out" 2>&1 &
slurmctld_pid=$!
wait_for 'scontrol ping 2>/dev/null | grep -q UP' 300 "$slurmctld_pid" ||
  fail "slurmctld did not start: $(tail -5 "$scratch/log/slurmctld.log" "$scratch/log/slurmctld.out" 2>/dev/null)"
slurmd -D -N "$node" -f "$SLURM_CONF" >"$scratch/log/slurmd.out" 2>&1 &
slurmd_pid=$!
wait_for '[ "$(sinfo -h -n "$node" -o %t 2>/dev/null)" = idle ]' 600 "$slurmd_pid" ||
  fail "node $node not idle after 60 s: $(sinfo -N 2>&1; tail -5 "$scratch/log/slurmd.log" 2>/dev/null)"
say "slurmctld (pid $slurmctld_pid, port $ctld_port) and slurmd (pid $slurmd_pid, port $slurmd_port) up; sinfo:"
sinfo | sed 's/^/         /'
# What the daemons listen on: 127.0.0.1 only is the promise.
listening=$(ss -Htlnp | grep -E "pid=($slurmctld_pid|$slurmd_pid|$munged_pid)," || true)
echo "$listening" | sed 's/^/         /'
echo "$listening" | awk '{print $4}' | grep -v '^127\.0\.0\.1:' | grep -q . &&
  fail "a daemon listens beyond 127.0.0.1"

# ---- A class with known scores -----------------------------------------------

class=$scratch/class
try_class_make "$class" "$assignment" || fail "no class"
say "class of $n submissions in $class; $assignment is worth $all"

# ---- The recipe, as an instructor runs it ------------------------------------

# What an earlier try left in build/slurm (its class was in a scratch folder
# that is gone) is removed; grade-class.sh would keep it in an old-DATE/.
prev=$(sed -n 's/^class=//p' build/slurm/run.txt 2>/dev/null || true)
case $prev in
  /tmp/wb-slurm.*/class)
    [ -d "$prev" ] || (cd build/slurm && rm -f run.txt ./*.db ./*.db-wal ./*.db-shm ./*.db.lock ./*.csv ./*.log) ;;
esac
csv=build/slurm/class.csv

# Submits with grade-class.sh; sets $array and $merge, and adds them to
# $jobs (cancelled by cleanup if still there).
submit() {
  mk/slurm/grade-class.sh "$@" | tee "$scratch/log/grade-class.out" | sed 's/^/         /'
  array=$(sed -n 's/^Submitted: job \([0-9]*\) .*/\1/p' "$scratch/log/grade-class.out")
  merge=$(sed -n 's/^ *job \([0-9]*\) merges.*/\1/p' "$scratch/log/grade-class.out")
  [ -n "$array" ] && [ -n "$merge" ] || fail "grade-class.sh did not say which jobs it submitted"
  jobs=${jobs:+$jobs,}$array,$merge
  shards=$(sed -n 's/^shards=//p' build/slurm/run.txt)
  start=$SECONDS
}
# Waits (at most 600 s) until the jobs just submitted have ended.
await() {
  wait_for '[ -z "$(squeue -h -j "$array,$merge" 2>/dev/null)" ]' 6000 "$slurmctld_pid" ||
    fail "jobs $array,$merge not done after 600 s: $(squeue -j "$array,$merge")"
  say "jobs ended after $((SECONDS - start)) s:"
  squeue -h --states=all -r -j "$array,$merge" -o '%i %j %T %M' | sed 's/^/         /'
}
# The states the jobs $1 ended in, each once (an array has one per task).
states() { squeue -h --states=all -r -j "$1" -o %T | sort -u | tr '\n' ' ' | sed 's/ $//'; }
show_logs() {
  for f in build/slurm/shard-"${array}"_*.log build/slurm/merge-"$merge".log; do
    [ -f "$f" ] && { echo "--- $f"; tail -5 "$f"; }
  done
  return 0
}
# Says so when the workbook's tests changed during the try (someone editing
# grader/support, lib, server or an exercise): the merge rightly refuses.
changed() {
  grep -qs 'graded with other tests or points' "build/slurm/merge-$merge.log" &&
    echo " (the workbook's tests changed during the try: try again when nobody edits it)"
  return 0
}
# The assignment is a copy, so that the first run can lose it.
work_assignment=$scratch/$(basename "$assignment")

say "run 1: every shard fails (its assignment file is gone when it starts)"
cp "$assignment" "$work_assignment"
# The partition is down while the jobs are queued, so that none starts
# before the file is removed.
scontrol update PartitionName=try State=DOWN
submit "$class" "$work_assignment"
rm "$work_assignment"
scontrol update PartitionName=try State=UP
await
[ "$(states "$array")" = FAILED ] && [ "$(states "$merge")" = CANCELLED ] && [ ! -e "$csv" ] ||
  { show_logs; fail "shards $(states "$array"), merge $(states "$merge"), CSV $(ls "$csv" 2>&1)"; }
grep -q "$work_assignment" "build/slurm/shard-${array}_1.log" ||
  { show_logs; fail "the shard's log does not name the missing assignment"; }
say "ok: shards FAILED, merge CANCELLED (afterok), no CSV; the log says why:"
grep -h "$work_assignment" "build/slurm/shard-${array}_1.log" | head -1 | sed 's/^/         /'

say "run 2: the same command, the assignment file back"
cp "$assignment" "$work_assignment"
submit "$class" "$work_assignment"
await
[ "$(states "$array")" = COMPLETED ] && [ "$(states "$merge")" = COMPLETED ] ||
  { show_logs; fail "shards $(states "$array"), merge $(states "$merge")$(changed)"; }
for i in $(seq 1 "$shards"); do
  [ -f "build/slurm/shard-${array}_$i.log" ] || fail "no log for shard $i"
done
[ -f "build/slurm/merge-$merge.log" ] || fail "no merge log"
sed 's/^/         /' "build/slurm/merge-$merge.log"

# The CSV: one row per submission, each with its known score.
rows=$(try_class_check "$csv") || fail "$rows"
echo "$rows"
say "ok: $n rows, every score as expected"
cp "$csv" "$scratch/run2.csv"

say "run 3: the same command again grades nothing twice"
submit "$class" "$work_assignment"
await
[ "$(states "$array,$merge")" = COMPLETED ] || { show_logs; fail "run 3: $(states "$array,$merge")$(changed)"; }
kept=$(cat build/slurm/shard-"${array}"_*.log | sed -n 's/^Done: 0 graded now, \([0-9]*\) kept.*/\1/p' | _try_sum)
[ "$kept" = "$n" ] || { show_logs; fail "run 3 kept $kept of $n$(grep -qs 'tests changed' build/slurm/shard-"${array}"_*.log && echo ": the workbook's tests changed since run 2")"; }
cmp -s "$csv" "$scratch/run2.csv" || { diff "$scratch/run2.csv" "$csv"; fail "run 3's CSV differs from run 2's"; }
say "ok: all $n kept, the same CSV"
say "PASS: $n submissions in $shards shards; the CSV is $top/$csv"
