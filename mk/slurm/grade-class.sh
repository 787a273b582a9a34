#!/bin/bash
# grade-class.sh - grades a class on a Slurm cluster: a job array of
# shards (mk/slurm/shard.sbatch), then one job that merges their
# gradebooks and exports the CSV (mk/slurm/merge.sbatch) once all succeeded.
#
#   mk/slurm/grade-class.sh CLASS_DIR ASSIGNMENT [SHARDS]    (SHARDS: 4)
#
# Run it from the workbook's top folder, on a machine that can sbatch; every
# node must see the workbook and CLASS_DIR at the same paths. Running it
# again with the same arguments keeps what the shards already graded.
set -eu
usage="usage: mk/slurm/grade-class.sh CLASS_DIR ASSIGNMENT [SHARDS]"
if [ ! -x build/grader ] || [ ! -d exercises ] || [ ! -f mk/slurm/shard.sbatch ]; then
  echo "grade-class.sh: run this from the workbook's top folder (where" \
       "build/grader, exercises/ and mk/slurm/ are), e.g." >&2
  echo "  cd /path/to/workbook && mk/slurm/grade-class.sh CLASS_DIR ASSIGNMENT" >&2
  [ -d exercises ] && [ ! -x build/grader ] && echo "  (build/grader is missing: run make first)" >&2
  exit 2
fi
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "$usage" >&2; exit 2; }
# The one place the number of shards is set: the array and each task's
# --shard I/N are both made from it.
SHARDS=${3:-4}
case $SHARDS in '' | *[!0-9]* | 0*) echo "grade-class.sh: SHARDS must be a number from 1, not \"$SHARDS\"" >&2; exit 2 ;; esac
[ -d "$1" ] || { echo "grade-class.sh: $1 is not a folder of submissions" >&2; exit 2; }
[ -f "$2" ] || { echo "grade-class.sh: $2 is not an assignment file (see assignments/)" >&2; exit 2; }
command -v sbatch >/dev/null || { echo "grade-class.sh: sbatch not found: is this a Slurm submit host?" >&2; exit 2; }
# Absolute paths: the jobs run in this folder, but perhaps on another node.
class=$(cd "$1" && pwd -P)
assignment=$(cd "$(dirname "$2")" && pwd -P)/$(basename "$2")

# Shards of another class, assignment or count must not be merged into this
# one: their files are moved to build/slurm/old-DATE/, never deleted.
out=build/slurm
mkdir -p "$out"
run="class=$class
assignment=$assignment
shards=$SHARDS"
shopt -s nullglob
earlier=("$out"/run.tx[t] "$out"/*.db "$out"/*.db-wal "$out"/*.db-shm "$out"/*.db.lock "$out"/*.csv "$out"/*.log)
shopt -u nullglob
if [ ${#earlier[@]} -gt 0 ] && [ "$(cat "$out/run.txt" 2>/dev/null)" != "$run" ]; then
  old=$out/old-$(date +%Y%m%d-%H%M%S)
  mkdir -p "$old"
  mv "${earlier[@]}" "$old"/
  echo "The files of an earlier run (another class, assignment or shard count) are in $old"
fi
printf '%s\n' "$run" >"$out/run.txt"
# Made afresh by the merge job: one left from before would pass for this
# run's if this run failed. (A gradebook goes with its -wal and -shm files.)
rm -f "$out/class.csv" "$out/class.db" "$out/class.db-wal" "$out/class.db-shm"

# The jobs get these through the environment (--export=ALL), which takes
# any path; --export=NAME=VALUE would split one at a comma.
export WB_CLASS=$class WB_ASSIGNMENT=$assignment WB_SHARDS=$SHARDS
array=$(sbatch --parsable --export=ALL --array="1-$SHARDS" mk/slurm/shard.sbatch)
array=${array%%;*} # "id;cluster" on a multi-cluster site
# afterok: the CSV is made only if every shard succeeded; if one failed, the
# merge is cancelled rather than left waiting forever.
merge=$(sbatch --parsable --export=ALL --dependency="afterok:$array" --kill-on-invalid-dep=yes \
  mk/slurm/merge.sbatch)
merge=${merge%%;*}

top=$(pwd -P)
cat <<MSG
Submitted: job $array grades $class in $SHARDS shards (array 1-$SHARDS),
           job $merge merges them once all succeeded.
Logs:      $top/$out/shard-${array}_I.log (I = 1..$SHARDS), $top/$out/merge-$merge.log
Gradebook: $top/$out/class.db (shards: $out/shard-I.db)
CSV:       $top/$out/class.csv, when job $merge is done
Watch:     squeue -j $array,$merge
If a shard fails, read its log and run this command again: what was graded is kept.
MSG
