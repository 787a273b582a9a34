#!/usr/bin/env bash
# flake.sh - RUNS consecutive gradings of solutions/ (every test run, no
# cached result) while another process keeps one core busy: every run must
# give full marks. Prints each run's score and time, then the flake count.
# `make flake` (not part of make test: it is a measurement).
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
G=build/grader
export NO_COLOR=1
# The load: one busy process per LOAD (default 1), bounded in time.
for _ in $(seq "${LOAD:-1}"); do timeout 900 sh -c 'while :; do :; done' & done
trap 'kill $(jobs -p) 2>/dev/null' EXIT
full=$($G grade solutions --no-cache | sed -n 's/^Total: [0-9]*\/\([0-9]*\) points.*/\1/p')
flakes=0
for i in $(seq "$RUNS"); do
  out=$($G grade solutions --no-cache ${FLAGS:-} 2>&1)
  line=$(sed -n 's/^Total: //p' <<<"$out")
  case "$line" in "$full/$full "*) echo "  run $i: $line" ;;
  *) flakes=$((flakes + 1)); echo "  run $i: FLAKE $line"; grep -B2 -A6 'FAIL' <<<"$out" | head -30 ;;
  esac
done
echo "$flakes flaky result(s) in $RUNS gradings of solutions/ with ${LOAD:-1} core(s) kept busy${FLAGS:+ ($FLAGS)}"
[ "$flakes" -eq 0 ]
