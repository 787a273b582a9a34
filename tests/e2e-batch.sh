#!/usr/bin/env bash
# e2e-batch.sh - grading a class: batch into a gradebook, export for an
# LMS, resume after kill -9 with nothing lost and nothing graded twice,
# shards graded at the same time and merged. Run by `make e2e`.
source "$(dirname "$0")/lib.sh"
sql() { sqlite3 -batch "$@"; }
# Why the submissions of a gradebook that were not graded were not.
why_not() {
  sql "$1" "SELECT name, report FROM submissions WHERE state != 'graded'" | while IFS='|' read -r name report; do
    echo "        $name: $(jq -r '[.exercises[] | .detail, (.tests[] | select(.status == "could not grade") | .message)] | map(select(. != "")) | join(" / ")' <<<"$report" 2>/dev/null | head -c 600)"
  done
}

# The class is graded on the week-02 assignment: what batch does is the same
# for any set of exercises, and its cost stays put as chapters are added.
A=assignments/week-02.txt
echo "A class of submissions (assignment $A):"
class=$tmp/class
mkdir -p "$class"
cp -r solutions "$class/alice"                     # all solved, as a tree
mkdir -p "$class/bob" && cp -r exercises "$class/bob/" # stubs only
mkdir -p "$class/carol"                            # flat: the first exercise only
for f in $(learner_files "$first"); do cp "solutions/$first/$f" "$class/carol/"; done
mkdir -p "$class/dave" && echo "my notes" >"$class/dave/notes.txt"
cp -r solutions "$class/erin"                      # a syntax error in the first
f=$(learner_files "$first" | head -1)
echo 'this is not C' >>"$class/erin/$first/$f"
frank="$class/frank o'neil, jr"                    # flat, every file, own content
mkdir -p "$frank"
for e in "${exs[@]}"; do for f in $(learner_files "$e"); do
  { echo "/* frank */"; cat "solutions/$e/$f"; } >"$frank/$f"; done; done
cp -r solutions "$class/=cmd()"                    # a name a spreadsheet would run
mkdir -p "$class/gina"                             # an empty folder
n=8
$G grade solutions --assignment "$A" >"$tmp/sol.txt" 2>&1
all=$(total "$tmp/sol.txt")
want=$(ex_score "$tmp/sol.txt" "$first")
declare -A expect=([alice]=$all [bob]=0 [carol]=$want [dave]=0 [erin]=$((all - want))
  ["frank o'neil, jr"]=$all ["=cmd()"]=$all [gina]=0)

$G batch "$class" --assignment "$A" -j2 --db "$tmp/book.db" >"$tmp/batch.txt" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "Done: $n graded now, 0 kept, 0 could not be graded" "$tmp/batch.txt" &&
  ok "batch -j2 grades all $n submissions into the gradebook" || { bad "batch exited $rc"; cat "$tmp/batch.txt"; }
why=""
for s in "${!expect[@]}"; do
  got=$(sql "$tmp/book.db" "SELECT printf('%g', score) FROM submissions WHERE name = '${s//\'/\'\'}' AND state = 'graded'")
  [ "$got" = "${expect[$s]}" ] || why="$why $s: ${got:-none} (want ${expect[$s]});"
done
[ -z "$why" ] && ok "each submission's score is what grading it alone gives" || {
  bad "scores:$why"
  for s in "${!expect[@]}"; do
    $G report --db "$tmp/book.db" "$s" 2>&1 | grep -B1 -A4 'FAIL' | head -16 | sed "s/^/    $s: /"
  done; }

$G export --db "$tmp/book.db" --out "$tmp/grades.csv" 2>/dev/null
head -1 "$tmp/grades.csv" | grep -q "^submission,score,max,percent,state,$first," &&
  [ "$(wc -l <"$tmp/grades.csv")" -eq $((n + 1)) ] &&
  grep -q "^alice,$all,$all,100.0,graded," "$tmp/grades.csv" &&
  grep -qF "\"frank o'neil, jr\",$all," "$tmp/grades.csv" &&
  grep -qF "\"'=cmd()\",$all," "$tmp/grades.csv" &&
  ok "export --csv: a header with one column per exercise, a row per submission, names quoted, formulas defused" ||
  { bad "export CSV"; cat "$tmp/grades.csv"; }

$G batch "$class" --assignment "$A" -j2 --db "$tmp/book.db" >"$tmp/again.txt" 2>&1
grep -q "$n already graded" "$tmp/again.txt" && grep -q "Done: 0 graded now, $n kept" "$tmp/again.txt" &&
  ok "a second run keeps every graded submission" || bad "second run: $(tail -2 "$tmp/again.txt")"
echo "/* changed */" >>"$class/carol/$(learner_files "$first" | head -1)"
$G batch "$class" --assignment "$A" -j2 --db "$tmp/book.db" >"$tmp/changed.txt" 2>&1
grep -q "1 graded before, but their files or the tests changed" "$tmp/changed.txt" &&
  grep -q "Done: 1 graded now, $((n - 1)) kept" "$tmp/changed.txt" &&
  ok "a submission whose file changed is graded again, the rest kept" || bad "changed file: $(tail -3 "$tmp/changed.txt")"

# A link to the right file is refused; the same file put in its place is graded.
mkdir -p "$tmp/linked/hank"
f=$(learner_files "$first" | head -1)
ln -s "$root/solutions/$first/$f" "$tmp/linked/hank/$f"
$G batch "$tmp/linked" --assignment "$A" --db "$tmp/l.db" >/dev/null 2>&1
rm "$tmp/linked/hank/$f" && cp "solutions/$first/$f" "$tmp/linked/hank/$f"
$G batch "$tmp/linked" --assignment "$A" --db "$tmp/l.db" >"$tmp/l2.txt" 2>&1
[ "$(sql "$tmp/l.db" "SELECT printf('%g', score) FROM submissions")" = "$want" ] &&
  ok "a symbolic link replaced by the same file is graded again ($want points), not kept at 0" || { bad "link then file"; cat "$tmp/l2.txt"; }

echo "Resuming after kill -9:"
# Every test really runs (--no-cache), one job at a time: slow enough to
# be killed half-way. The resumed run may reuse kept passes: what it must
# show is which submissions it keeps and which it grades.
$G batch "$class" --assignment "$A" -j1 --no-cache --db "$tmp/k.db" >"$tmp/k1.txt" 2>&1 &
gpid=$!
count() { sql "$1" "SELECT COUNT(*) FROM submissions" 2>/dev/null || echo 0; }
wait_for '[ "$(count "$tmp/k.db")" -ge 2 ]' 1200
kill -9 $gpid 2>/dev/null; wait $gpid 2>/dev/null
before=$(count "$tmp/k.db")
wait_for '! pgrep -f -- "-$gpid/" >/dev/null' 50
[ "$before" -ge 2 ] && [ "$before" -lt $n ] && ! pgrep -f -- "-$gpid/" >/dev/null &&
  ok "killed with -9 after $before of $n submissions; none of its processes lived on" ||
  bad "kill -9: $before rows, processes left: $(pgrep -f -- "-$gpid/" | wc -l)"
$G batch "$class" --assignment "$A" -j2 --db "$tmp/k.db" >"$tmp/k2.txt" 2>&1
rows=$(sql "$tmp/k.db" "SELECT COUNT(*), SUM(state = 'graded'), MAX(runs) FROM submissions")
grep -q "$before already graded" "$tmp/k2.txt" && grep -q "Done: $((n - before)) graded now, $before kept" "$tmp/k2.txt" &&
  [ "$rows" = "$n|$n|1" ] && ! ls -d "$root/build/work/"*"-$gpid" >/dev/null 2>&1 &&
  ok "the same command resumed: $before kept, $((n - before)) graded, each graded once ($rows), scratch cleaned" ||
  { bad "resume: rows $rows"; tail -4 "$tmp/k2.txt"; }
diff <(cut -d, -f1-5 "$tmp/grades.csv" | grep -v '^carol') \
  <($G export --db "$tmp/k.db" | cut -d, -f1-5 | grep -v '^carol') >"$tmp/kdiff.txt" &&
  ok "the resumed gradebook has the same grades as the uninterrupted one" ||
  { bad "resumed grades differ"; cat "$tmp/kdiff.txt"
    sed -n 's/^[<>] \([^,]*\),.*/\1/p' "$tmp/kdiff.txt" | sort -u | while IFS= read -r who; do
      who=${who#\"}; who=${who%\"}
      for book in book k; do
        echo "    $who in $book.db:"; $G report --db "$tmp/$book.db" "$who" 2>&1 | grep -B1 -A4 'FAIL' | head -12
      done
    done; }

echo "Stopping politely:"
$G batch "$class" --assignment "$A" -j1 --no-cache --db "$tmp/t.db" >"$tmp/t1.txt" 2>&1 &
gpid=$!
wait_for '[ "$(count "$tmp/t.db")" -ge 1 ]' 1200
kill -TERM $gpid; wait $gpid; rc=$?
before=$(count "$tmp/t.db")
[ $rc -eq 143 ] && grep -q "Stopped (terminated) after $before graded now" "$tmp/t1.txt" &&
  ! pgrep -f -- "-$gpid/" >/dev/null && [ "$(sql "$tmp/t.db" "SELECT COUNT(*) FROM submissions WHERE state != 'graded'")" = 0 ] &&
  ok "SIGTERM stops the batch at once (exit 143): $before graded kept, nothing half-graded recorded, no process left" ||
  { bad "SIGTERM: exit $rc"; cat "$tmp/t1.txt"; }
$G batch "$class" --assignment "$A" -j1 --db "$tmp/t.db" >"$tmp/t2.txt" 2>&1
grep -q "Done: $((n - before)) graded now, $before kept" "$tmp/t2.txt" && ok "the same command finishes the rest" || { bad "after SIGTERM"; tail -2 "$tmp/t2.txt"; }

echo "Shards:"
$G batch "$class" --assignment "$A" --shard 1/2 -j1 --db "$tmp/s1.db" >"$tmp/s1.txt" 2>&1 &
p1=$!
$G batch "$class" --assignment "$A" --shard 2/2 -j1 --db "$tmp/s2.db" >"$tmp/s2.txt" 2>&1 &
p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
c1=$(count "$tmp/s1.db"); c2=$(count "$tmp/s2.db")
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ $((c1 + c2)) -eq $n ] && [ "$c1" -gt 0 ] && [ "$c2" -gt 0 ] &&
  ok "two shards graded at the same time split the class ($c1 + $c2)" ||
  { bad "shards: exit $r1/$r2, rows $c1 + $c2"; tail -n 3 "$tmp/s1.txt" "$tmp/s2.txt"; why_not "$tmp/s1.db"; why_not "$tmp/s2.db"; }
$G merge --db "$tmp/merged.db" "$tmp/s1.db" "$tmp/s2.db" >"$tmp/merge.txt" 2>&1
diff <($G export --db "$tmp/book.db" | cut -d, -f1-8) <($G export --db "$tmp/merged.db" | cut -d, -f1-8) >/dev/null &&
  grep -q "$n submissions, $n graded" "$tmp/merge.txt" &&
  ok "merge joins the shards into the same gradebook as one batch" || { bad "merge"; cat "$tmp/merge.txt"; }
$G merge --db "$tmp/merged.db" "$tmp/s1.db" >"$tmp/merge2.txt" 2>&1
grep -q "0 submissions taken" "$tmp/merge2.txt" && ok "merging a shard twice takes nothing twice" || bad "merge twice: $(cat "$tmp/merge2.txt")"

echo "A fault of the grader is never a zero:"
# An instructor's hidden test that does not compile: nothing can be graded.
mkdir -p "$tmp/broken/$first" && echo 'this is not C' >"$tmp/broken/$first/test_broken.c"
$G batch "$class" --assignment "$A" -j2 --db "$tmp/cng.db" --hidden "$tmp/broken" >"$tmp/cng.txt" 2>&1
rc=$?
$G export --db "$tmp/cng.db" >"$tmp/cng.csv" 2>/dev/null
# dave and gina hand in no file at all: 0 is their true grade. Everyone
# else has a file for the exercise whose tests are broken.
why=""
[ $rc -eq 70 ] || why="exit $rc;"
grep -q "Done: 2 graded now, 0 kept, $((n - 2)) could not be graded" "$tmp/cng.txt" || why="$why $(grep Done: "$tmp/cng.txt");"
for s in alice bob carol erin; do grep -q "^$s,,[0-9]*,,could not grade," "$tmp/cng.csv" || why="$why $s's row;"; done
grep -q "^dave,0,[0-9]*,0.0,graded," "$tmp/cng.csv" || why="$why dave's row;"
[ -z "$why" ] && ok "a broken hidden test: each submission with a file for it 'could not grade' (exit 70, no score in the CSV); empty ones get their 0" ||
  { bad "could not grade:$why"; cat "$tmp/cng.csv"; }
$G batch "$class" --assignment "$A" -j2 --db "$tmp/cng.db" >"$tmp/cng2.txt" 2>&1
[ $? -eq 0 ] && grep -q "Done: $n graded now, 0 kept, 0 could not be graded" "$tmp/cng2.txt" &&
  ok "run again without it, every submission is graded" || { bad "retry after could not grade"; tail -3 "$tmp/cng2.txt"; why_not "$tmp/cng.db"; }

echo "Mistakes:"
$G batch "$tmp/nowhere" --db "$tmp/x.db" >"$tmp/m1.txt" 2>&1
[ $? -eq 2 ] && grep -q "is not a folder of submissions" "$tmp/m1.txt" && ok "batch on a missing folder says so" || bad "batch on a missing folder"
$G batch "$class" --shard 3/2 >"$tmp/m2.txt" 2>&1
[ $? -eq 2 ] && grep -q "shard takes I/N" "$tmp/m2.txt" && ok "a bad --shard is explained" || bad "bad --shard"
echo "not a database" >"$tmp/junk.db"
$G batch "$class" --db "$tmp/junk.db" >"$tmp/m3.txt" 2>&1
[ $? -eq 70 ] && grep -q "not a gradebook" "$tmp/m3.txt" && [ "$(cat "$tmp/junk.db")" = "not a database" ] && ok "a file that is not a gradebook is refused, untouched" || { bad "junk gradebook"; cat "$tmp/m3.txt"; }
sql "$tmp/other.db" "CREATE TABLE notes(x); INSERT INTO notes VALUES ('mine')"
before_sum=$(md5sum <"$tmp/other.db")
$G merge --db "$tmp/m.db" "$tmp/other.db" >"$tmp/m4.txt" 2>&1
$G export --db "$tmp/other.db" >"$tmp/m5.txt" 2>&1
grep -q "not a gradebook" "$tmp/m4.txt" && grep -q "not a gradebook" "$tmp/m5.txt" && [ "$(md5sum <"$tmp/other.db")" = "$before_sum" ] &&
  ok "merge and export refuse an SQLite file that is not a gradebook, and leave it as it was" || { bad "other SQLite file"; cat "$tmp/m4.txt" "$tmp/m5.txt"; }
$G merge --db "$tmp/merged.db" "$tmp/merged.db" "$tmp/s1.db" >"$tmp/m6.txt" 2>&1
[ $? -eq 0 ] && grep -q "the gradebook merged into, skipped" "$tmp/m6.txt" && ok "merging a gradebook into itself is skipped, at once" || { bad "merge into itself"; cat "$tmp/m6.txt"; }
mkdir -p "$tmp/noclass"
$G batch "$tmp/noclass" --db "$tmp/e.db" >"$tmp/m7.txt" 2>&1
[ $? -eq 2 ] && grep -q "no submission folders" "$tmp/m7.txt" && ok "a folder without submission folders is explained" || bad "empty class"
$G batch "$class" --assignment "$A" -j1 --no-cache --db "$tmp/two.db" >"$tmp/two1.txt" 2>&1 &
p1=$!
wait_for '[ -e "$tmp/two.db.lock" ]' 100
$G batch "$class" --assignment "$A" -j1 --db "$tmp/two.db" >"$tmp/two2.txt" 2>&1
r2=$?
wait $p1
[ $r2 -eq 2 ] && grep -q "another batch is writing to" "$tmp/two2.txt" && [ "$(sql "$tmp/two.db" "SELECT MAX(runs) FROM submissions")" = 1 ] &&
  ok "a second batch on a gradebook in use is refused: nothing graded twice" || { bad "two batches at once: exit $r2"; cat "$tmp/two2.txt"; }
finish
