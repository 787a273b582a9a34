#!/usr/bin/env bash
# bench-trace.sh - the recorder's cost on 100,000 timers (tests/bench_trace.c),
# side by side in one session, in turns: not linked at all, linked but off,
# on. Medians of RUNS runs each; then the size of the trace and of its
# picture, and how long drawing it takes. `make bench-trace`.
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-7}
plain=build/bench/trace-plain wrapped=build/bench/trace-wrapped
tmp=$(mktemp -d /tmp/wb-bench-trace.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# Runs one configuration; appends "loop_ms total_ms rss_kb" to $1.
one() {
  local out=$1; shift
  local s=$(date +%s%N) line
  line=$(env "$@" 2>/dev/null) || { echo "bench-trace: $* failed" >&2; exit 1; }
  local total=$((($(date +%s%N) - s) / 1000000))
  echo "$(sed 's/.*loop_ms=\([0-9.]*\).*/\1/' <<<"$line") $total $(sed 's/.*maxrss_kb=\([0-9]*\).*/\1/' <<<"$line")" >>"$out"
}
for r in $(seq "$RUNS"); do
  one "$tmp/plain" "$plain"
  one "$tmp/off" "$wrapped"
  # Room for every event (two per timer): nothing dropped, all the work done.
  one "$tmp/on" WB_TRACE="$tmp/trace.json" WB_TRACE_EVENTS=262144 "$wrapped"
  # The default buffer: the latest 65,536 events kept, the rest counted.
  one "$tmp/ring" WB_TRACE="$tmp/ring.json" "$wrapped"
done
printf '%-34s %10s %10s %10s\n' "100,000 timers of 0.1 s, $RUNS runs" "loop ms" "total ms" "max RSS"
for c in plain off on ring; do
  case $c in
  plain) what="not linked with the recorder" ;;
  off) what="linked, recorder off" ;;
  on) what="on, every event kept" ;;
  ring) what="on, default buffer (65,536 kept)" ;;
  esac
  printf '%-34s %10s %10s %8s MiB\n' "$what" "$(cut -d' ' -f1 "$tmp/$c" | median)" \
    "$(cut -d' ' -f2 "$tmp/$c" | median)" "$(( $(cut -d' ' -f3 "$tmp/$c" | median | cut -d. -f1) / 1024 ))"
done
s=$(date +%s%N)
build/grader timeline "$tmp/trace.json" -o "$tmp/trace.svg" >/dev/null
drawn=$((($(date +%s%N) - s) / 1000000))
echo "(total ms: the whole process, the trace's writing included)"
echo "trace of the last 'on' run: $(stat -c %s "$tmp/trace.json") bytes of JSON, $(jq '.traceEvents | length' "$tmp/trace.json") events;" \
  "its picture: $(stat -c %s "$tmp/trace.svg") bytes of SVG, drawn in $drawn ms"
