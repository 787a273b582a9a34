#!/usr/bin/env bash
# bench-scale.sh - 100,000 concurrent waits on one thread: the C program of
# chapter 07 (chapters/07-performance/scale_waits.c, libev) next to the same
# code in Python's asyncio (chapters/07-performance/bench/scale.py), in turns.
# Wall time of the whole process and peak memory (the process's own maximum
# resident set), median of RUNS runs each, then the ratios and the physical
# limit: no run can end before its longest wait, 150 ms. `make bench-scale`.
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
TASKS=${TASKS:-100000}
LIMIT_MS=150
c=build/chapters/07-performance/scale_waits
py=chapters/07-performance/bench/scale.py
PYTHON=${PYTHON:-/usr/bin/python3}
if ! [ -x "$PYTHON" ]; then
  PYTHON=$(command -v python3 || true)
fi
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import asyncio' 2>/dev/null; then
  echo "bench-scale: python3 is missing; install it with:" >&2
  echo "  sudo apt-get install -y python3" >&2
  exit 1
fi
if ! [ -x "$c" ]; then
  echo "bench-scale: $c is not built (run make all)" >&2
  exit 1
fi
tmp=$(mktemp -d /tmp/wb-bench-scale.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# Runs one program; appends "wall_ms peak_kib" to $1.
one() {
  local out=$1; shift
  local s line
  s=$(date +%s%N)
  line=$("$@" 2>&1 | grep '^measured:') || { echo "bench-scale: $* failed" >&2; exit 1; }
  local wall=$((($(date +%s%N) - s) / 1000000))
  echo "$wall $(sed 's/.*peak_kib=\([0-9]*\).*/\1/' <<<"$line")" >>"$out"
}
echo "bench-scale: $TASKS tasks sleeping 100, 50 and 150 ms, all at once; $RUNS runs each"
for r in $(seq "$RUNS"); do
  one "$tmp/c" "$c" "$TASKS"
  one "$tmp/py" "$PYTHON" "$py" "$TASKS"
done
cw=$(cut -d' ' -f1 "$tmp/c" | median) pw=$(cut -d' ' -f1 "$tmp/py" | median)
cm=$(cut -d' ' -f2 "$tmp/c" | median) pm=$(cut -d' ' -f2 "$tmp/py" | median)
printf '%-28s %12s %14s\n' "" "wall (ms)" "peak (MiB)"
printf '%-28s %12s %14.1f\n' "C on libev (scale_waits)" "$cw" "$(awk -v k="$cm" 'BEGIN{print k/1024}')"
printf '%-28s %12s %14.1f\n' "Python asyncio (scale.py)" "$pw" "$(awk -v k="$pm" 'BEGIN{print k/1024}')"
printf '%-28s %12s\n' "the limit (longest wait)" "$LIMIT_MS"
awk -v cw="$cw" -v pw="$pw" -v cm="$cm" -v pm="$pm" -v lim="$LIMIT_MS" 'BEGIN {
  printf "C is %.1fx faster and %.1fx leaner than asyncio; it takes %.2fx the limit\n",
         pw / cw, pm / cm, cw / lim }'
echo "every run (wall ms, peak KiB): C: $(tr '\n' ';' <"$tmp/c") asyncio: $(tr '\n' ';' <"$tmp/py")"
