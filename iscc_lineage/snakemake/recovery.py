"""Steps lost to a kill: jobs that finished just before Snakemake died, added afterwards.

A step is committed a little after Snakemake logs the job's end (its files are fingerprinted
first). A ``kill -9`` in that window leaves outputs and a complete ``.snakemake/metadata``
record, but no step, and Snakemake will not run the job again. The next live run in the same
folder (in the capture's writer process, off Snakemake's) and ``iscc-lineage import`` add such
jobs to the run they belong to, keyed by output and endtime
(:func:`iscc_lineage.snakemake.importer.record_plan`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from iscc_lineage.locations import location
from iscc_lineage.recorder import Recorder
from iscc_lineage.store import Store

__all__ = ["recover_lost_steps"]

log = logging.getLogger(__name__)


def recover_lost_steps(store: Store, workdir: Path, *, keep: str | None = None) -> int:
    """Add the lost steps of ended live runs in ``workdir``; the number added.

    Only runs that ended ``incomplete`` (killed) and were not looked at before are
    considered, so a normal start reads nothing from ``.snakemake``.
    """
    where = location(workdir)
    todo = [
        r
        for r in store.runs()
        if r.workdir == where
        and r.id != keep
        and r.status == "incomplete"
        and not r.info.get("imported")
        and "recovery" not in r.info
    ]
    if not todo:
        return 0
    from iscc_lineage.snakemake.importer import plan_import, record_plan

    result = record_plan(plan_import(workdir), Recorder(store), only_lost=True, keep=keep)
    for r in todo:
        store.update_run(
            r.id, status=r.status, ended=r.ended, info={"recovery": result.runs.get(r.id, 0)}
        )
    log.debug("recovered %d lost steps in %s", result.steps, workdir)
    return result.steps
