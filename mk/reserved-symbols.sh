#!/bin/sh
# reserved-symbols.sh OUT PROGRAM... - the names that test programs and
# every shared library they load define (the C library and the loader,
# libev, libcurl and what it loads, jansson, Check, the sanitizers, the
# workbook's own test runtime), one per line, sorted. A learner's file may
# not define any of them: the program's own definition would win over the
# library's, for the grader's code too. One line each: NAME, a tab, where
# it comes from. PROGRAM is build/probe (see
# grader/support/probe.c), linked like the exercises' test programs. Any
# program or library that cannot be read fails the whole list.
set -eu
out=$1
shift
tmp=$out.tmp
: >"$tmp"
# Each line: NAME, a tab, where it comes from ("the test program" for the
# runtime and Check, linked in; else the library's file name).
names() { awk -v from="$1" 'NF >= 3 { sub(/@.*/, "", $3); print $3 "\t" from }'; }
for prog in "$@"; do
  nm -g --defined-only "$prog" | names "the test program" >>"$tmp"
  libs=$(ldd "$prog" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
  [ -n "$libs" ] || { echo "reserved-symbols: ldd found no library for $prog" >&2; exit 1; }
  for lib in $libs; do
    nm -D --defined-only "$lib" >"$tmp.one" || { echo "reserved-symbols: cannot read $lib" >&2; exit 1; }
    names "${lib##*/}" <"$tmp.one" >>"$tmp"
  done
done
rm -f "$tmp.one"
LC_ALL=C sort -t "$(printf '\t')" -k1,1 -u "$tmp" >"$tmp.sorted"
rm -f "$tmp"
for must in write strcmp ev_run curl_easy_init tr_rtype srunner_run_all wb_now_ms; do
  grep -q "^$must$(printf '\t')" "$tmp.sorted" || { echo "reserved-symbols: $must is missing: a library was not read" >&2; rm -f "$tmp.sorted"; exit 1; }
done
mv "$tmp.sorted" "$out"
