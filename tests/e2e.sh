#!/usr/bin/env bash
# e2e.sh - the grader end to end, as learners, instructors and hostile
# submissions use it: each check prints ok/FAIL, and the last line is
# "N passed, N failed". Run by `make e2e` (part of `make test`).
source "$(dirname "$0")/lib.sh"

echo "Submissions:"
# Half-solved: the first exercise solved, the rest of its chapter left as
# stubs, the other chapters not uploaded (each stub costs a run of all its
# tests, in each of the five gradings of this upload below).
mkdir -p "$tmp/half/exercises" && cp -r "exercises/${first%%/*}" "$tmp/half/exercises/"
for f in $(learner_files "$first"); do cp "solutions/$first/$f" "$tmp/half/exercises/$first/$f"; done
$G grade "$tmp/half" >"$tmp/half.txt" 2>&1
$G grade solutions >"$tmp/sol.txt" 2>&1
want=$(ex_score "$tmp/sol.txt" "$first")
got=$(total "$tmp/half.txt")
[ -n "$got" ] && [ "$got" = "$want" ] && ok "half-solved submission earns exactly its solved exercise's $want points" ||
  bad "half-solved submission: got ${got:-nothing}, want $want"

# A syntax error in one file costs that exercise only.
mkdir -p "$tmp/syntax" && cp -r solutions "$tmp/syntax/exercises"
f=$(learner_files "$first" | head -1)
echo 'this is not C' >>"$tmp/syntax/exercises/$first/$f"
$G grade "$tmp/syntax" >"$tmp/syntax.txt" 2>&1
all=$(total "$tmp/sol.txt")
got=$(total "$tmp/syntax.txt")
[ "$got" = "$((all - want))" ] && grep -q "compile error" "$tmp/syntax.txt" && grep -q "$f:" "$tmp/syntax.txt" &&
  ok "a syntax error in $f costs only its exercise ($got/$all) and shows the compiler's message" ||
  bad "syntax error: got ${got:-nothing}, want $((all - want))"

# A flat upload of every learner file, matched by name.
mkdir -p "$tmp/flat"
for e in "${exs[@]}"; do for f in $(learner_files "$e"); do cp "solutions/$e/$f" "$tmp/flat/"; done; done
$G grade "$tmp/flat" >"$tmp/flat.txt" 2>&1
[ "$(total "$tmp/flat.txt")" = "$all" ] && ok "a flat folder of learner files earns full marks ($all)" ||
  bad "flat folder: got $(total "$tmp/flat.txt"), want $all"

# The same files wrapped in one folder, as zip uploads often are.
mkdir -p "$tmp/wrapped/upload" && cp "$tmp"/flat/* "$tmp/wrapped/upload/"
$G grade "$tmp/wrapped" >"$tmp/wrapped.txt" 2>&1
[ "$(total "$tmp/wrapped.txt")" = "$all" ] && ok "files inside one wrapping folder are found" ||
  bad "wrapped folder: got $(total "$tmp/wrapped.txt")"

# An upload that renamed the file, next to one with an odd name.
f=$(learner_files "$first" | head -1)
mkdir -p "$tmp/renamed" && cp "solutions/$first/$f" "$tmp/renamed/${f%.c} (1).c"
printf 'int x;\n' >"$tmp/renamed/$(printf 'odd\tname \xff.c')"
$G grade "$tmp/renamed" >"$tmp/renamed.txt" 2>&1
[ $? -eq 0 ] && grep -qF "but \"${f%.c} (1).c\" is there: rename it to $f" "$tmp/renamed.txt" &&
  ok "a renamed upload (\"${f%.c} (1).c\") is named in the message, with the name to give it" ||
  { bad "renamed upload"; head -8 "$tmp/renamed.txt"; }

# Memory is checked in every grading: a correct-looking first exercise that
# never frees what it allocates loses points in the Gradescope results, and
# the message names the learner's line.
mkdir -p "$tmp/leak" && cp "solutions/$first/$f" "$tmp/leak/$f" &&
  git -C "$tmp/leak" apply -p1 "$root/tests/mutants/$first/never-frees.patch"
$G grade "$tmp/leak" --format gradescope --out "$tmp/leak.json" >/dev/null 2>&1
got=$(jq --arg ex "$first" '[.tests[] | select(.name | startswith($ex + ":")) | .score] | add' "$tmp/leak.json")
[ -n "$got" ] && [ "$got" -lt "$want" ] && jq -r '.tests[].output' "$tmp/leak.json" | grep -q "$f:[0-9]*.*never freed" &&
  ok "a leaking $f scores $got/$want in results.json, and the leak is named at its line" ||
  { bad "leaking solution: ${got:-no score}/$want"; head -c 1500 "$tmp/leak.json"; }

# LIBEV_FLAGS reaches the tests only when asked for.
mkdir -p "$tmp/backend"
cat >"$tmp/backend/$f" <<'EOF2'
#include "async_sleep.h"
#include <stdio.h>
int async_sleep(struct ev_loop *loop, unsigned ms, async_sleep_cb cb, void *arg) {
  (void)ms, (void)cb, (void)arg;
  printf("backend=%u\n", ev_backend(loop));
  return -1;
}
EOF2
LIBEV_FLAGS=1 $G grade "$tmp/backend" >"$tmp/b0.txt" 2>&1
$G grade "$tmp/backend" --libev-flags 2 >"$tmp/b2.txt" 2>&1
! grep -q 'backend=1$' "$tmp/b0.txt" && grep -q 'backend=2$' "$tmp/b2.txt" &&
  ok "the grader's LIBEV_FLAGS never reaches a test; --libev-flags 2 runs the tests on poll" ||
  bad "LIBEV_FLAGS: $(grep -m1 backend= "$tmp/b0.txt") / $(grep -m1 backend= "$tmp/b2.txt")"

echo "Report formats:"
$G grade "$tmp/half" --format gradescope --out "$tmp/results.json" 2>/dev/null
grep -q '"score": '"$want" "$tmp/results.json" && grep -q '"max_score"' "$tmp/results.json" &&
  grep -q '"visibility"' "$tmp/results.json" && grep -q '"execution_time"' "$tmp/results.json" &&
  ok "gradescope results.json has score, execution_time, tests with max_score and visibility" ||
  bad "gradescope results.json"
$G grade "$tmp/half" --format tap >"$tmp/tap.txt" 2>/dev/null
n=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tmp/tap.txt")
lines=$(grep -cE '^(not )?ok [0-9]+ ' "$tmp/tap.txt")
[ -n "$n" ] && [ "$n" = "$lines" ] && ok "TAP plan 1..$n matches its $lines result lines" || bad "TAP plan $n vs $lines lines"
$G grade "$tmp/half" --format junit >"$tmp/junit.xml" 2>/dev/null
head -1 "$tmp/junit.xml" | grep -q '<?xml' && tail -1 "$tmp/junit.xml" | grep -q '</testsuites>' &&
  ok "JUnit XML is complete" || bad "JUnit XML"
$G grade "$tmp/half" --format json >"$tmp/report.json" 2>/dev/null
grep -q '"exercises"' "$tmp/report.json" && ok "JSON report" || bad "JSON report"

# Each case is a folder of learner files, graded as a flat upload. The
# first line of its .c file (or its EXPECT file) says what must happen:
#   /* expect: [exercise ID,] score N[, report "TEXT"][, sanitize]
#      [, needs bubblewrap][, no process "NAME" left] */
# The score is the named exercise's, by default the first exercise's.
echo "Honest submissions written differently (tests/honest/: full marks each):"
# Each folder holds the learner files of some exercises (chapter 02's, or
# one chapter's): every exercise whose file it holds must get full marks.
for d in tests/honest/*/; do
  $G grade "$d" --no-cache --format json >"$tmp/honest.json" 2>"$tmp/honest.err"
  got=$(jq -r '[.exercises[] | select(.state != "missing file")] |
    "\(length) \([.[] | select(.score != .max_score or .state != "built")] | length) \(map(.score) | add) \(map(.max_score) | add)"' \
    "$tmp/honest.json" 2>/dev/null)
  read -r n wrong score max <<<"$got"
  [ "${n:-0}" -gt 0 ] && [ "$wrong" = 0 ] && ok "$(basename "$d"): $score/$max on its $n exercises" ||
    { bad "$(basename "$d"): ${got:-no report}"; jq -r '.exercises[] | select(.state != "missing file") |
        select(.score != .max_score or .state != "built") | "    \(.id): \(.score)/\(.max_score) \(.state) \(.detail)",
        (.tests[] | select(.status != "pass") | "      \(.name): \(.message)")' "$tmp/honest.json" 2>/dev/null | head -20
      head -5 "$tmp/honest.err"; }
done

echo "Hostile submissions (for $first unless they say otherwise):"
for case_dir in tests/hostile/*/; do
  name=$(basename "$case_dir")
  sub="$tmp/hostile-$name"
  mkdir -p "$sub"
  cp -a "$case_dir". "$sub/"
  rm -f "$sub/EXPECT"
  if [ "$name" = huge-file ]; then
    { echo 'int async_sleep;'; head -c 1200000 /dev/zero | tr '\0' '/'; } >"$sub/async_sleep.c"
  fi
  src=$(ls "$case_dir"*.c 2>/dev/null | head -1)
  expect=$(head -1 "${src:-/dev/null}" | grep 'expect:' || cat "$case_dir/EXPECT")
  named=$(sed -n 's|.*expect: exercise \([^ ,]*\),.*|\1|p' <<<"$expect")
  ex=${named:-$first}
  score=$(sed -n 's/.*[:,] score \([0-9]*\).*/\1/p' <<<"$expect")
  text=$(sed -n 's/.*report "\([^"]*\)".*/\1/p' <<<"$expect")
  # Written for the plain build, unless they say "sanitize" (the default).
  flags="--timeout 2 --no-sanitize"
  case "$expect" in *sanitize*) flags="--timeout 2" ;; esac
  start=$(date +%s%N)
  timeout 120 "$G" grade "$sub" $flags >"$tmp/$name.txt" 2>&1
  rc=$?
  ms=$((($(date +%s%N) - start) / 1000000))
  got=$(ex_score "$tmp/$name.txt" "$ex")
  case "$expect" in *"needs bubblewrap"*)
    if ! grep -q '^Isolation: bubblewrap' "$tmp/$name.txt"; then
      echo "  skip  $name: bubblewrap is not usable here ($(sed -n 's/^Isolation: //p' "$tmp/$name.txt"))"
      continue
    fi ;;
  esac
  why=""
  [ $rc -eq 0 ] || why="grader exited $rc"
  [ "$got" = "$score" ] || why="$why score ${got:-none}, want $score"
  [ -z "$text" ] || grep -qF "$text" "$tmp/$name.txt" || why="$why; report lacks \"$text\""
  case "$expect" in *"no process"*) pgrep -x wbescapee >/dev/null && why="$why; a process escaped" ;; esac
  [ -z "$why" ] && ok "$name: scored $got${named:+ in ${named#*/}}, contained (${ms} ms)" || { bad "$name: $why"; sed 's/^/        /' "$tmp/$name.txt" | head -30; }
done
pkill -x wbescapee 2>/dev/null

echo "Learner commands (on a scratch copy of the workbook):"
wb="$tmp/learner"
# Its own build/ (own progress and hint state) sharing the built runtime.
mkdir -p "$wb/build" && cp -r exercises grader lib server "$wb/"
(cd build && cp -a --parents reserved-symbols.txt libwbtest.a obj/grader/support/runner.o asan/libwbtest.a asan/grader/support/runner.o "$wb/build/")
mkdir -p "$wb/.stubs" && cp -r exercises/. "$wb/.stubs/"
export WB_ROOT=$wb
$G check "$first" >"$tmp/check1.txt" 2>&1
rc=$?
ntests=$(grep -c 'WB_TEST(' "exercises/$first/"test_*.c)
[ $rc -eq 1 ] && grep -qE "Hint [0-9]+ of" "$tmp/check1.txt" && grep -q "Progress: " "$tmp/check1.txt" &&
  [ "$(grep -cE '^ +(FAIL|ok|-) +[a-z_0-9]+ +[0-9]+/[0-9]+ points?$' "$tmp/check1.txt")" -eq "$ntests" ] &&
  grep -q "failing: 0/[0-9]* points" "$tmp/check1.txt" &&
  ok "check on a stub fails, lists all $ntests tests with their points, the first failure, a hint that fits it and the progress" ||
  { bad "check on a stub"; cat "$tmp/check1.txt"; }
$G hint "$first" >"$tmp/h1.txt"; $G hint "$first" >"$tmp/h2.txt"
shown=$(grep -ohE "Hint [0-9]+ of" "$tmp/check1.txt" "$tmp/h1.txt" "$tmp/h2.txt" | sort)
[ "$(wc -l <<<"$shown")" -eq 3 ] && [ "$(uniq <<<"$shown" | wc -l)" -eq 3 ] &&
  ok "hint goes on from the hint check showed and never repeats one" ||
  { bad "hint progression"; cat "$tmp/check1.txt" "$tmp/h1.txt" "$tmp/h2.txt"; }
f=$(learner_files "$first" | head -1)
cp "solutions/$first/$f" "$wb/exercises/$first/$f"
$G check "$first" >"$tmp/check2.txt" 2>&1 && grep -q "^  ok " "$tmp/check2.txt" &&
  ok "check passes once the exercise is solved" || { bad "check on a solution"; head -20 "$tmp/check2.txt"; }
$G list >"$tmp/list.txt" && grep -q "^done .*$first" "$tmp/list.txt" && ok "list shows the exercise as done" || bad "list"
echo "/* edited */" >>"$wb/exercises/$first/$f"
$G list >"$tmp/list2.txt" && grep -q "^to do .*$first.*changed since" "$tmp/list2.txt" &&
  ok "list says when a file changed after its last check" || { bad "list after an edit"; cat "$tmp/list2.txt"; }
$G reset "$first" >"$tmp/reset.txt" 2>&1 && cmp -s "$wb/exercises/$first/$f" "exercises/$first/$f" &&
  ls "$wb/exercises/$first/$f".backup-* >/dev/null 2>&1 &&
  ok "reset restores the stub and keeps a backup" || bad "reset"
# watch: the verdict after a save.
$G watch "$first" >"$tmp/watch.txt" 2>&1 &
wpid=$!
for _ in $(seq 100); do grep -q "Watching" "$tmp/watch.txt" && break; sleep 0.1; done
saved=$(date +%s%N)
cp "solutions/$first/$f" "$wb/exercises/$first/$f"
# Up to a minute: a verdict, not its speed, is what is checked here (a
# busy machine can be slow); the time is reported.
for _ in $(seq 1200); do [ "$(grep -c '^  ok ' "$tmp/watch.txt")" -ge 1 ] && break; sleep 0.05; done
ms=$((($(date +%s%N) - saved) / 1000000))
kill $wpid 2>/dev/null; wait $wpid 2>/dev/null
grep -q '^  ok ' "$tmp/watch.txt" && ok "watch re-checked after a save: verdict in $ms ms" ||
  { bad "watch gave no verdict within $ms ms"; tail -30 "$tmp/watch.txt"; }
unset WB_ROOT

finish
