#!/bin/sh
# reserved-symbols.sh OUT PROGRAM... - the names a learner's file may not
# define, one per line: NAME, a tab, where it already comes from. A
# program's own definition wins over a library's, for every caller in the
# program, so a learner's `write` or `tr_rtype` would replace the one the
# grader's code calls. Reserved are:
#   - every name the test program defines (the runner, Check, the test
#     runtime, linked in);
#   - every name libev, libcurl and jansson export (the libraries the
#     exercises and tests program against), and the sanitizers' interface;
#   - every name the test program or any library it loads calls from
#     another library (write, malloc, clock_gettime...): those calls are
#     what a replacement would catch.
# Other library names (libc's `step` or `index`, say) are free: nothing in
# the program calls them, so an honest helper of that name harms nothing.
# PROGRAM is build/probe (grader/support/probe.c), linked like the
# exercises' test programs. Anything that cannot be read fails the list.
set -eu
out=$1
shift
tmp=$out.tmp
: >"$tmp"
for prog in "$@"; do
  nm -g --defined-only "$prog" | awk '{ sub(/@.*/, "", $3) } NF >= 3 { print "P\t" $3 "\tthe test program" }' >>"$tmp"
  nm -u "$prog" | awk '{ sub(/@.*/, "", $2) } NF >= 2 { print "U\t" $2 }' >>"$tmp"
  libs=$(ldd "$prog" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
  [ -n "$libs" ] || { echo "reserved-symbols: ldd found no library for $prog" >&2; exit 1; }
  for lib in $libs; do
    name=${lib##*/}
    case $name in libev.so* | libcurl.so* | libjansson.so*) kind=A ;; *) kind=D ;; esac
    nm -D --defined-only "$lib" >"$tmp.def" || { echo "reserved-symbols: cannot read $lib" >&2; exit 1; }
    nm -D --undefined-only "$lib" >"$tmp.und" || { echo "reserved-symbols: cannot read $lib" >&2; exit 1; }
    # The sanitizers export the C library's names too (their interceptors):
    # only their own interface is theirs.
    awk -v k="$kind" -v from="$name" '{ sub(/@.*/, "", $3) }
      NF >= 3 { kk = k; if ($3 ~ /^__(asan|lsan|ubsan|sanitizer)_/) kk = "A"; print kk "\t" $3 "\t" from }' "$tmp.def" >>"$tmp"
    awk '{ sub(/@.*/, "", $2) } NF >= 2 { print "U\t" $2 }' "$tmp.und" >>"$tmp"
  done
done
rm -f "$tmp.def" "$tmp.und"
# A name is reserved when the program defines it (P), an API library
# exports it (A), or someone uses it (U) and a library defines it (D).
awk -F '\t' '
  $1 == "P" && !(($2) in p) { p[$2] = $3 }
  $1 == "A" && !(($2) in a) { a[$2] = $3 }
  $1 == "D" && !(($2) in d) { d[$2] = $3 }
  $1 == "U" { u[$2] = 1 }
  END {
    for (n in p) print n "\t" p[n]
    for (n in a) if (!(n in p)) print n "\t" a[n]
    for (n in u) if (!(n in p) && !(n in a) && (n in d)) print n "\t" d[n]
  }' "$tmp" | LC_ALL=C sort -t "$(printf '\t')" -k1,1 -u >"$tmp.sorted"
rm -f "$tmp"
for must in write strcmp malloc clock_gettime ev_run curl_easy_init json_loads tr_rtype srunner_run_all wb_now_ms; do
  grep -q "^$must$(printf '\t')" "$tmp.sorted" || { echo "reserved-symbols: $must is missing: a library was not read" >&2; rm -f "$tmp.sorted"; exit 1; }
done
mv "$tmp.sorted" "$out"
