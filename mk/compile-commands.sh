#!/bin/sh
# compile-commands.sh OUT - compile_commands.json for editors (clangd): how
# each learner file, test, solution and chapter program is compiled, so that
# an editor finds every header an exercise uses (its own, ev.h, wbtest.h).
set -eu
out=$1
root=$(pwd)
tmp=$out.tmp
sep=""
entry() { # FILE FLAGS...
  file=$1
  shift
  args=""
  for a in cc -std=c17 "$@" -c "$file"; do args="$args${args:+, }\"$a\""; done
  printf '%s  {"directory": "%s", "file": "%s", "arguments": [%s]}' "$sep" "$root" "$file" "$args" >>"$tmp"
  sep=",
"
}
printf '[\n' >"$tmp"
for dir in exercises/*/*/; do
  dir=${dir%/}
  id=${dir#exercises/}
  for f in "$dir"/*.c solutions/"$id"/*.c; do
    [ -f "$f" ] || continue
    case ${f##*/} in
      test_*) entry "$f" -I"$dir" -Igrader/support -Ilib -Iserver ;;
      *) entry "$f" -D_GNU_SOURCE= -I"$dir" -Ilib -Iserver ;;
    esac
  done
done
for f in chapters/*/*.c tests/*.c lib/*.c server/*.c grader/src/*.c grader/support/*.c; do
  [ -f "$f" ] && entry "$f" -Igrader/support -Iserver -Ilib
done
printf '\n]\n' >>"$tmp"
mv "$tmp" "$out"
