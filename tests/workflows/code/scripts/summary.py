"""Summarise the outputs: a script: rule importing a local module and a workflow package."""

import sys
from pathlib import Path

snakemake = globals()["snakemake"]  # injected by Snakemake
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the workflow folder: pkg/
sys.path.insert(0, snakemake.scriptdir)

import helpers  # noqa: E402 - found through the path set above

lines = [f"{name}: {Path(path).read_text().split()[:3]}" for name, path in snakemake.input.items()]
Path(snakemake.output[0]).write_text(helpers.block(snakemake.params.title, lines))
