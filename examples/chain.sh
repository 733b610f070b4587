#!/usr/bin/env bash
# A three-step chain recorded with `iscc-lineage record`, then traced back by content.
# raw -> corrected -> measurements -> figure, plus a second run that reuses the raw file.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-$here/../.demo/chain}"
rm -rf "$work" && mkdir -p "$work" && cd "$work"
export ISCC_LINEAGE_STORE="$work/.iscc-lineage/lineage.db"
step() { python3 "$here/chain_step.py" "$@"; }

step acquire raw.tif
iscc-lineage record --run chain-1 -n correct -i raw.tif -o corrected.tif -- \
    python3 "$here/chain_step.py" correct raw.tif corrected.tif
iscc-lineage record --run chain-1 -n measure -i corrected.tif -o measurements.csv -- \
    python3 "$here/chain_step.py" measure corrected.tif measurements.csv
iscc-lineage record --run chain-1 -n plot -i measurements.csv -o figure.svg -- \
    python3 "$here/chain_step.py" plot measurements.csv figure.svg
iscc-lineage record --run chain-2 -n thumbnail -i raw.tif -o thumbnail.pgm -- \
    python3 "$here/chain_step.py" thumbnail raw.tif thumbnail.pgm

iscc-lineage runs
echo "== trace figure.svg back to the raw acquisition"
iscc-lineage trace figure.svg
echo "== impact of raw.tif across both runs"
iscc-lineage impact raw.tif
