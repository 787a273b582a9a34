#!/usr/bin/env bash
# package.sh - what an instructor hands out, built from this workbook:
#
#   package.sh handout    [ASSIGNMENT]          -> build/handout/NAME.tar.gz
#   package.sh gradescope [ASSIGNMENT] [HIDDEN] [VISIBILITY]
#                                               -> build/gradescope/NAME.zip
#
# Both hold the lessons, the grader's sources and the chosen exercises,
# never solutions/, tests/ or hidden tests of the workbook. A handout keeps
# each exercise's starting files in .stubs/ (so `grader reset` works
# without git); the Gradescope zip adds setup.sh, run_autograder, the
# instructor's hidden tests and, for exercises whose learner writes the
# tests, the implementations those tests run on (impl/; a handout has
# only the correct one, compiled). With an ASSIGNMENT file, only its exercises go
# in, and the file goes along as .assignment (the grader then uses its
# points). Run by `make handout` and `make gradescope`.
set -eu
cd "$(dirname "$0")/.."
kind=${1:?handout or gradescope}
assignment=${2:-}
hidden=${3:-}
visibility=${4:-}
G=build/grader
name=workbook
if [ -n "$assignment" ]; then
  [ -f "$assignment" ] || { echo "package: no assignment file $assignment" >&2; exit 2; }
  name=$(basename "$assignment" .txt)
fi
ids=$($G list --ids ${assignment:+--assignment "$assignment"})
[ -n "$ids" ] || exit 2
# The exercises must be the workbook's own: an author's attempt at one
# left in exercises/ would go out in place of the stub.
if git rev-parse --git-dir >/dev/null 2>&1; then
  for id in $ids; do
    if [ -n "$(git status --porcelain -- "exercises/$id" | grep -v '\.backup-')" ]; then
      echo "package: exercises/$id differs from the last commit (an attempt at it?)." >&2
      echo "A $kind must carry the stubs: commit the change, or run build/grader reset $id." >&2
      exit 2
    fi
  done
fi
out=build/$kind
stage=$out/$name
rm -rf "$stage" && mkdir -p "$stage/exercises"
# The workbook minus what learners must not have; the learners' own README,
# without the instructors' sections.
cp -r Makefile .gitignore mk chapters grader lib server "$stage/"
cp mk/handout/README.md "$stage/README.md"
# The instructors' tools for grading a class stay out of a handout.
rm -rf "$stage/mk/slurm" "$stage/mk/parallel" "$stage/mk/try-class.sh"
for id in $ids; do
  mkdir -p "$stage/exercises/$(dirname "$id")"
  cp -r "exercises/$id" "$stage/exercises/$id"
done
[ -z "$assignment" ] || cp "$assignment" "$stage/.assignment"
# Leftovers a learner or editor may have put next to the stubs.
find "$stage" \( -name '*.backup-*' -o -name '*.o' -o -name '*~' \) -delete

# Exercises whose learner writes the tests run them on implementations the
# learner never reads: a handout gets the correct one compiled (impl/ID/);
# the Gradescope zip gets every one's source there, the broken ones as
# whole files (the autograder then needs no git to apply their diffs).
case $kind in
handout) $G ship-impl "$stage" $ids >/dev/null ;;
gradescope)
  for id in $ids; do
    [ -d "tests/impl/$id" ] || continue
    mkdir -p "$stage/impl/$id"
    cp "tests/impl/$id/reference.c" "$stage/impl/$id/"
    for p in "tests/impl/$id"/*.patch; do
      [ -e "$p" ] || continue
      t=$(mktemp -d)
      cp "tests/impl/$id/reference.c" "$t/"
      git -C "$t" apply -p1 "$PWD/$p"
      cp "$t/reference.c" "$stage/impl/$id/$(basename "$p" .patch).c"
      rm -rf "$t"
    done
    for c in "tests/impl/$id"/*.c; do cp "$c" "$stage/impl/$id/"; done
  done
  ;;
esac

case $kind in
handout)
  for id in $ids; do
    mkdir -p "$stage/.stubs/$id"
    for f in exercises/"$id"/*.c; do
      case $(basename "$f") in test_*) ;; *) cp "$f" "$stage/.stubs/$id/" ;; esac
    done
  done
  tar -C "$out" -czf "$out/$name.tar.gz" "$name"
  echo "Handout: $out/$name.tar.gz ($(echo $ids | wc -w) exercises; no solutions, no tests of the workbook)"
  echo "Learners unpack it and run: make run"
  ;;
gradescope)
  if [ -n "$hidden" ]; then
    [ -d "$hidden" ] || { echo "package: no hidden tests folder $hidden" >&2; exit 2; }
    cp -r "$hidden" "$stage/hidden"
    case ${visibility:-after_published} in
      hidden | after_due_date | after_published | visible) ;;
      *) echo "package: HIDDEN_VISIBILITY is hidden, after_due_date, after_published or visible, not $visibility" >&2; exit 2 ;;
    esac
    echo "${visibility:-after_published}" >"$stage/hidden/.visibility"
  fi
  cp mk/gradescope/setup.sh mk/gradescope/run_autograder "$stage/"
  chmod +x "$stage/setup.sh" "$stage/run_autograder"
  rm -f "$out/$name.zip"
  (cd "$stage" && zip -qr "../$name.zip" .)
  echo "Gradescope autograder: $out/$name.zip ($(echo $ids | wc -w) exercises${hidden:+, hidden tests from $hidden})"
  echo "Upload it as the assignment's autograder (Ubuntu base image)."
  ;;
*)
  echo "package: handout or gradescope, not $kind" >&2
  exit 2
  ;;
esac
