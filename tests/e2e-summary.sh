#!/usr/bin/env bash
# e2e-summary.sh - what an instructor reads after a batch: one student's
# stored report in every format, feedback files, the CSV for an LMS (a
# state per exercise, the student id), the class summary as text and as a
# page checked in headless Chromium, and similarity flags on two identical
# uploads among distinct ones. Run by `make e2e`.
source "$(dirname "$0")/lib.sh"
sql() { sqlite3 -batch "$@"; }
# The class is graded on one assignment, whose exercises the honest uploads
# of tests/honest/ cover: the figures stay the same as chapters are added.
A=assignments/week-02.txt
mapfile -t exs < <(awk '!/^#/ && NF { print $1 }' "$A")
first=${exs[0]}
last=${exs[-1]}
nex=${#exs[@]}

echo "A known class:"
# ann and ben hand in the same solutions (a tree, and flat); cat and dan
# wrote their own (tests/honest/), dan only the first exercise; eve hands
# in the first stub untouched and a last file that does not compile; Fay's
# LMS folder holds a zipped handout with the stubs.
class=$tmp/class
mkdir -p "$class"
cp -r solutions "$class/ann"
mkdir "$class/ben"
for e in "${exs[@]}"; do for f in $(learner_files "$e"); do cp "solutions/$e/$f" "$class/ben/"; done; done
cp -r tests/honest/globals-and-c11 "$class/cat"
mkdir "$class/dan"
for f in $(learner_files "$first"); do cp "tests/honest/plain-names/$f" "$class/dan/"; done
eve="eve <i>&'\""
mkdir "$class/$eve"
for f in $(learner_files "$first"); do cp "exercises/$first/$f" "$class/$eve/"; done
for f in $(learner_files "$last"); do { cat "exercises/$last/$f"; echo 'this is not C'; } >"$class/$eve/$f"; done
fay="Fay Lee_123456_assignsubmission_file_"
mkdir -p "$class/$fay/week2" && cp -r exercises "$class/$fay/week2/"
n=6
book=$tmp/book.db
$G batch "$class" --assignment "$A" -j2 --db "$book" >"$tmp/batch.txt" 2>&1
grep -q "Done: $n graded now, 0 kept, 0 could not be graded" "$tmp/batch.txt" &&
  ok "batch grades the $n submissions" || { bad "batch"; cat "$tmp/batch.txt"; }
# The figures the checks expect, computed from the gradebook by SQL.
q() { sql "$book" "$1"; }
# Points as the grader writes them: 53, 2.5 (the gradebook holds reals).
score_of() { q "SELECT printf('%g', score) FROM submissions WHERE name = '$1'"; }
all=$(q "SELECT printf('%g', max) FROM submissions WHERE name = 'ann'")

echo "One student's report:"
$G report --db "$book" ann >"$tmp/ann.txt" 2>&1
grep -q "^Grading .*/ann$" "$tmp/ann.txt" && grep -q "^Total: $all/$all points" "$tmp/ann.txt" &&
  ok "report ann: the stored report as text, $all/$all" || { bad "report text"; head -5 "$tmp/ann.txt"; }
$G report --db "$book" ann --format json --out "$tmp/ann.json" 2>/dev/null
diff <(q "SELECT report FROM submissions WHERE name = 'ann'" | jq -S .) <(jq -S . "$tmp/ann.json") >/dev/null &&
  ok "report --format json gives back exactly the JSON batch stored" || bad "json round trip"
ntests=$(jq '[.exercises[].tests[]] | length' "$tmp/ann.json")
$G report --db "$book" dan --format gradescope >"$tmp/dan.gs.json" 2>&1
$G report --db "$book" dan --format junit >"$tmp/dan.xml" 2>&1
$G report --db "$book" dan --format tap >"$tmp/dan.tap" 2>&1
[ "$(jq '.tests | length' "$tmp/dan.gs.json")" = "$ntests" ] &&
  [ "$(jq .score "$tmp/dan.gs.json")" = "$(score_of dan)" ] &&
  [ "$(xmllint --xpath 'count(//testcase)' "$tmp/dan.xml")" = "$ntests" ] &&
  grep -q "^1\.\.$ntests$" "$tmp/dan.tap" &&
  ok "gradescope, junit and tap from the stored report: $ntests tests, dan's $(score_of dan) points" ||
  { bad "other formats"; head -c 400 "$tmp/dan.gs.json"; }
$G report --db "$book" 123456 >"$tmp/fay.txt" 2>&1 && grep -q "^Grading .*/$fay$" "$tmp/fay.txt" &&
  ok "a student found by the LMS id in the folder name" || { bad "report by id"; head -3 "$tmp/fay.txt"; }
$G report --db "$book" anm >"$tmp/anm.txt" 2>&1
[ $? -eq 2 ] && grep -q 'no student "anm"' "$tmp/anm.txt" && grep -q 'Closest: "ann"' "$tmp/anm.txt" &&
  ok "an unknown student names the closest: $(grep -o 'Closest: [^.]*' "$tmp/anm.txt")" || { bad "unknown student"; cat "$tmp/anm.txt"; }

echo "Feedback files and the CSV:"
$G export --db "$book" --feedback "$tmp/fb" --similarity --out "$tmp/grades.csv" >"$tmp/export.txt" 2>&1
[ "$(ls "$tmp/fb" | wc -l)" -eq $n ] && grep -q "^Feedback for ann$" "$tmp/fb/ann.txt" &&
  grep -q "^Score: $all/$all points (100%)" "$tmp/fb/ann.txt" && grep -q "^Total: $all/$all" "$tmp/fb/ann.txt" &&
  grep -q "^Feedback for Fay Lee (id 123456)$" "$tmp/fb/$fay.txt" && grep -q "compile error" "$tmp/fb/$eve.txt" &&
  ok "export --feedback: $n files named after the students, a header and the report" ||
  { bad "feedback files"; ls "$tmp/fb"; cat "$tmp/export.txt"; }
# The CSV read back by SQLite, whose importer follows RFC 4180.
sql "$tmp/csv.db" ".import --csv $tmp/grades.csv g"
c() { sql "$tmp/csv.db" "SELECT \"$2\" FROM g WHERE submission = '${1//\'/\'\'}'"; }
second=${exs[1]}
why=""
[ "$(c ann "$first state")" = graded ] || why="$why ann's state;"
[ "$(c "$eve" "$second state")" = "missing file" ] || why="$why eve's missing file;"
[ "$(c "$eve" "$last state")" = "compile error" ] || why="$why eve's compile error;"
[ "$(c "$fay" student_id)|$(c "$fay" student_name)" = "123456|Fay Lee" ] || why="$why Fay's id;"
[ "$(c dan student_id)|$(c dan student_name)" = "dan|dan" ] || why="$why dan's id;"
[ "$(c ann similar_to)" = "$(for e in "${exs[@]}"; do printf '%s' "${sep:-}ben ($e, 100%)"; sep='; '; done)" ] || why="$why ann's similar_to;"
[ -z "$(c cat similar_to)$(c dan similar_to)" ] || why="$why cat or dan flagged;"
[ -z "$why" ] && ok "CSV: a state per exercise, the id and name from the LMS folder, similar_to" ||
  { bad "CSV:$why"; cat "$tmp/grades.csv"; }

echo "The class summary:"
mean=$(q "SELECT printf('%.1f', AVG(100.0 * score / max)) FROM submissions WHERE state = 'graded'")
full=$(q "SELECT SUM(score = max) FROM exercise_scores WHERE exercise = '$first'")
rate=$(q "SELECT printf('%.0f', 100.0 * SUM(score = max) / COUNT(*)) FROM exercise_scores WHERE exercise = '$first'")
$G summary --db "$book" --similarity >"$tmp/sum.txt" 2>&1
grep -q "$n submissions, $n graded, 0 could not be graded" "$tmp/sum.txt" &&
  grep -q "mean $mean%" "$tmp/sum.txt" && grep -q "^  $first .* $full/$n ($rate%)$" "$tmp/sum.txt" &&
  grep -q "^Missing files: $((nex - 1 + nex - 2))$" "$tmp/sum.txt" && grep -q "^Files that do not compile: 1$" "$tmp/sum.txt" &&
  ok "summary: $n graded, mean $mean%, $first passed by $full/$n, the missing and broken files listed" ||
  { bad "summary text"; cat "$tmp/sum.txt"; }
[ "$(grep -c ': ann and ben, 100% matched$' "$tmp/sum.txt")" = "$nex" ] &&
  [ "$(grep -c '% matched$' "$tmp/sum.txt")" = "$nex" ] &&
  ok "similarity: ann and ben flagged in each of the $nex exercises, no other pair" ||
  { bad "similarity flags"; sed -n '/^Similar/,$p' "$tmp/sum.txt"; }
PATH=/nonexistent $G summary --db "$book" --similarity >"$tmp/nosim.txt" 2>&1
[ $? -eq 0 ] && grep -q "apt-get install similarity-tester" "$tmp/nosim.txt" && grep -q "not checked" "$tmp/nosim.txt" &&
  ok "without sim_c: the package to install is named, the summary goes on" || { bad "no sim_c"; cat "$tmp/nosim.txt"; }

echo "The summary page:"
page=$tmp/summary.html
$G summary --db "$book" --similarity --html "$page" >/dev/null 2>&1
! grep -qiE '<script|<link|<img|<iframe|src=|url\(|@import' "$page" &&
  [ -z "$(grep -oE 'https?://[^"]*' "$page" | grep -v '^http://www.w3.org/2000/svg$')" ] &&
  grep -qF 'eve &lt;i&gt;&amp;&#39;&quot;' "$page" && ! grep -qF "<i>&'" "$page" &&
  ok "the page is self-contained (no script, no external file or address) and escapes names" ||
  bad "page content"
if [ ! -x /usr/bin/chromium ]; then
  bad "chromium is not installed: make test installs it as root (sudo apt-get install chromium)"
else
  browse() { timeout 60 chromium --headless --no-sandbox --disable-gpu --window-size=1200,2000 "$@" "file://$page" 2>/dev/null; }
  browse --screenshot="$tmp/summary.png" >/dev/null
  browse --dump-dom >"$tmp/dom.html"
  cp "$tmp/summary.png" "$root/build/summary-e2e.png" 2>/dev/null # for a person to look at
  [ "$(head -c 8 "$tmp/summary.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] &&
    [ "$(stat -c %s "$tmp/summary.png")" -gt 20000 ] &&
    ok "Chromium renders the page: a $(stat -c %s "$tmp/summary.png")-byte screenshot (build/summary-e2e.png)" ||
    bad "no screenshot"
  x() { xmllint --html --xpath "$1" "$tmp/dom.html" 2>/dev/null; }
  bars=$(x 'count(//*[local-name()="rect"][@class="bar"])')
  top=$(q "SELECT COUNT(*) FROM submissions WHERE state = 'graded' AND 100.0 * score / max >= 90")
  low=$(q "SELECT COUNT(*) FROM submissions WHERE state = 'graded' AND 100.0 * score / max < 10")
  [ "$bars" = 10 ] && [ "$(x 'sum(//*[@class="bar"]/@data-count)')" = "$n" ] &&
    [ "$(x 'string(//*[@class="bar"][@data-range="90-100"]/@data-count)')" = "$top" ] &&
    [ "$(x 'string(//*[@class="bar"][@data-range="0-10"]/@data-count)')" = "$low" ] &&
    ok "histogram in the DOM: 10 bars holding the $n graded, $top at 90-100%, $low under 10%" ||
    bad "histogram: $bars bars"
  emean=$(q "SELECT AVG(score) FROM exercise_scores WHERE exercise = '$first'")
  got=$(x "string(//tr[@data-exercise='$first']/@data-mean)")
  awk -v a="$got" -v b="$emean" 'BEGIN { exit !(a != "" && (a - b) ^ 2 < 0.0001) }' &&
    [ "$(x "string(//tr[@data-exercise='$first']/@data-pass-rate)")" = "$rate" ] &&
    [ "$(x 'string(//*[@id="mean"]/@data-value)')" = "$mean" ] &&
    ok "in the DOM: $first's mean $got and pass rate $rate%, the class mean $mean%" ||
    bad "figures in the DOM: mean ${got:-none} (want $emean)"
  [ "$(x 'count(//tr[@class="similar"])')" = "$nex" ] &&
    [ "$(x 'count(//tr[@class="similar"][@data-size="2"][@data-share="100"])')" = "$nex" ] &&
    [ "$(x 'count(//tr[@class="similar"]//a[@data-student="ann"])')" = "$nex" ] &&
    [ "$(x 'count(//tr[@class="similar"]//a[@data-student="ben"])')" = "$nex" ] &&
    [ "$(x 'count(//tr[@class="similar"]//a)')" = "$((2 * nex))" ] &&
    ok "in the DOM: the flag between the two identical uploads, none between distinct ones" ||
    bad "similarity in the DOM"
  [ "$(x 'count(//details[@class="report"])')" = "$n" ] &&
    [ "$(x 'count(//a[starts-with(@href, "#s")])')" -ge "$n" ] &&
    x 'string(//details[@id="s2"]/summary)' | grep -q '^ann' &&
    ok "every student's report one click away (#s1..#s$n)" || bad "reports in the page"
fi

echo "Could not grade:"
# A hidden test that does not compile: the grader's fault, never a score.
mkdir -p "$tmp/cng/gus" "$tmp/broken/$first"
for f in $(learner_files "$first"); do cp "solutions/$first/$f" "$tmp/cng/gus/"; done
echo 'this is not C' >"$tmp/broken/$first/test_broken.c"
$G batch "$tmp/cng" --assignment "$A" --db "$tmp/cng.db" --hidden "$tmp/broken" >/dev/null 2>&1
$G summary --db "$tmp/cng.db" >"$tmp/cng.txt" 2>&1
$G export --db "$tmp/cng.db" --out "$tmp/cng.csv" 2>/dev/null
grep -q "1 submission, 0 graded, 1 could not be graded" "$tmp/cng.txt" &&
  grep -A1 "^Could not grade" "$tmp/cng.txt" | grep -q "gus: $first, could not grade" &&
  grep -q "^gus,,.*,could not grade,,could not grade," "$tmp/cng.csv" &&
  ok "a submission the grader could not grade is listed as such, with no score in the CSV" ||
  { bad "could not grade"; cat "$tmp/cng.txt" "$tmp/cng.csv"; }
$G summary --db "$tmp/nowhere.db" >"$tmp/nodb.txt" 2>&1
[ $? -eq 2 ] && grep -q "no gradebook at" "$tmp/nodb.txt" && ok "summary without a gradebook says how to make one" ||
  bad "summary without a gradebook"
finish
