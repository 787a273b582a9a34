#!/usr/bin/env bash
# e2e-catch.sh - exercises whose learner writes the tests (grader/src/catch.c),
# end to end: grade, the learner's check and hint in a handout (which has
# the correct implementation compiled, never a source or a broken one),
# batch, and the Gradescope zip set up and run on an upload.
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

echo "Handout (make handout with $catch):"
A=$tmp/catch.txt && printf '# Testing\n%s 10\n' "$catch" >"$A"
make -s handout ASSIGNMENT="$A" >"$tmp/handout.txt" 2>&1
mkdir -p "$tmp/learner" && tar -C "$tmp/learner" -xzf build/handout/catch.tar.gz
h=$tmp/learner/catch
listing=$(cd "$h" && find . -type f | sort)
if [ -f "$h/impl/$catch/reference.o" ] && [ -f "$h/impl/$catch/reference.asan.o" ] &&
  ! grep -qE '\.patch$|/reference\.c$|^\./(tests|solutions)/' <<<"$listing"; then
  ok "the handout has the correct implementation compiled (plain and sanitizer), no source of it, no broken one"
else bad "handout contents"; grep -E 'impl|tests' <<<"$listing" | head; fi
if (cd "$h" && make -s -j2 build/grader >"$tmp/hbuild.txt" 2>&1); then
  (cd "$h" && build/grader check "$catch") >"$tmp/h1.txt" 2>&1
  cp "solutions/$catch/$f" "$h/exercises/$catch/$f"
  (cd "$h" && build/grader check "$catch") >"$tmp/h2.txt" 2>&1
  rc2=$?
  cp "$tmp/wrong/$f" "$h/exercises/$catch/$f"
  (cd "$h" && build/grader check "$catch") >"$tmp/h3.txt" 2>&1
  grep -q "to do: write your tests" "$tmp/h1.txt" &&
    [ $rc2 -eq 0 ] && grep -q "passed here: [0-9]* tests (catches graded on submission)" "$tmp/h2.txt" &&
    grep -q "graded when you submit" "$tmp/h2.txt" &&
    grep -q "WRONG  expects_the_impossible" "$tmp/h3.txt" && grep -q "some tests fail on the correct code" "$tmp/h3.txt" &&
    ok "check in the handout: the stub is to do; the solution's tests pass on the shipped implementation (catches graded on submission); a wrong test is named" ||
    { bad "check in the handout"; cat "$tmp/h1.txt" "$tmp/h2.txt" "$tmp/h3.txt" | head -60; }
else bad "the handout does not build"; tail -20 "$tmp/hbuild.txt"; fi

echo "Gradescope (make gradescope with $catch):"
make -s gradescope ASSIGNMENT="$A" >"$tmp/gs.txt" 2>&1
zip=build/gradescope/catch.zip
inzip=$(unzip -Z1 "$zip" 2>/dev/null)
nsrc=$(grep -c "^impl/$catch/.*\.c$" <<<"$inzip")
if [ "$nsrc" -eq $((nbroken + 1)) ] && ! grep -qE '\.patch$|^(tests|solutions)/' <<<"$inzip"; then
  ok "the zip has the $((nbroken + 1)) implementations as sources in impl/ (the broken ones already applied), no tests/ or solutions/"
else bad "zip contents: $nsrc sources"; grep -E 'impl|tests' <<<"$inzip" | head; fi
ag=$tmp/autograder
mkdir -p "$ag/source" "$ag/submission"
unzip -q "$zip" -d "$ag/source" && cp "$ag/source/run_autograder" "$ag/run_autograder"
if (cd "$ag/source" && bash ./setup.sh) >"$tmp/setup.txt" 2>&1; then
  cp "solutions/$catch/$f" "$ag/submission/"
  AUTOGRADER_ROOT=$ag "$ag/run_autograder" >"$tmp/run.txt" 2>&1
  got=$(jq '.score' "$ag/results/results.json" 2>/dev/null)
  n=$(jq '.tests | length' "$ag/results/results.json" 2>/dev/null)
  [ "$got" = 10 ] && [ "$n" = "$nbroken" ] &&
    ok "run_autograder on the solution's tests: 10/10, one Gradescope test per broken implementation ($n)" ||
    { bad "run_autograder: score '$got', $n tests"; cat "$tmp/run.txt"; head -30 "$ag/results/results.json" 2>/dev/null; }
else bad "setup.sh failed"; tail -20 "$tmp/setup.txt"; fi
finish
