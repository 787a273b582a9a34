#!/usr/bin/env bash
# stress.sh - RUNS gradings of one correct upload with hidden tests and an
# assignment, each on a fresh cache (as every new Gradescope container
# has), at -j2, while both cores are kept busy: every run must give the
# same full score, and none may say "could not grade" or blame the learner.
# `make flake` runs it after flake.sh (it is a measurement, not a test).
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-10}
A=assignments/week-02.txt
# A scratch workbook of its own: its cache can be wiped without touching
# the real one, which other gradings may be using.
wb=$tmp/wb
mkdir -p "$wb/build" && cp -r exercises grader lib server assignments "$wb/"
(cd build && cp -a --parents reserved-symbols.txt libwbtest.a obj/grader/support/runner.o asan/libwbtest.a asan/grader/support/runner.o "$wb/build/")
export WB_ROOT=$wb
# One hidden test per exercise of the assignment, each worth 2 points.
for e in $(awk '!/^#/ && NF { print $1 }' "$A"); do
  h=$tmp/hidden/$e && mkdir -p "$h"
  hdr=$(cd "exercises/$e" && ls *.h | head -1)
  printf '#include "%s"\n#include "wbtest.h"\nWB_TEST(hidden_builds_and_links, 2) {\n  ck_assert_ptr_nonnull(wb_loop());\n}\nEND_TEST\n' "$hdr" >"$h/test_hidden.c"
done
up=$tmp/upload && mkdir -p "$up"
for e in "${exs[@]}"; do for f in $(learner_files "$e"); do cp "solutions/$e/$f" "$up/"; done; done
for _ in 1 2; do timeout 1800 sh -c 'while :; do :; done' & done
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
scores=()
for i in $(seq "$RUNS"); do
  rm -rf "$wb/build/cache" "$wb/build/work"
  out=$($G grade "$up" --hidden "$tmp/hidden" --assignment "$A" -j2 2>&1)
  rc=$?
  line=$(sed -n 's/^Total: //p' <<<"$out")
  scores+=("${line%% *}")
  if [ $rc -ne 0 ] || grep -qE 'could not grade|link error|compile error' <<<"$out"; then
    bad "run $i: exit $rc, $line"; grep -B2 -A4 -E 'could not grade|error' <<<"$out" | head -20
  fi
done
distinct=$(printf '%s\n' "${scores[@]}" | sort -u)
full=$(printf '%s\n' "${scores[@]}" | head -1)
if [ "$(wc -l <<<"$distinct")" -eq 1 ] && [ "${full%/*}" = "${full#*/}" ]; then
  ok "$RUNS gradings on a fresh cache at -j2, both cores busy: $full every time"
else
  bad "scores differ or are not full: $(tr '\n' ' ' <<<"$distinct")"
fi
finish
