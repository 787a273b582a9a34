#!/usr/bin/env bash
# e2e-catch.sh - exercises whose learner writes the tests (grader/src/catch.c),
# end to end: grade (good, wrong, broken and empty test files) and batch.
# The handout (the correct implementation compiled, never a source or a
# broken one) and the Gradescope zip are checked by e2e-platform.sh, on
# the same handout and zip as week 2's.
# Run by `make e2e`.
source "$(dirname "$0")/lib.sh"

# The first such exercise: its README lists what the tests must catch.
catch=$(grep -l '^## What your tests must catch' exercises/*/*/README.md | head -1 | sed 's|^exercises/||; s|/README.md$||')
if [ -z "$catch" ]; then bad "no exercise whose learner writes the tests"; finish; exit; fi
f=$(learner_files "$catch" | head -1)
nbroken=$(grep -c '^- `[a-z0-9-]*` (' "exercises/$catch/README.md")
max=$(sed -n 's/^- `[a-z0-9-]*` (\([0-9]*\) points\{0,1\}).*/\1/p' "exercises/$catch/README.md" | awk '{ s += $1 } END { print s }')

echo "Grading learner-written tests ($catch: $nbroken broken implementations, $max points):"
mkdir -p "$tmp/sol" "$tmp/stub" && cp "solutions/$catch/$f" "$tmp/sol/" && cp "exercises/$catch/$f" "$tmp/stub/"
$G grade "$tmp/sol" --format json --out "$tmp/sol.json" 2>"$tmp/sol.err"
jq -e --arg e "$catch" --argjson m "$max" '.exercises[] | select(.id == $e) |
    .score == $m and (.tests | length) > 0 and all(.tests[]; .status == "passed" and (.message | startswith("caught by your test")))
    and (.detail | test("ok "))' "$tmp/sol.json" >/dev/null &&
  ok "the solution's tests catch all $nbroken broken implementations: $max/$max, each named with the test that caught it" ||
  { bad "solution tests"; jq -r '.exercises[] | .detail, (.tests[] | "\(.name) \(.status) \(.message)")' "$tmp/sol.json" | head -30; cat "$tmp/sol.err"; }
$G grade "$tmp/stub" >"$tmp/stub.txt" 2>&1
[ "$(ex_score "$tmp/stub.txt" "$catch")" = 0 ] && grep -q "not caught: an implementation with this mistake" "$tmp/stub.txt" &&
  grep -qE '^ +ok +[a-z_0-9]+$' "$tmp/stub.txt" &&
  ok "the stub's example tests pass on the correct implementation and catch nothing: 0, each mistake named" ||
  { bad "stub tests"; sed -n 1,30p "$tmp/stub.txt"; }
# One wrong test next to the solution's: it is named and earns nothing,
# the others still catch what they catch.
cp "solutions/$catch/$f" "$tmp/wrong.c"
printf '\nWB_TEST(expects_the_impossible, 1) {\n  ck_assert_msg(0, "I expect too much");\n}\nEND_TEST\n' >>"$tmp/wrong.c"
mkdir -p "$tmp/wrong" && mv "$tmp/wrong.c" "$tmp/wrong/$f"
$G grade "$tmp/wrong" >"$tmp/wrong.txt" 2>&1
grep -qE "WRONG +expects_the_impossible: failed all runs: .*I expect too much" "$tmp/wrong.txt" &&
  [ "$(ex_score "$tmp/wrong.txt" "$catch")" = "$max" ] &&
  ok "a test that fails on the correct implementation is reported as WRONG with its message; the good ones keep their catches" ||
  { bad "wrong test"; sed -n 1,20p "$tmp/wrong.txt"; }
# A file that does not compile, and one without any test.
mkdir -p "$tmp/cc" "$tmp/none"
printf '#include "wbtest.h"\nWB_TEST(broken, 1) {\n  int x = ;\n}\nEND_TEST\n' >"$tmp/cc/$f"
printf '#include "wbtest.h"\nstatic int nothing;\n' >"$tmp/none/$f"
$G grade "$tmp/cc" >"$tmp/cc.txt" 2>&1
$G grade "$tmp/none" >"$tmp/none.txt" 2>&1
grep -q "compile error" "$tmp/cc.txt" && grep -q "$f:3" "$tmp/cc.txt" && grep -q "declares no tests" "$tmp/none.txt" &&
  ok "a test file that does not compile, or declares no test, gets a message that says so and where" ||
  { bad "bad test files"; head -12 "$tmp/cc.txt" "$tmp/none.txt"; }

echo "Batch (a class of two):"
mkdir -p "$tmp/class/ada" "$tmp/class/bob" && cp "$tmp/sol/$f" "$tmp/class/ada/" && cp "$tmp/stub/$f" "$tmp/class/bob/"
$G batch "$tmp/class" --db "$tmp/class.db" >"$tmp/batch.txt" 2>&1
score_of() { sqlite3 -batch "$tmp/class.db" "SELECT printf('%g', score) FROM exercise_scores WHERE name = '$1' AND exercise = '$catch'" 2>/dev/null; }
a=$(score_of ada) b=$(score_of bob)
[ "$a" = "$max" ] && [ "$b" = 0 ] &&
  ok "batch grades learner-written tests like any exercise: ada $a, bob $b" ||
  { bad "batch: ada '$a' bob '$b'"; tail -5 "$tmp/batch.txt"; }

finish
