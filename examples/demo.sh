#!/usr/bin/env bash
# The bioimage demo pipeline (workflows/bioimage-demo: 18 Snakemake jobs, temp files, OME-Zarr
# directories, script rules) run with lineage recording into the embedded SQLite store
# (.iscc-lineage/lineage.db in the working directory), then the panel figure traced back by
# content to the raw images.
#
#   examples/demo.sh [WORKDIR]                  live capture: iscc-lineage run -- <snakemake args>
#   DEMO_MODE=import examples/demo.sh [WORKDIR] plain snakemake, then iscc-lineage import
#
# The import mode rebuilds the same lineage afterwards from .snakemake/ (metadata records and
# run logs), for runs made without the plugin. WORKDIR defaults to .demo/bioimage and is
# emptied first.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
work="${1:-$repo/.demo/bioimage}"
snakefile="$repo/workflows/bioimage-demo/Snakefile"
rm -rf "$work" && mkdir -p "$work"
work="$(cd "$work" && pwd)"
unset ISCC_LINEAGE_STORE SNAKEMAKE_PROFILE  # the demo's store is its own default one

if [ "${DEMO_MODE:-live}" = import ]; then
    echo "== run the pipeline with plain snakemake (no plugin), in $work"
    snakemake -s "$snakefile" -c2 --directory "$work" --quiet rules
    echo "== import the run from $work/.snakemake"
    iscc-lineage import "$work"
else
    echo "== run the pipeline with lineage on (snakemake --logger iscc), in $work"
    iscc-lineage run -- -s "$snakefile" -c2 --directory "$work" --quiet rules
fi

cd "$work"
echo
iscc-lineage runs
echo
echo "== trace results/figures/panel.png back to the raw images"
iscc-lineage trace results/figures/panel.png --graph panel-lineage.html
echo
echo "Open $work/panel-lineage.html for a picture of this lineage."
