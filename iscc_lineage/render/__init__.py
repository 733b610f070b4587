"""Human output: rich trees, tables and progress bars; JSON output. The only rich importer.

stdout carries results; progress and warnings go to stderr, drawn only on a terminal.
console (the consoles, escaping, JSON), bars (progress), trees (trace / impact), records
(fingerprints, runs, steps, checks), images (pixel codes, show FILE).
"""

from __future__ import annotations

from iscc_lineage.render.bars import count_progress, progress, progress_shown
from iscc_lineage.render.console import dump_json, escape
from iscc_lineage.render.images import content_detail, image_summary, reindex_lines
from iscc_lineage.render.records import (
    checks,
    fingerprint_lines,
    run_detail,
    runs_table,
    step_detail,
)
from iscc_lineage.render.trees import lineage_tree

__all__ = [
    "checks",
    "content_detail",
    "count_progress",
    "dump_json",
    "escape",
    "fingerprint_lines",
    "image_summary",
    "lineage_tree",
    "progress",
    "progress_shown",
    "reindex_lines",
    "run_detail",
    "runs_table",
    "step_detail",
]
