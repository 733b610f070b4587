"""Summarise the outputs: a script: rule importing a local module and a workflow package."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821 - the workflow folder
sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import helpers  # noqa: E402

inp = snakemake.input  # noqa: F821
lines = [f"{name}: {Path(path).read_text().split()[:3]}" for name, path in inp.items()]
Path(snakemake.output[0]).write_text(helpers.block(snakemake.params.title, lines))  # noqa: F821
