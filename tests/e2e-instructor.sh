#!/usr/bin/env bash
# e2e-instructor.sh - what an instructor meets grading a class: uploads
# found wherever they sit, hidden tests given by a relative path or not
# compiling, a wrong visibility, fractional points, and gradebooks of
# different tests that must not be merged or exported silently. Each check
# prints ok/FAIL; the last line is "N passed, N failed". Run by `make e2e`.
source "$(dirname "$0")/lib.sh"
f=$(learner_files "$first" | head -1)
want=$($G grade solutions 2>/dev/null | sed -n "s|^$first *\([0-9.]*\)/.*|\1|p")

echo "Uploads, wherever they sit:"
# A zipped handout folder, and an LMS's folder per student.
for where in "lab1/exercises/$first" "Ann Lee_123_assignsubmission_file_/week2/exercises/$first" "deep/a/b/c/d"; do
  up=$tmp/up-$RANDOM && mkdir -p "$up/$where" && cp "solutions/$first/$f" "$up/$where/"
  $G grade "$up" >"$tmp/up.txt" 2>&1
  [ "$(ex_score "$tmp/up.txt" "$first")" = "$want" ] && grep -qF "$f was found at $where/$f" "$tmp/up.txt" &&
    ok "found at $where/$f, graded ($want points), and the report says where" ||
    { bad "upload at $where"; head -8 "$tmp/up.txt"; }
done
# Two candidates: refused with both paths.
up=$tmp/two && mkdir -p "$up/a" "$up/b" && cp "solutions/$first/$f" "$up/a/" && cp "solutions/$first/$f" "$up/b/"
$G grade "$up" >"$tmp/two.txt" 2>&1
[ "$(ex_score "$tmp/two.txt" "$first")" = 0 ] && grep -qF "at a/$f and at b/$f" "$tmp/two.txt" &&
  ok "two files named $f are refused, naming both" || { bad "two candidates"; head -8 "$tmp/two.txt"; }
# None: what is there instead.
up=$tmp/none && mkdir -p "$up/src" && echo 'int x;' >"$up/src/mine.c" && echo notes >"$up/README.txt"
$G grade "$up" >"$tmp/none.txt" 2>&1
grep -qF "$f was not found in the submission. Its C files are: src/mine.c." "$tmp/none.txt" &&
  ok "a missing $f is reported with the C files the upload holds instead" || { bad "missing file"; head -8 "$tmp/none.txt"; }
# batch says it too, for each student.
mkdir -p "$tmp/class/alice/lab1" "$tmp/class/bob"
cp "solutions/$first/$f" "$tmp/class/alice/lab1/" && echo 'int x;' >"$tmp/class/bob/mine.c"
$G batch "$tmp/class" --db "$tmp/c.db" --assignment assignments/week-02.txt >"$tmp/batch.txt" 2>&1
grep -qE "alice .*\($f found elsewhere; gather_tasks.c missing; fetch_json.c missing\)" "$tmp/batch.txt" &&
  grep -qE "bob .*\($f missing; gather_tasks.c missing; fetch_json.c missing\)" "$tmp/batch.txt" &&
  ok "batch's line for a student says which files were missing or found elsewhere" || { bad "batch lines"; cat "$tmp/batch.txt"; }
nex=${#exs[@]}
$G batch "$tmp/class" --db "$tmp/c2.db" >"$tmp/batch2.txt" 2>&1
grep -qE "alice .*\($f found elsewhere; $((nex - 1)) of $nex files missing\)" "$tmp/batch2.txt" &&
  grep -qE "bob .*\($nex of $nex files missing\)" "$tmp/batch2.txt" &&
  ok "with many files missing, the line counts them instead of naming each" || { bad "batch lines, many missing"; cat "$tmp/batch2.txt"; }

echo "Hidden tests:"
hid=$tmp/hid/$first && mkdir -p "$hid"
hdr=$(cd "exercises/$first" && ls *.h | head -1)
printf '#include "%s"\n#include "wbtest.h"\nWB_TEST(hidden_loop_exists, 2) {\n  ck_assert_ptr_nonnull(wb_loop());\n}\nEND_TEST\n' "$hdr" >"$hid/test_hidden.c"
mkdir -p "$tmp/sol1" && cp "solutions/$first/$f" "$tmp/sol1/"
(cd "$tmp" && $G grade sol1 --hidden hid) >"$tmp/rel.txt" 2>&1
[ $? -eq 0 ] && grep -q "hidden_loop_exists .*2/2 (hidden)" "$tmp/rel.txt" &&
  ok "a relative --hidden path works (the hidden test runs and passes)" || { bad "relative --hidden"; head -20 "$tmp/rel.txt"; }
$G grade "$tmp/sol1" --hidden "$tmp/hid" --hidden-visibility sometimes >"$tmp/vis.txt" 2>&1
rc=$?
$G grade >"$tmp/usage.txt" 2>&1
[ $rc -eq 2 ] && grep -q "hidden, after_due_date, after_published or visible" "$tmp/vis.txt" &&
  grep -q -- "--hidden-visibility" "$tmp/usage.txt" &&
  ok "--hidden-visibility refuses an unknown word and is in the usage" || { bad "visibility"; cat "$tmp/vis.txt"; }
bh=$tmp/badhid/$first && mkdir -p "$bh"
printf '#include "%s"\n#include "wbtest.h"\nWB_TEST(secret_check, 2) { SECRET_TOKEN does not compile; }\nEND_TEST\n' "$hdr" >"$bh/test_secret.c"
$G grade "$tmp/sol1" --hidden "$tmp/badhid" --no-cache --format gradescope --out "$tmp/bh.json" 2>"$tmp/bh.err" >/dev/null
rc=$?
[ $rc -eq 70 ] && grep -q "test_secret.c did not compile" "$tmp/bh.err" &&
  ! grep -q "SECRET_TOKEN\|$tmp/badhid" "$tmp/bh.json" && grep -q "hidden tests, not of the submission" "$tmp/bh.json" &&
  ok "a hidden test that does not compile: exit 70, told on stderr, its path and code kept from the learner's results" ||
  { bad "broken hidden test (exit $rc)"; head -c 800 "$tmp/bh.json"; cat "$tmp/bh.err" | head -5; }

echo "Points:"
printf '# Small\n%s 3\n' "$first" >"$tmp/three.txt"
$G grade solutions --assignment "$tmp/three.txt" --format json >"$tmp/three.json" 2>/dev/null
$G grade solutions --format json >"$tmp/plain.json" 2>/dev/null
read -r zero sum same <<<"$(jq -s --arg ex "$first" '
  [.[0].exercises[] | select(.id == $ex) | .tests[].max_score] as $a |
  [.[1].exercises[] | select(.id == $ex) | .tests[].max_score] as $w |
  ($a | map(select(. <= 0)) | length), ($a | add),
  ([range($a | length)] | all(. as $i | (($a[$i] / 3) - ($w[$i] / ($w | add))) | fabs < 0.0001))' \
  "$tmp/three.json" "$tmp/plain.json" | tr '\n' ' ')"
[ "$zero" = 0 ] && awk -v s="$sum" 'BEGIN { exit !(s > 2.9999 && s < 3.0001) }' && [ "$same" = true ] &&
  ok "3 points for $first: no test worth 0, shares add up to 3, each in the workbook's proportion" ||
  { bad "fractional points: $zero zero, sum $sum, proportions $same"; }

echo "Gradebooks of different tests:"
$G batch "$tmp/class" --db "$tmp/s2.db" --assignment "$tmp/three.txt" >/dev/null 2>&1
$G merge --db "$tmp/all.db" "$tmp/c.db" >/dev/null 2>&1
$G merge --db "$tmp/all.db" "$tmp/s2.db" >"$tmp/m.txt" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "graded with other tests or points" "$tmp/m.txt" &&
  ok "merge refuses a shard graded with other tests or points" || { bad "merge of different tests (exit $rc)"; cat "$tmp/m.txt"; }
$G merge --db "$tmp/mixed.db" --force "$tmp/c.db" >/dev/null 2>&1
mkdir -p "$tmp/class2/carol" && cp "solutions/$first/$f" "$tmp/class2/carol/"
$G batch "$tmp/class2" --db "$tmp/c2.db" --assignment "$tmp/three.txt" >/dev/null 2>&1
$G merge --db "$tmp/mixed.db" --force "$tmp/c2.db" >/dev/null 2>&1
$G export --db "$tmp/mixed.db" --out "$tmp/mixed.csv" >"$tmp/e.txt" 2>&1
rc=$?
$G export --db "$tmp/mixed.db" --force --out "$tmp/mixed.csv" >"$tmp/e2.txt" 2>&1
rc2=$?
[ $rc -eq 2 ] && grep -q "not comparable" "$tmp/e.txt" && [ $rc2 -eq 0 ] && grep -q "WARNING" "$tmp/e2.txt" &&
  ok "merge --force joins them, and export then refuses to mix maxima silently (--force warns)" ||
  { bad "export of mixed tests ($rc, $rc2)"; cat "$tmp/e.txt" "$tmp/e2.txt"; }
finish
