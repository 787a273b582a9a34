#!/bin/bash
# grade-class.sh - grades a class across machines with GNU parallel: one
# shard per job, run over ssh in the workbook's folder on each machine,
# each shard's gradebook brought back (--return), then merged and exported.
#
#   mk/parallel/grade-class.sh CLASS_DIR ASSIGNMENT SSHLOGINS [SHARDS]   (SHARDS: 4)
#
# SSHLOGINS is GNU parallel's --sshlogin list; ':' is this machine, so
# ':,lab2,ann@lab3' grades on three. Every machine needs: the workbook,
# built, at this same path; CLASS_DIR and ASSIGNMENT at their paths (a
# shared or copied folder); ssh without a password prompt; perl and rsync.
# PARALLEL_SSH picks the ssh command (PARALLEL_SSH='ssh -F my_config').
# Run it from the workbook's top folder. Running it again with the same
# arguments grades only what is not graded yet.
set -eu -o pipefail
usage="usage: mk/parallel/grade-class.sh CLASS_DIR ASSIGNMENT SSHLOGINS [SHARDS]"
if [ ! -x build/grader ] || [ ! -d exercises ] || [ ! -f mk/parallel/grade-class.sh ]; then
  echo "grade-class.sh: run this from the workbook's top folder (where" \
       "build/grader, exercises/ and mk/parallel/ are), e.g." >&2
  echo "  cd /path/to/workbook && mk/parallel/grade-class.sh CLASS_DIR ASSIGNMENT ':,host2'" >&2
  [ -d exercises ] && [ ! -x build/grader ] && echo "  (build/grader is missing: run make first)" >&2
  exit 2
fi
if [ $# -lt 3 ] || [ $# -gt 4 ]; then echo "$usage" >&2; exit 2; fi
logins=$3
# The one place the number of shards is set.
SHARDS=${4:-4}
case $SHARDS in '' | *[!0-9]* | 0*) echo "grade-class.sh: SHARDS must be a number from 1, not \"$SHARDS\"" >&2; exit 2 ;; esac
[ -d "$1" ] || { echo "grade-class.sh: $1 is not a folder of submissions" >&2; exit 2; }
[ -f "$2" ] || { echo "grade-class.sh: $2 is not an assignment file (see assignments/)" >&2; exit 2; }
parallel --version 2>/dev/null | grep -q 'GNU parallel' ||
  { echo "grade-class.sh: needs GNU parallel (Debian: apt-get install parallel)" >&2; exit 2; }
command -v rsync >/dev/null ||
  { echo "grade-class.sh: needs rsync, here and on every machine (apt-get install rsync)" >&2; exit 2; }
class=$(cd "$1" && pwd -P)
assignment=$(cd "$(dirname "$2")" && pwd -P)/$(basename "$2")
q() { printf '%q' "$1"; } # a word for the remote machines' shell

# A run has a folder of its own, named after what it grades: a gradebook
# left on some machine by another class, assignment or shard count is
# never merged into this one, and the same command again finds its shards.
key=$(printf '%s\n' "$class" "$assignment" "$SHARDS" | sha256sum | cut -c1-12)
run=build/parallel/run-$key
mkdir -p "$run"
printf 'class=%s\nassignment=%s\nshards=%s\n' "$class" "$assignment" "$SHARDS" >"$run/run.txt"
log=$run/grade.log
: >"$log"
# Made afresh at the end: one left from before would pass for this run's
# (a SQLite file goes with its -wal and -shm files).
rm -f build/parallel/class.csv build/parallel/class.db build/parallel/class.db-wal build/parallel/class.db-shm

echo "Checking the machines ($logins): the workbook at $PWD, the class, the assignment"
parallel --nonall --tag --sshlogin "$logins" --workdir . \
  "test -x build/grader -a -d exercises -a -d $(q "$class") -a -f $(q "$assignment") ||
   { echo \"missing here: the built workbook in \$PWD, $(q "$class") or $(q "$assignment")\"; exit 1; }" ||
  { echo "grade-class.sh: not every machine is ready (see above)" >&2; exit 1; }

# One shard at a time per machine (-j1); the grader runs as many jobs as
# that machine has cores. The shard's gradebook goes out with it if this
# machine has one (--transferfile: a shard run again elsewhere keeps what
# was graded) and comes back when it is done (--return). A shard that
# fails is tried once more, perhaps on another machine.
start=$SECONDS
echo "Grading $class in $SHARDS shards; the log is $log"
# (parallel warns about each gradebook it has none of here yet: not news.)
set +e
parallel --sshlogin "$logins" -j1 --workdir . --retries 2 \
  --transferfile "$run/shard-{}.db" --return "$run/shard-{}.db" \
  --joblog "$run/joblog" --tagstring "shard {}/$SHARDS" --line-buffer \
  "mkdir -p $run && build/grader batch $(q "$class") --shard {}/$SHARDS --db $run/shard-{}.db --assignment $(q "$assignment")" \
  ::: $(seq 1 "$SHARDS") 2>&1 |
  grep --line-buffered -v "^parallel: Warning: $run/shard-[0-9]*\.db is not readable and will not be transferred\.$" |
  tee -a "$log"
failed=${PIPESTATUS[0]}
set -e
# Where each shard ran, from the joblog (its Seq is the shard's number).
awk -F'\t' 'NR > 1 {printf "  shard %s on %s: exit %s, %.0f s\n", $1, $2 == ":" ? "this machine" : $2, $7, $4}' \
  "$run/joblog" | sort -n -k2 | tee -a "$log"
missing=""
for i in $(seq 1 "$SHARDS"); do [ -f "$run/shard-$i.db" ] || missing="$missing $i"; done
if [ "$failed" -ne 0 ] || [ -n "$missing" ]; then
  echo "grade-class.sh: $failed shard(s) failed${missing:+, no gradebook for shard(s)$missing}:" \
       "see $log and $run/joblog (which machine ran what). Run the same" \
       "command again: what was graded is kept." >&2
  exit 1
fi

# The shards are the truth: class.db is made from exactly these (the old
# one went at the start).
build/grader merge --db build/parallel/class.db $(seq -f "$run/shard-%.0f.db" 1 "$SHARDS") | tee -a "$log"
build/grader export --db build/parallel/class.db --out build/parallel/class.csv 2>&1 | tee -a "$log"
cat <<MSG
Done in $((SECONDS - start)) s.
CSV:       $PWD/build/parallel/class.csv
Gradebook: $PWD/build/parallel/class.db (shards: $run/shard-I.db)
Logs:      $PWD/$log, $PWD/$run/joblog
MSG
