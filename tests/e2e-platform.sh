#!/usr/bin/env bash
# e2e-platform.sh - what platforms and instructors take from the grader,
# checked by the tools that will read it: TAP by Perl's prove, JUnit XML
# against the schema CI systems read (tests/junit.xsd), results.json by
# Gradescope's rules (with jq); an assignment's points; the learner
# handout, built and used as a learner would; and the Gradescope zip, set
# up and run on an upload laid out as Gradescope lays it out.
# Run by `make e2e`.
source "$(dirname "$0")/lib.sh"
A=assignments/week-02.txt

echo "Report formats, read by their consumers:"
# A submission that prints forged TAP, JUnit and JSON lines everywhere.
forged=$tmp/forged && mkdir -p "$forged" && cp tests/hostile/forged-results/async_sleep.c "$forged/"
ntests=$($G grade solutions --format json | jq '[.exercises[].tests[]] | length')
nfirst=$($G grade solutions --format json | jq --arg e "$first" '[.exercises[] | select(.id == $e) | .tests[]] | length')
$G grade solutions --format tap >"$tmp/sol.tap" 2>/dev/null
prove -e cat "$tmp/sol.tap" >"$tmp/prove1.txt" 2>&1 && grep -q "Tests=$ntests" "$tmp/prove1.txt" &&
  ok "prove accepts the TAP of a full solution: $ntests tests, all successful" || { bad "prove on solutions"; cat "$tmp/prove1.txt"; }
$G grade "$forged" --format tap >"$tmp/forged.tap" 2>/dev/null
prove -e cat "$tmp/forged.tap" >"$tmp/prove2.txt" 2>&1
grep -q "Tests: $ntests Failed: $ntests)" "$tmp/prove2.txt" &&
  ok "prove reads forged output as part of failures, never as results: $ntests of $ntests failed" ||
  { bad "prove on forged TAP"; cat "$tmp/prove2.txt"; }
for s in solutions "$forged"; do
  $G grade "$s" --format junit >"$tmp/j.xml" 2>/dev/null
  if xmllint --noout --schema tests/junit.xsd "$tmp/j.xml" 2>"$tmp/xmllint.txt"; then
    ok "JUnit XML of $(basename "$s") is valid against the schema CI systems read"
  else bad "JUnit XML of $(basename "$s")"; head -5 "$tmp/xmllint.txt"; fi
done
n_fail=$(xmllint --xpath 'count(//testcase/failure)' "$tmp/j.xml")
[ "$n_fail" = "$ntests" ] && ok "JUnit marks all $ntests tests of the forged submission as failures" || bad "JUnit failures: $n_fail"
# Gradescope's rules for results.json: a score, tests with name, score <=
# max_score, a status of passed/failed, a known visibility; total = sum.
gs_rules='(.score | type == "number") and (.execution_time | type == "number")
  and (.tests | length > 0) and (([.tests[].score] | add) - .score | fabs) < 0.01
  and all(.tests[]; (.name | type == "string") and .score <= .max_score
      and (.status == "passed" or .status == "failed")
      and (.visibility | IN("hidden", "after_due_date", "after_published", "visible"))
      and (.output | type == "string"))'
$G grade "$forged" --format gradescope --out "$tmp/forged.json" 2>/dev/null
jq -e "$gs_rules and .score == 0" "$tmp/forged.json" >/dev/null &&
  ok "results.json follows Gradescope's rules; forged lines earn 0" || { bad "results.json"; head -30 "$tmp/forged.json"; }

echo "Assignments:"
$G grade solutions --assignment "$A" >"$tmp/a.txt" 2>&1
want_total=$(grep -v '^#' "$A" | awk 'NF >= 2 { s += $2 } END { print s }')
grep -q "^Assignment: Week 2" "$tmp/a.txt" && [ "$(total "$tmp/a.txt")" = "$want_total" ] &&
  ok "an assignment's points replace the workbook's: solutions score $want_total/$want_total" || { bad "assignment points"; tail -3 "$tmp/a.txt"; }
printf '%s\nno-such-exercise 5\n%s lots\n' "$first 10" "$first" >"$tmp/bad.txt"
$G grade solutions --assignment "$tmp/bad.txt" >"$tmp/bad-a.txt" 2>&1
[ $? -eq 2 ] && grep -q "bad.txt:2: no exercise \"no-such-exercise\"" "$tmp/bad-a.txt" && grep -q "bad.txt:3: \"lots\" is not a number" "$tmp/bad-a.txt" &&
  ok "a mistake in an assignment file is named by file:line" || { bad "bad assignment"; cat "$tmp/bad-a.txt"; }

echo "Hidden tests, misplaced or misnamed:"
mkdir -p "$tmp/hid-flat/$(basename "$first")" && cp tests/hostile/forged-results/async_sleep.c "$tmp/hid-flat/$(basename "$first")/test_x.c"
$G grade solutions --hidden "$tmp/hid-flat" >"$tmp/hf.txt" 2>&1
[ $? -eq 2 ] && grep -q "no hidden tests in .*they go in" "$tmp/hf.txt" &&
  ok "a hidden-tests folder without the chapter level is refused, with the layout it needs" || { bad "misplaced hidden tests"; cat "$tmp/hf.txt"; }
dup=$(sed -n 's/^WB_TEST(\([a-z_]*\),.*/\1/p' exercises/"$first"/test_*.c | head -1)
mkdir -p "$tmp/hid-dup/$first" && printf '#include "wbtest.h"\nWB_TEST(%s, 1) {}\nEND_TEST\n' "$dup" >"$tmp/hid-dup/$first/test_dup.c"
$G grade solutions --hidden "$tmp/hid-dup" >"$tmp/hd.txt" 2>&1
[ $? -eq 2 ] && grep -q "a test named $dup is already in" "$tmp/hd.txt" &&
  ok "a hidden test named like a visible one is refused (it would mix their results)" || { bad "duplicate hidden name"; cat "$tmp/hd.txt"; }

# The handout and the Gradescope zip carry week 2 and an exercise whose
# learner writes the tests (tests/e2e-catch.sh grades that kind).
catch=$(grep -l '^## What your tests must catch' exercises/*/*/README.md | head -1 | sed 's|^exercises/||; s|/README.md$||')
catch_file=$(learner_files "$catch" | head -1)
H=$tmp/week-02-tests.txt && { cat "$A"; echo "$catch 10"; } >"$H"
echo "Learner handout (make handout ASSIGNMENT=week 2 + $catch):"
make -s handout ASSIGNMENT="$H" >"$tmp/handout.txt" 2>&1
tarball=build/handout/$(basename "$H" .txt).tar.gz
mkdir -p "$tmp/learner" && tar -C "$tmp/learner" -xzf "$tarball"
h=$tmp/learner/$(basename "$H" .txt)
listing=$(cd "$h" && find . -type f | sort)
if [ -d "$h/exercises/$first" ] && [ -f "$h/.stubs/$first/$(learner_files "$first" | head -1)" ] &&
  [ -f "$h/.assignment" ] && ! grep -qE '^\./(solutions|tests|assignments)/' <<<"$listing" && [ ! -e "$h/.git" ]; then
  ok "the handout has the exercises, their stubs in .stubs/ and the assignment; no solutions/, tests/ or .git"
else bad "handout contents"; echo "$listing" | head -20; fi
if (cd "$h" && make -s -j2 build/grader >"$tmp/hbuild.txt" 2>&1); then
  (cd "$h" && build/grader check "$first") >"$tmp/h1.txt" 2>&1
  f=$(learner_files "$first" | head -1)
  cp "solutions/$first/$f" "$h/exercises/$first/$f"
  (cd "$h" && build/grader check "$first") >"$tmp/h2.txt" 2>&1
  (cd "$h" && build/grader reset "$first") >"$tmp/h3.txt" 2>&1
  grep -q "Progress: 0/" "$tmp/h1.txt" && grep -q "^  ok " "$tmp/h2.txt" &&
    cmp -s "$h/exercises/$first/$f" "exercises/$first/$f" && ls "$h/exercises/$first/$f".backup-* >/dev/null 2>&1 &&
    ok "in the handout: check, solve, check again, reset from .stubs/ without git" ||
    { bad "learner flow in the handout"; tail -5 "$tmp/h1.txt" "$tmp/h2.txt" "$tmp/h3.txt"; }
  # Learner-written tests: the reference only as objects, never a source
  # or a broken one; check runs them on it.
  [ -f "$h/impl/$catch/reference.o" ] && [ -f "$h/impl/$catch/reference.asan.o" ] &&
    ! grep -qE '\.patch$|/reference\.c$' <<<"$listing" &&
    ok "the handout has $catch's correct implementation compiled (plain and sanitizer), no source of it, no broken one" ||
    { bad "the handout's implementation of $catch"; grep impl <<<"$listing" | head; }
  (cd "$h" && build/grader check "$catch") >"$tmp/hc1.txt" 2>&1
  cp "solutions/$catch/$catch_file" "$h/exercises/$catch/$catch_file"
  (cd "$h" && build/grader check "$catch") >"$tmp/hc2.txt" 2>&1
  rc2=$?
  printf '\nWB_TEST(expects_the_impossible, 1) {\n  ck_assert_msg(0, "I expect too much");\n}\nEND_TEST\n' >>"$h/exercises/$catch/$catch_file"
  (cd "$h" && build/grader check "$catch") >"$tmp/hc3.txt" 2>&1
  (cd "$h" && build/grader reset "$catch") >/dev/null 2>&1
  grep -q "to do: write your tests" "$tmp/hc1.txt" && [ $rc2 -eq 0 ] &&
    grep -q "passed here: [0-9]* tests (catches graded on submission)" "$tmp/hc2.txt" && grep -q "graded when you submit" "$tmp/hc2.txt" &&
    grep -q "WRONG  expects_the_impossible" "$tmp/hc3.txt" && grep -q "some tests fail on the correct code" "$tmp/hc3.txt" &&
    ok "check in the handout on $catch: the stub is to do; the solution's tests pass on the shipped implementation (catches graded on submission); a wrong test is named" ||
    { bad "check in the handout on $catch"; cat "$tmp/hc1.txt" "$tmp/hc2.txt" "$tmp/hc3.txt" | head -60; }
  # The learner's own README, none of the instructor's sections.
  grep -q "make submit" "$h/README.md" && ! grep -qiE "batch|gradebook|--hidden|forg" "$h/README.md" &&
    ok "the handout's README is the learner's: how to work and submit, no instructor sections" ||
    { bad "handout README"; head -20 "$h/README.md"; }
  # make submit: exactly the learner files, where the grader looks for them.
  cp "solutions/$first/$f" "$h/exercises/$first/$f"
  (cd "$h" && make -s submit) >"$tmp/submit.txt" 2>&1
  zipped=$(unzip -Z1 "$h/build/submit/submission.zip" 2>/dev/null | sort)
  want_files=$(for e in $(cd "$h/exercises" && ls -d */*); do for g in $(cd "$h/exercises/$e" && ls *.c | grep -v '^test_'); do echo "exercises/$e/$g"; done; done | sort)
  mkdir -p "$tmp/upload" && unzip -q "$h/build/submit/submission.zip" -d "$tmp/upload"
  $G grade "$tmp/upload" --assignment "$H" >"$tmp/upload.txt" 2>&1
  [ -n "$zipped" ] && [ "$zipped" = "$want_files" ] && grep -q "build/submit/submission.zip" "$tmp/submit.txt" &&
    [ "$(ex_score "$tmp/upload.txt" "$first")" = "$(awk -v e="$first" '$1 == e { print $2 }' "$A")" ] &&
    ok "make submit zips exactly the learner files ($(wc -l <<<"$zipped")), says where, and the grader finds them" ||
    { bad "make submit"; cat "$tmp/submit.txt"; echo "$zipped"; echo "want: $want_files"; tail -3 "$tmp/upload.txt"; }
  (cd "$h" && make test) >"$tmp/htest.txt" 2>&1
  [ $? -ne 0 ] && grep -q "which a handout leaves out" "$tmp/htest.txt" &&
    ok "make test in a handout explains that it is the authors' suite" || bad "make test in a handout"
else bad "the handout does not build"; tail -20 "$tmp/hbuild.txt"; fi

echo "Gradescope (make gradescope ASSIGNMENT=week 2 + $catch HIDDEN=...):"
# An instructor's hidden test, worth 3 points, hidden until published.
hid=$tmp/hidden/$first && mkdir -p "$hid"
cat >"$hid/test_hidden.c" <<'HT'
#include "async_sleep.h"
#include "wbtest.h"
static int calls;
static void count(struct ev_loop *loop, void *arg) { (void)loop, (void)arg; calls++; }
WB_TEST(zero_delay_still_calls_back, 3) {
  ck_assert_int_eq(async_sleep(wb_loop(), 0, count, NULL), 0);
  wb_run(wb_loop(), 1000);
  wb_assert_calls(calls, 1, "the callback given to async_sleep");
}
END_TEST
HT
# Only the exercise the hidden test is for: the solutions of the others
# are verify's own business (make test runs it).
$G verify --no-sanitize --hidden "$tmp/hidden" --only "$first" >"$tmp/vh.txt" 2>&1
vh=$?
$G verify --hidden >"$tmp/vh2.txt" 2>&1
vh2=$?
[ $vh -eq 0 ] && grep -q "Hidden tests: 1 file" "$tmp/vh.txt" && grep -q "$first: solution scores" "$tmp/vh.txt" &&
  [ $vh2 -eq 2 ] && grep -q "usage: grader verify" "$tmp/vh2.txt" &&
  ok "verify --hidden DIR runs the hidden tests against the solutions; a mistaken option is refused" ||
  { bad "verify --hidden (exit $vh, $vh2)"; cat "$tmp/vh.txt" "$tmp/vh2.txt"; }
make -s gradescope ASSIGNMENT="$H" HIDDEN="$tmp/hidden" HIDDEN_VISIBILITY=visible >"$tmp/gs.txt" 2>&1
zip=build/gradescope/$(basename "$H" .txt).zip
vis=$(unzip -p "$zip" hidden/.visibility 2>/dev/null)
make -s gradescope ASSIGNMENT="$H" HIDDEN="$tmp/hidden" HIDDEN_VISIBILITY=sometimes >"$tmp/gs-bad.txt" 2>&1
bad_rc=$?
[ "$vis" = visible ] && [ $bad_rc -ne 0 ] && grep -q "HIDDEN_VISIBILITY is hidden, after_due_date" "$tmp/gs-bad.txt" &&
  ok "make gradescope keeps the hidden tests' visibility (HIDDEN_VISIBILITY=visible) and refuses an unknown one" ||
  { bad "hidden visibility in the zip: '$vis', bad one exit $bad_rc"; cat "$tmp/gs-bad.txt"; }
make -s gradescope ASSIGNMENT="$H" HIDDEN="$tmp/hidden" >"$tmp/gs.txt" 2>&1
zip=build/gradescope/$(basename "$H" .txt).zip
ag=$tmp/autograder
mkdir -p "$ag/source" "$ag/submission"
unzip -q "$zip" -d "$ag/source" && cp "$ag/source/run_autograder" "$ag/run_autograder"
if unzip -l "$zip" | grep -qE ' (solutions|tests)/'; then bad "the zip holds solutions/ or tests/"
else ok "the zip has setup.sh and run_autograder at its root, hidden tests, no solutions/ or tests/"; fi
nimpl=$(unzip -Z1 "$zip" | grep -c "^impl/$catch/.*\.c$")
nbroken=$(grep -c '^- `[a-z0-9-]*` (' "exercises/$catch/README.md")
[ "$nimpl" -eq $((nbroken + 1)) ] && ! unzip -Z1 "$zip" | grep -q '\.patch$' &&
  ok "the zip has $catch's $nimpl implementations as sources in impl/ (the broken ones already applied)" ||
  bad "the zip's implementations of $catch: $nimpl sources, want $((nbroken + 1))"
if (cd "$ag/source" && bash ./setup.sh) >"$tmp/setup.txt" 2>&1; then
  for f in $(learner_files "$first"); do cp "solutions/$first/$f" "$ag/submission/"; done
  cp "solutions/$catch/$catch_file" "$ag/submission/"
  AUTOGRADER_ROOT=$ag "$ag/run_autograder" >"$tmp/run.txt" 2>&1
  rc=$?
  first_pts=$(( $(awk -v e="$first" '$1 == e { print $2 }' "$A") + 10 ))
  if [ $rc -eq 0 ] && jq -e "$gs_rules" "$ag/results/results.json" >/dev/null; then
    got=$(jq '.score' "$ag/results/results.json")
    hidden_vis=$(jq -r '.tests[] | select(.name | endswith("zero_delay_still_calls_back")) | .visibility' "$ag/results/results.json")
    [ "$got" = "$first_pts" ] && [ "$hidden_vis" = after_published ] &&
      ok "run_autograder on an upload of the first exercise and $catch's tests: results.json scores $got, the hidden test is after_published" ||
      bad "results.json score $got (want $first_pts), hidden test visibility '$hidden_vis'"
  else bad "run_autograder exited $rc"; cat "$tmp/run.txt"; head -20 "$ag/results/results.json" 2>/dev/null; fi
  # A run the grader cannot finish publishes nothing (not a zero): here
  # the runner object is gone, so no test program can be linked.
  rm -rf "$ag/source/build/cache" && mv "$ag/source/build/obj/grader/support/runner.o" "$tmp/runner.o" &&
    mv "$ag/source/build/asan/grader/support/runner.o" "$tmp/asan-runner.o"
  broken_out=$(AUTOGRADER_ROOT=$ag "$ag/run_autograder" 2>&1)
  rc=$?
  [ $rc -ne 0 ] && [ ! -e "$ag/results/results.json" ] && grep -q "nothing was published" <<<"$broken_out" &&
    ok "when the grader cannot finish, run_autograder publishes no results.json and fails the run" ||
    { bad "run_autograder with a broken grader: exit $rc"; echo "$broken_out" | tail -5; }
else bad "setup.sh failed"; tail -20 "$tmp/setup.txt"; fi
finish
