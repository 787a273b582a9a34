#!/bin/sh
# reserved-symbols.sh OUT LIBRARY... - the names that the libraries a test
# program links (the C library, libev, libcurl, jansson, Check and the
# workbook's own test runtime) define, one per line, sorted. A learner's
# file may not define any of them: the program's own definition would win
# over the library's, for the grader's code too. Run by the Makefile.
set -eu
out=$1
shift
for lib in "$@"; do
  case $lib in
  *.a | *.o) nm --defined-only -g "$lib" ;;
  *) nm -D --defined-only "$lib" ;;
  esac
done 2>/dev/null | awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }' | LC_ALL=C sort -u >"$out.tmp"
# Fewer than a thousand names: a library was not found; better no file.
[ "$(wc -l <"$out.tmp")" -gt 1000 ] || { echo "reserved-symbols: too few names (libraries not found?)" >&2; rm -f "$out.tmp"; exit 1; }
mv "$out.tmp" "$out"
