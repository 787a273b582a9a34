# lib.sh - what the end-to-end scripts share: ok/bad counting, a scratch
# folder removed on exit, and the workbook's exercises. Sourced, not run.
set -u
cd "$(dirname "${BASH_SOURCE[1]}")/.."
root=$PWD
G=$root/build/grader
export NO_COLOR=1
tmp=$(mktemp -d /tmp/wb-e2e.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "  ok    $*"; pass=$((pass + 1)); }
bad() { echo "  FAIL  $*"; fail=$((fail + 1)); }
total() { sed -n 's/^Total: \([0-9.]*\)\/\([0-9.]*\) points.*/\1/p' "$1"; }
ex_score() { sed -n "s|^$2 *\([0-9]*\)/.*|\1|p" "$1"; } # file, exercise id
mapfile -t exs < <(cd exercises && ls -d [0-9][0-9]-*/[0-9][0-9]-*)
# The exercise the scripts grade by name: chapter 02's first, whose hostile
# corpus (tests/hostile/) and mutants they use, wherever chapters are added.
first=02-basic-patterns/01-async-sleep
learner_files() { (cd "exercises/$1" && ls *.c | grep -v '^test_'); }
# Waits (at most $2 tenths of a second) until the command $1 succeeds.
wait_for() { for _ in $(seq "$2"); do eval "$1" && return 0; sleep 0.1; done; return 1; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; }
