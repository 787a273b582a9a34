#!/usr/bin/env bash
# e2e-timeline.sh - the loop's timeline end to end: chapter programs record
# (--trace, WB_TRACE) in Chrome's trace event format, `grader timeline`
# draws an SVG that Chromium renders with rows and bars where the program
# puts them, `check --timeline` draws every test and a failed check names
# its picture, and `pictures --check` catches a lesson picture its program
# no longer draws. Run by `make e2e` (part of `make test`).
source "$(dirname "$0")/lib.sh"
ch=build/chapters/02-basic-patterns

# Chrome's trace event format, as Perfetto reads it: events with ph X, i or
# M; X with ts and dur >= 0, i with ts and a scope; every thread an event is
# on has a name; X events of one thread nest (Perfetto drops those that do
# not). Times in microseconds.
format_ok() {
  jq -e '
    (.traceEvents | type == "array" and length > 0) and .displayTimeUnit == "ms" and
    (.otherData.events_dropped | type == "number") and
    all(.traceEvents[]; (.ph | IN("X", "i", "M")) and (.pid | type == "number") and
                        (.name | type == "string")) and
    all(.traceEvents[] | select(.ph == "X"); (.ts | type == "number") and
        (.dur | type == "number") and .dur >= 0 and (.tid | type == "number")) and
    all(.traceEvents[] | select(.ph == "i"); (.ts | type == "number") and .s == "t") and
    all(.traceEvents[] | select(.ph == "M");
        (.name | IN("thread_name", "thread_sort_index", "process_name")) and (.args | type == "object")) and
    ([.traceEvents[] | select(.ph == "M" and .name == "thread_name") | .tid] as $named |
      all(.traceEvents[] | select(.ph != "M"); .tid as $t | $named | any(. == $t))) and
    ([.traceEvents[] | select(.ph == "X")] | group_by(.tid) | all(.[];
      sort_by(.ts) as $e | [range(0; $e | length) as $i | range($i + 1; $e | length) as $j |
        ($e[$i].ts + $e[$i].dur) as $stop |
        ($e[$j].ts >= $stop - 0.001) or ($e[$j].ts + $e[$j].dur <= $stop + 0.001)] | all))
  ' "$1" >/dev/null
}

# The bars of a picture, one per line: ROW KIND X Y WIDTH HEIGHT FILL.
bars() {
  perl -ne 'if (/<g data-row="([^"]*)"/) { $row = $1; $row =~ s/ /_/g }
    print "$row $1 $2 $3 $4 $5 $6\n" if /<rect data-kind="([^"]*)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="(\d+)" fill="([^"]*)"/' "$1"
}
px_per_ms() { sed -n 's/.*data-px-per-ms="\([0-9.]*\)".*/\1/p' "$1"; }
x0() { sed -n 's/.*data-axis="ms" data-x0="\([0-9]*\)".*/\1/p' "$1"; }

# Chromium's screenshot of a picture, at its own size.
shoot() { # svg png
  local h
  h=$(sed -n 's/.*<svg [^>]*height="\([0-9]*\)".*/\1/p' "$1" | head -1)
  timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --force-device-scale-factor=1 --window-size="960,$h" --screenshot="$2" "file://$1" >/dev/null 2>&1
}

echo "Chapter programs record their loop:"
$ch/sleep_gather --trace "$tmp/sg.json" >"$tmp/sg.out" 2>"$tmp/sg.err"
WB_TRACE="$tmp/pb.json" $ch/pitfall_blocking_sleep >"$tmp/pb.out" 2>"$tmp/pb.err"
$ch/fetch_data /delay/300 --trace="$tmp/fd.json" >"$tmp/fd.out" 2>"$tmp/fd.err"
$ch/sleep_gather >"$tmp/plain.out" 2>&1
for t in sg pb fd; do
  format_ok "$tmp/$t.json" && ok "$t.json follows Chrome's trace event format ($(jq '.traceEvents | length' "$tmp/$t.json") events, $(stat -c %s "$tmp/$t.json") bytes)" ||
    { bad "$t.json does not follow the trace event format"; head -c 600 "$tmp/$t.json"; }
done
grep -q "measured: lag_ms=0" "$tmp/sg.out" && grep -q "trace written to $tmp/sg.json" "$tmp/sg.err" &&
  ! grep -q "trace" "$tmp/plain.out" && [ "$(grep -c Task "$tmp/sg.out")" -eq 6 ] &&
  ok "--trace FILE is taken out of the arguments; the program prints what it did, plus one line on stderr" ||
  { bad "sleep_gather --trace"; cat "$tmp/sg.out" "$tmp/sg.err"; }
$ch/sleep_gather --trace >"$tmp/notrace.out" 2>&1
[ $? -eq 2 ] && grep -q "needs a file name" "$tmp/notrace.out" && ok "--trace without a file is refused with a message" ||
  { bad "--trace without a file"; cat "$tmp/notrace.out"; }
jq -e '[.traceEvents[] | select(.cat == "wait" and .args.kind == "ev_timer")] |
  length == 3 and (map(.args.task) | sort) == ["Task 1", "Task 2", "Task 3"] and
  (map(.args.after_ms) | sort) == [50, 100, 150] and all(.args.ended == "fired")' "$tmp/sg.json" >/dev/null &&
  jq -e '[.traceEvents[] | select(.cat == "callback" and .name == "task_resume")] |
    length == 3 and all(.args.at | test("^sleep_gather.c:[0-9]+$"))' "$tmp/sg.json" >/dev/null &&
  [ "$(jq '[.traceEvents[] | select(.cat == "mark")] | length' "$tmp/sg.json")" -eq 6 ] &&
  ok "sleep_gather: three timer waits of 50, 100, 150 ms, each in its task, callbacks named with file:line, six marks" ||
  { bad "sleep_gather's trace"; jq -c '.traceEvents[]' "$tmp/sg.json" | head -30; }
jq -e '[.traceEvents[] | select(.cat == "callback")] | length == 1 and .[0].name == "async_main" and .[0].dur > 250000' \
  "$tmp/pb.json" >/dev/null && jq -e '[.traceEvents[] | select(.cat == "mark") | .args.call] | unique | length == 1' "$tmp/pb.json" >/dev/null &&
  ok "pitfall_blocking_sleep (WB_TRACE=FILE): one callback of over 250 ms, every mark made inside it" ||
  { bad "pitfall_blocking_sleep's trace"; jq -c '.traceEvents[]' "$tmp/pb.json" | head -20; }
jq -e '[.traceEvents[] | select(.cat == "callback") | .name] | unique - ["async_main", "timeout_cb", "io_cb"] == []' "$tmp/fd.json" >/dev/null &&
  jq -e '[.traceEvents[] | select(.cat == "wait" and .args.waits_for == "reading")] | any(.dur > 250000)' "$tmp/fd.json" >/dev/null &&
  ok "fetch_data: the socket waits over 250 ms for reading; the server's own thread stays out of the trace" ||
  { bad "fetch_data's trace"; jq -c '.traceEvents[] | [.cat, .name, .dur, .args.waits_for]' "$tmp/fd.json"; }

echo "Pictures (grader timeline) and Chromium:"
for t in sg pb; do
  $G timeline "$tmp/$t.json" --span 320 >"$tmp/$t.draw" 2>&1 || bad "grader timeline $t.json: $(cat "$tmp/$t.draw")"
done
for t in sg pb; do
  xmllint --noout "$tmp/$t.svg" 2>"$tmp/$t.xml" && ! grep -qiE '<script|<foreignObject|href=' "$tmp/$t.svg" &&
    [ -z "$(grep -oE 'https?://[^"]*' "$tmp/$t.svg" | grep -v '^http://www.w3.org/2000/svg$')" ] &&
    ok "$t.svg is well-formed XML with no script, link or external file ($(stat -c %s "$tmp/$t.svg") bytes)" ||
    { bad "$t.svg"; cat "$tmp/$t.xml"; }
done
# sleep_gather: three waits start together (within 10 ms) and end after 50,
# 100 and 150 ms.
scale=$(px_per_ms "$tmp/sg.svg") origin=$(x0 "$tmp/sg.svg")
bars "$tmp/sg.svg" >"$tmp/sg.bars"
read -r ends < <(awk -v s="$scale" -v o="$origin" '$2 == "wait" && $1 ~ /^Task_/ {
    start[$1] = $3; end[$1] = ($3 + $5 - o) / s }
  END { ok = 1; for (r in start) if ((start[r] - o) / s > 10) ok = 0
    printf "%d %.0f %.0f %.0f\n", ok, end["Task_2"], end["Task_1"], end["Task_3"] }' "$tmp/sg.bars")
set -- $ends
# Facts, not clocks: a timer never ends before its delay, the three end in
# the order of their delays, and the longest ends well before the three
# delays' sum (side by side, not one after another), however busy the
# machine is.
[ "$1" = 1 ] && [ "$2" -ge 48 ] && [ "$3" -ge 98 ] && [ "$4" -ge 148 ] &&
  [ "$2" -le "$3" ] && [ "$3" -le "$4" ] && [ "$4" -lt 300 ] &&
  ok "sleep_gather.svg: the three waits overlap, starting at 0 and ending at $2, $3 and $4 ms" ||
  { bad "sleep_gather.svg's waits: $ends"; cat "$tmp/sg.bars"; }
# pitfall_blocking_sleep: three red stretches in a row, each where the last ended.
bars "$tmp/pb.svg" >"$tmp/pb.bars"
read -r row < <(awk '$2 ~ /^busy/ && $1 ~ /^Task_/ { x[$1] = $3; e[$1] = $3 + $5; f[$1] = $7 }
  END { ok = (f["Task_1"] f["Task_2"] f["Task_3"] == "#d62728#d62728#d62728")
    if (x["Task_2"] - e["Task_1"] > 3 || e["Task_1"] - x["Task_2"] > 3) ok = 0
    if (x["Task_3"] - e["Task_2"] > 3 || e["Task_2"] - x["Task_3"] > 3) ok = 0
    printf "%d %.1f %.1f %.1f\n", ok, x["Task_1"], x["Task_2"], x["Task_3"] }' "$tmp/pb.bars")
set -- $row
[ "$1" = 1 ] && ok "pitfall_blocking_sleep.svg: three red stretches in a row, each starting where the last ended (x = $2, $3, $4)" ||
  { bad "pitfall_blocking_sleep.svg's stretches: $row"; cat "$tmp/pb.bars"; }
if [ ! -x /usr/bin/chromium ]; then
  bad "chromium is not installed: make test installs it as root (sudo apt-get install chromium)"
else
  for t in sg pb; do shoot "$tmp/$t.svg" "$tmp/$t.png"; done
  # A quarter into Task 1's wait in sleep_gather (its middle has its label),
  # the middle of Task 2's stretch in the pitfall.
  at_sg=$(awk '$1 == "Task_1" && $2 == "wait" { printf "%d,%d", $3 + $5 / 4, $4 + $6 / 2 }' "$tmp/sg.bars")
  at_pb=$(awk '$1 == "Task_2" && $2 ~ /^busy/ { printf "%d,%d", $3 + $5 / 2, $4 + $6 / 2 }' "$tmp/pb.bars")
  perl tests/png-pixels.pl "$tmp/sg.png" "$at_sg" >"$tmp/sg.px" 2>&1
  perl tests/png-pixels.pl "$tmp/pb.png" "$at_pb" >"$tmp/pb.px" 2>&1
  cp "$tmp/sg.png" "$root/build/timeline-e2e-sleep_gather.png" 2>/dev/null # for a person to look at
  cp "$tmp/pb.png" "$root/build/timeline-e2e-pitfall_blocking_sleep.png" 2>/dev/null
  inked() { sed -n 's/^inked //p' "$1"; }
  [ "$(inked "$tmp/sg.px")" -gt 20000 ] && [ "$(inked "$tmp/pb.px")" -gt 20000 ] &&
    [ "$(sed -n 's/^colours //p' "$tmp/sg.px")" -gt 16 ] &&
    ok "Chromium renders both pictures: $(inked "$tmp/sg.px") and $(inked "$tmp/pb.px") pixels are not white (build/timeline-e2e-*.png)" ||
    { bad "Chromium's screenshots look blank"; cat "$tmp/sg.px" "$tmp/pb.px"; }
  grep -q "^at $at_sg b9d3ef$" "$tmp/sg.px" && grep -q "^at $at_pb d62728$" "$tmp/pb.px" &&
    ok "on screen, Task 1's wait is light blue at $at_sg and Task 2's stretch is red at $at_pb" ||
    { bad "the screenshots' colours at the bars"; grep '^at' "$tmp/sg.px" "$tmp/pb.px"; }
fi

echo "check --timeline (on a scratch copy of the workbook):"
wb="$tmp/learner"
mkdir -p "$wb/build" && cp -r exercises grader lib server chapters "$wb/"
(cd build && cp -a --parents reserved-symbols.txt libwbtest.a obj/grader/support/runner.o asan/libwbtest.a \
  asan/grader/support/runner.o chapters "$wb/build/")
export WB_ROOT=$wb
g=02-basic-patterns/02-gather-timers
cp "solutions/$g/gather_tasks.c" "$wb/exercises/$g/"
(cd "$wb/exercises/$g" && git apply -p1 "$root/tests/mutants/$g/one-after-another.patch")
$G check "$g" --timeline >"$tmp/serial.txt" 2>&1
ntests=$(grep -c 'WB_TEST(' "exercises/$g/"test_*.c)
listed=$(grep -cE "^  (ok|FAIL) +build/timeline/$g/[a-z_0-9]+\.svg$" "$tmp/serial.txt")
all=1
for svg in $(sed -n "s|^  [A-Z ok]* *\(build/timeline/.*\.svg\)$|\1|p" "$tmp/serial.txt"); do
  [ -s "$wb/$svg" ] && format_ok "$wb/${svg%.svg}.json" || { all=0; echo "        $svg"; }
done
[ "$listed" -eq "$ntests" ] && [ $all = 1 ] &&
  ok "check --timeline prints a picture for each of the $ntests tests, each with a trace in the right format" ||
  { bad "check --timeline: $listed of $ntests pictures"; cat "$tmp/serial.txt"; }
pic="$wb/build/timeline/$g/tasks_overlap_without_blocking.svg"
staircase() { # svg: 1 if each timer's wait starts where the previous one ended
  bars "$1" | awk '$2 == "wait" { x[n] = $3; e[n++] = $3 + $5 }
    END { s = n >= 4; for (i = 1; i < n; i++) if (x[i] - e[i - 1] > 3 || e[i - 1] - x[i] > 3) s = 0; print s }'
}
together() { # svg: 1 if every timer's wait starts at the same place
  bars "$1" | awk '$2 == "wait" { x[n++] = $3 } END { t = n >= 4; for (i = 1; i < n; i++) if (x[i] - x[0] > 3 || x[0] - x[i] > 3) t = 0; print t }'
}
[ "$(staircase "$pic")" = 1 ] && ok "tasks that run one after another draw a staircase of waits" ||
  { bad "the serial mutant's picture"; bars "$pic"; }
cp "solutions/$g/gather_tasks.c" "$wb/exercises/$g/"
$G check "$g" --timeline >"$tmp/overlap.txt" 2>&1
[ "$(together "$pic")" = 1 ] && ok "the solution's tasks draw waits that start together" ||
  { bad "the solution's picture"; bars "$pic"; tail -20 "$tmp/overlap.txt"; }
a=02-basic-patterns/01-async-sleep
f=$(learner_files "$a" | head -1)
cp "solutions/$a/$f" "$wb/exercises/$a/$f"
(cd "$wb/exercises/$a" && git apply -p1 "$root/tests/mutants/$a/sleeps-in-callback.patch")
$G check "$a" >"$tmp/blocked.txt" 2>&1
grep -q "To see this run as a picture: build/grader check $a --timeline" "$tmp/blocked.txt" &&
  ok "without --timeline, a blocked loop's message gives the command that draws it" ||
  { bad "no-block message without --timeline"; sed -n '/First failing/,/Hint/p' "$tmp/blocked.txt"; }
$G check "$a" --timeline >"$tmp/blocked.txt" 2>&1
named=$(sed -n 's/.*The picture of this run: \(build\/timeline\/[^ ]*\.svg\).*/\1/p' "$tmp/blocked.txt" | head -1)
[ -n "$named" ] && [ -s "$wb/$named" ] && grep -q 'data-kind="callback-blocked"' "$wb/$named" &&
  ok "a blocked loop's message names its picture ($named), where the callback is red" ||
  { bad "no-block message with --timeline"; sed -n '/First failing/,/Hint/p' "$tmp/blocked.txt"; }
cp "solutions/$a/$f" "$wb/exercises/$a/$f"
(cd "$wb/exercises/$a" && git apply -p1 "$root/tests/mutants/$a/delay-in-seconds.patch")
$G check "$a" --timeline >"$tmp/hang.txt" 2>&1
named=$(sed -n 's/.*The picture of this run: \(build\/timeline\/[^ ]*\.svg\).*/\1/p' "$tmp/hang.txt" | head -1)
grep -q "did not finish within" "$tmp/hang.txt" && [ -n "$named" ] && grep -q 'data-kind="wait-open"' "$wb/$named" &&
  ok "a hang's message names its picture, where the timer still waiting is drawn open" ||
  { bad "hang message with --timeline"; sed -n '/First failing/,/Hint/p' "$tmp/hang.txt"; }

# Chapter 02's only: verify checks every chapter's.
echo "The lessons' pictures (pictures --check 02-basic-patterns):"
$G pictures --check 02-basic-patterns >"$tmp/pc.txt" 2>&1 && ok "every picture of chapter 02 is what its program still draws" ||
  { bad "pictures --check on the workbook as it is"; cat "$tmp/pc.txt"; }
img="$wb/chapters/02-basic-patterns/img/pitfall_blocking_sleep.svg"
sed -i 's/&quot;run-blocked&quot;/\&quot;run\&quot;/' "$img"
$G pictures --check 02-basic-patterns >"$tmp/pc2.txt" 2>&1
[ $? -ne 0 ] && grep -q "FAIL  chapters/02-basic-patterns/img/pitfall_blocking_sleep.svg: .pitfall_blocking_sleep --span 320. no longer draws it" "$tmp/pc2.txt" &&
  ok "a picture that no longer matches its program is caught, with the command that remakes it" ||
  { bad "a tampered picture"; cat "$tmp/pc2.txt"; }
rm "$img"
$G pictures --check 02-basic-patterns >"$tmp/pc3.txt" 2>&1
[ $? -ne 0 ] && grep -q "pitfall_blocking_sleep.svg: the lesson shows it, but it does not exist: run .make pictures." "$tmp/pc3.txt" &&
  ok "a picture the lesson names but that is missing is caught" || { bad "a missing picture"; cat "$tmp/pc3.txt"; }
unset WB_ROOT

finish
