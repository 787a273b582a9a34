#!/usr/bin/env bash
# flake.sh - RUNS consecutive gradings of solutions/ (every test run, no
# cached result) in the sanitizer build (the default) and RUNS in the plain
# build, while LOAD busy processes (default 2: both cores of a CI machine)
# compete for the CPU: every run must give full marks. Prints each run's
# score and time, then the flake count. `make flake` (not part of make
# test: it is a measurement).
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
G=build/grader
export NO_COLOR=1
# The load: one busy process per LOAD, bounded in time.
for _ in $(seq "${LOAD:-2}"); do timeout 1800 sh -c 'while :; do :; done' & done
trap 'kill $(jobs -p) 2>/dev/null' EXIT
full=$($G grade solutions --no-cache | sed -n 's/^Total: [0-9]*\/\([0-9]*\) points.*/\1/p')
flakes=0
for build in "" --no-sanitize; do
  for i in $(seq "$RUNS"); do
    out=$($G grade solutions --no-cache $build ${FLAGS:-} 2>&1)
    line=$(sed -n 's/^Total: //p' <<<"$out")
    case "$line" in "$full/$full "*) echo "  ${build:-sanitizer} run $i: $line" ;;
    *) flakes=$((flakes + 1)); echo "  ${build:-sanitizer} run $i: FLAKE $line"; grep -B2 -A6 'FAIL' <<<"$out" | head -30 ;;
    esac
  done
done
echo "$flakes flaky result(s) in $((RUNS * 2)) gradings of solutions/ (sanitizer and plain builds) with ${LOAD:-2} core(s) kept busy${FLAGS:+ ($FLAGS)}"
[ "$flakes" -eq 0 ]
