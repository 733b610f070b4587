"""Re-execute recorded steps in a scratch folder and compare every output by content.

A *plan* says what to lay out (the workflow's code, its config, the raw inputs), what to ask
Snakemake for, and which content each output had when it was recorded; :func:`execute` runs
it and judges each output:

* ``identical`` - the same datahash (BLAKE3 over every byte; for a crate, the same SHA-256);
* ``near-identical`` - another content whose 64-bit Data-Code (or, for pictures, Image-Code)
  is at most :data:`NEAR_BITS` bits away, e.g. an SVG whose only change is a date stamp;
* ``different`` / ``missing``.

Plans come from a recorded run (:func:`plan_run`), a figure's lineage (:func:`plan_figure`) or
an exported RO-Crate (:func:`plan_crate`). The recorded code must still be the code on disk:
a run is only reproduced with files whose content matches the record (a crate ships it).
Snakemake runs as a subprocess (``python -m snakemake``); this module never imports it.
"""

from __future__ import annotations

from iscc_lineage.reproduce.crate import open_crate, plan_crate
from iscc_lineage.reproduce.recorded import plan_figure, plan_run
from iscc_lineage.reproduce.report import (
    NEAR_BITS,
    Expected,
    Outcome,
    Placed,
    Plan,
    Report,
    ReproduceError,
    Status,
)
from iscc_lineage.reproduce.rerun import TAIL, execute

__all__ = [
    "NEAR_BITS",
    "TAIL",
    "Expected",
    "Outcome",
    "Placed",
    "Plan",
    "Report",
    "ReproduceError",
    "Status",
    "execute",
    "open_crate",
    "plan_crate",
    "plan_figure",
    "plan_run",
]
