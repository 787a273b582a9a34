#!/usr/bin/env bash
# setup.sh - Gradescope runs this once, as root, in /autograder/source,
# when it builds the autograder's image: install the packages, build the
# grader and its runtime.
set -eu
cd "$(dirname "$0")"
make deps
make -j2 build/grader
