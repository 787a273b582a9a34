# shellcheck shell=bash
# try-class.sh - a class of submissions with known scores, and a check of
# the CSV a grading of it exports, and the packages a try needs. Sourced by mk/slurm/try-local.sh and
# mk/parallel/try-local.sh (bash, from the workbook's top folder).

# try_install PKG...: installs the packages that are missing (apt-get
# update first), with no service starting on install: the try scripts start
# their own daemons. Uses the caller's say and fail; sets policy_rc_added
# while its policy-rc.d is in place, for the caller's trap.
try_install() {
  local missing="" p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
  done
  [ -n "$missing" ] || return 0
  say "installing$missing (apt-get update first)"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    policy_rc_added=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get -o DPkg::Lock::Timeout=120 update -qq >/dev/null || fail "apt-get update failed"
  # shellcheck disable=SC2086 # package names
  timeout 900 apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends $missing >/dev/null ||
    fail "apt-get install$missing failed"
  [ -n "$policy_rc_added" ] && rm -f /usr/sbin/policy-rc.d && policy_rc_added=""
  say "installed$missing"
}

# try_class_make DIR ASSIGNMENT: six submissions in DIR, built from
# solutions/ and the exercises' stubs. Sets expect[NAME] (the score each
# must get), all (the assignment's points) and n (how many).
# alice: every solution, as a tree; bob: the stubs; carol: the first
# exercise solved, a flat folder; dave: all but the last solved, a tree;
# erin: every solution, flat; fred: the stubs with the last one solved.
try_class_make() {
  local class=$1 assignment=$2 i f last
  local pat='^\([0-9][0-9]-[^ ]*/[0-9][0-9]-[^ ]*\)[[:space:]][[:space:]]*\([0-9.][0-9.]*\).*'
  mapfile -t ids < <(sed -n "s|$pat|\1|p" "$assignment")
  mapfile -t pts < <(sed -n "s|$pat|\2|p" "$assignment")
  [ ${#ids[@]} -ge 2 ] || { echo "try-class: $assignment lists fewer than two exercises" >&2; return 1; }
  all=$(printf '%s\n' "${pts[@]}" | _try_sum)
  last=$((${#ids[@]} - 1))
  declare -gA expect=()
  mkdir -p "$class"
  cp -r solutions "$class/alice"
  expect[alice]=$all
  mkdir -p "$class/bob" && cp -r exercises "$class/bob/"
  expect[bob]=0
  mkdir -p "$class/carol"
  for f in $(_try_learner_files "${ids[0]}"); do cp "solutions/${ids[0]}/$f" "$class/carol/"; done
  expect[carol]=${pts[0]}
  mkdir -p "$class/dave" && cp -r solutions "$class/dave/exercises"
  for f in $(_try_learner_files "${ids[$last]}"); do
    cp "exercises/${ids[$last]}/$f" "$class/dave/exercises/${ids[$last]}/"
  done
  expect[dave]=$(printf '%s\n' "${pts[@]:0:$last}" | _try_sum)
  mkdir -p "$class/erin" "$class/fred"
  for i in "${!ids[@]}"; do
    for f in $(_try_learner_files "${ids[$i]}"); do
      cp "solutions/${ids[$i]}/$f" "$class/erin/"
      if [ "$i" -eq "$last" ]; then cp "solutions/${ids[$i]}/$f" "$class/fred/"
      else cp "exercises/${ids[$i]}/$f" "$class/fred/"; fi
    done
  done
  expect[erin]=$all
  expect[fred]=${pts[$last]}
  n=${#expect[@]}
}

# try_class_check CSV: one row per submission, each with the score and
# state expected; prints the rows' first columns, or what is wrong.
try_class_check() {
  local csv=$1 rows s got why=""
  [ -f "$csv" ] || { echo "no $csv"; return 1; }
  rows=$(($(wc -l <"$csv") - 1))
  [ "$rows" -eq "$n" ] || { cat "$csv"; echo "$csv has $rows rows, not $n"; return 1; }
  for s in "${!expect[@]}"; do
    got=$(awk -F, -v s="$s" '$1 == s {print $2 "/" $3 " " $5}' "$csv")
    [ "$got" = "${expect[$s]}/$all graded" ] || why="$why $s: ${got:-no row} (want ${expect[$s]}/$all);"
  done
  [ -z "$why" ] || { cat "$csv"; echo "scores:$why"; return 1; }
  cut -d, -f1-5 "$csv" | sed 's/^/         /'
}

_try_learner_files() {
  local f
  for f in "exercises/$1"/*.c; do
    case ${f##*/} in test_*) ;; *) echo "${f##*/}" ;; esac
  done
}
_try_sum() { awk '{s += $1} END {printf "%g", s}'; }
