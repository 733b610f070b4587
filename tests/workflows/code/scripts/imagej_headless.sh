#!/usr/bin/env bash
# A stand-in for `ImageJ-linux64 --headless -batch MACRO ARGS`: runs the macro's one
# instruction (a threshold) with awk, so the test needs no Fiji.
set -euo pipefail
[ "$1" = "-batch" ] || { echo "usage: $0 -batch MACRO IN OUT" >&2; exit 2; }
macro=$2 src=$3 dst=$4
threshold=$(sed -n 's/^threshold = \([0-9]*\);$/\1/p' "$macro")
awk -v t="$threshold" '$1 >= t' "$src" > "$dst"
