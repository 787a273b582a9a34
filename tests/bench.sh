#!/usr/bin/env bash
# bench.sh - grading speed next to doing the same work by hand: compile
# every solution and test file, link, and run each test binary directly
# (two exercises at a time, as the grader uses two jobs). Prints medians of
# RUNS runs of each, taken in turns in one session. `make bench`.
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
G=build/grader
wrap="-Wl,--wrap=ev_timer_again,--wrap=ev_once$(for t in io timer periodic signal child stat idle prepare check async; do printf ',--wrap=ev_%s_start,--wrap=ev_%s_stop' $t $t; done)"
libs="-lev -lcurl -ljansson -lpthread -lm $(pkg-config --libs check)"
tmp=$(mktemp -d /tmp/wb-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
direct_one() { # exercise id
  local e=$1 d="$tmp/$(echo "$1" | tr / _)" objs=""
  mkdir -p "$d"
  for f in solutions/"$e"/*.c; do
    cc -std=c17 -g -O1 -Wall -Wextra -Iexercises/"$e" -Ilib -Iserver -c "$f" -o "$d/$(basename "$f").o" || return 1
    objs="$objs $d/$(basename "$f").o"
  done
  for t in exercises/"$e"/test_*.c; do
    cc -std=c17 -g -O1 -Wall -Wextra -Wpedantic -Werror -Iexercises/"$e" -Ilib -Iserver -Igrader/support -c "$t" -o "$d/t.o" &&
      cc -o "$d/bin" build/obj/grader/support/runner.o $objs "$d/t.o" build/libwbtest.a $libs "$wrap" &&
      "$d/bin" >/dev/null || return 1
  done
}
direct_all() {
  ls -d exercises/[0-9][0-9]-*/[0-9][0-9]-* | sed 's|^exercises/||' | xargs -P 2 -I{} bash -c "$(declare -f direct_one); tmp=$tmp wrap='$wrap' libs='$libs' direct_one {}"
}
ms() { local s=$(date +%s%N); "$@" >/dev/null 2>&1; echo $((($(date +%s%N) - s) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: >"$tmp/cold"; : >"$tmp/warm"; : >"$tmp/cached"; : >"$tmp/direct"
for i in $(seq "$RUNS"); do
  rm -rf build/cache
  ms $G grade solutions >>"$tmp/cold"
  ms $G grade solutions --no-cache >>"$tmp/warm"
  ms $G grade solutions >>"$tmp/cached"
  ms direct_all >>"$tmp/direct"
done
cold=$(median <"$tmp/cold"); warm=$(median <"$tmp/warm"); direct=$(median <"$tmp/direct")
cached=$(median <"$tmp/cached")
echo "median of $RUNS runs, grading all of solutions/:"
echo "  grader, empty cache:                  $cold ms"
echo "  grader, objects cached, tests re-run: $warm ms"
echo "  grader, results cached:               $cached ms"
echo "  by hand (cc + run tests):             $direct ms"
awk -v c="$cold" -v d="$direct" -v w="$warm" 'BEGIN { printf "  ratio cold/by-hand: %.2f   warm/by-hand: %.2f\n", c / d, w / d }'

# batch -j1 against -j2 on a class of distinct submissions (each file has
# its own first line, so each compiles; --no-cache: every test runs).
K=${K:-6}
class=$tmp/class
for k in $(seq "$K"); do
  mkdir -p "$class/learner$k"
  for f in $(cd solutions && find . -name '*.c'); do
    mkdir -p "$class/learner$k/$(dirname "$f")"
    { echo "/* learner $k */"; cat "solutions/$f"; } >"$class/learner$k/$f"
  done
done
: >"$tmp/j1"; : >"$tmp/j2"
for i in $(seq "$RUNS"); do
  for j in 1 2; do
    rm -rf build/cache "$tmp/book.db"*
    ms $G batch "$class" -j$j --no-cache --db "$tmp/book.db" >>"$tmp/j$j"
  done
done
j1=$(median <"$tmp/j1"); j2=$(median <"$tmp/j2")
echo "median of $RUNS runs, batch of $K submissions (cold cache, every test run):"
echo "  batch -j1: $j1 ms"
echo "  batch -j2: $j2 ms"
awk -v a="$j1" -v b="$j2" 'BEGIN { printf "  speed-up -j2 over -j1: %.2fx\n", a / b }'
