#!/bin/sh
# deps.sh - makes sure the Debian packages the workbook builds with are
# installed. As root it installs what is missing (apt-get update first);
# otherwise it prints the one command that does, and fails. `deps.sh test`
# adds what only the workbook's own tests need (make test), which make run
# never installs.
set -u
# The last ones are for instructors and the workbook's own tests: the
# gradebook's shell, the Gradescope zip, and checking JSON, JUnit XML, TAP.
pkgs="libev-dev check pkg-config libcurl4-openssl-dev libjansson-dev libsqlite3-dev bubblewrap binutils sqlite3 zip unzip jq libxml2-utils perl redis-server libhiredis-dev"
# For the tests only: a browser that renders the class summary page and
# takes its screenshot, and sim_c for similarity flags (an instructor who
# wants those installs similarity-tester; summary says so).
[ "${1:-}" = test ] && pkgs="$pkgs chromium similarity-tester nginx-light"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "The workbook needs these Debian packages, which are not installed:$missing" >&2
  echo "Install them with:" >&2
  echo "    sudo apt-get update && sudo apt-get install -y$missing" >&2
  echo "then run make again." >&2
  exit 1
fi
echo "Installing the packages the workbook needs:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
  echo "apt-get could not install:$missing" >&2
  echo "Try by hand: apt-get update && apt-get install -y$missing" >&2
  exit 1
}
echo "Installed:$missing"
