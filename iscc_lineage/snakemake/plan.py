"""Plan a post-hoc import: metadata records grouped into jobs, jobs assigned to run logs.

Reads ``.snakemake/`` only: no hashing and no writes. :mod:`.importer` records the plan and
:mod:`.trust` judges which files on disk still belong to a job.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from iscc_lineage.errors import NotFoundError
from iscc_lineage.snakemake.metadata import MetadataRecord, iter_records
from iscc_lineage.snakemake.runlog import LoggedJob, RunLog, iter_run_logs

__all__ = ["ImportPlan", "Job", "plan_import"]

SAME_JOB_SECONDS = 1.0  #: a multi-output job's incomplete markers are made within this
SLACK = 1.0  #: seconds of clock and mtime granularity allowed when matching times
SNAKEFILES = ("Snakefile", "snakefile", "workflow/Snakefile", "workflow/snakefile")


@dataclass(slots=True)
class Job:
    """One job rebuilt from its metadata records (one per output), with its run, if known."""

    rule: str
    records: list[MetadataRecord]
    logged: LoggedJob | None = None
    run: RunLog | None = None

    @property
    def key(self) -> str:
        """The import key: (rule, job_hash, starttime, endtime), stable across re-imports.

        The endtime tells apart a failed re-run's record, which keeps the old starttime.
        """
        r = self.records[0]
        return f"{self.rule}:{r.job_hash}:{self.started:.6f}:{self.ended:.6f}"

    @property
    def started(self) -> float:
        return min(r.starttime or r.endtime or 0.0 for r in self.records)

    @property
    def ended(self) -> float:
        return max(r.endtime or r.starttime or 0.0 for r in self.records)

    @property
    def failed(self) -> bool:
        """The run log says this job failed (its record still says ``incomplete: false``)."""
        if self.run is None:
            return False
        if self.logged is not None and self.logged.jobid in self.run.failed:
            return True
        return any(r.output in self.run.failed_outputs for r in self.records)


@dataclass(slots=True)
class ImportPlan:
    """What a working directory's ``.snakemake/`` holds, grouped into jobs and runs."""

    workdir: Path
    jobs: list[Job]
    logs: list[RunLog]
    snakefile: Path | None
    records: list[MetadataRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  #: one line per record or log left out


def plan_import(workdir: Path) -> ImportPlan:
    """Read records and run logs of ``workdir`` and group them into jobs (no hashing, no writes).

    :raises NotFoundError: the directory holds no Snakemake metadata.
    """
    workdir = Path(os.path.abspath(workdir))
    base = workdir / ".snakemake"
    if not (base / "metadata").is_dir() and not (base / "metadata.db").is_file():
        raise NotFoundError(
            f"{workdir}: no Snakemake metadata here (.snakemake/metadata or "
            ".snakemake/metadata.db); run snakemake in this directory first"
        )
    skipped: list[str] = []
    records = [r for r in iter_records(workdir, skipped) if r.rule and not r.incomplete]
    logs = list(iter_run_logs(workdir, skipped))
    jobs = _group(records)
    for job in jobs:
        job.run, job.logged = _assign(job, logs)
    jobs.sort(key=lambda j: (j.started, j.rule))
    snakefile = next(
        (Path(lg.header["Snakefile"]) for lg in reversed(logs) if lg.header.get("Snakefile")), None
    )
    if snakefile is None:
        snakefile = next((workdir / n for n in SNAKEFILES if (workdir / n).is_file()), None)
    return ImportPlan(workdir, jobs, logs, snakefile, records, skipped)


def _group(records: list[MetadataRecord]) -> list[Job]:
    by_hash: dict[tuple[str, int | None], list[MetadataRecord]] = defaultdict(list)
    for r in records:
        by_hash[(r.rule, r.job_hash)].append(r)
    jobs = []
    for (rule, _), recs in by_hash.items():
        # job_hash is id()-like and repeats across runs: split where starttimes jump.
        recs.sort(key=lambda r: r.starttime or 0.0)
        current: list[MetadataRecord] = []
        for r in recs:
            if current and (r.starttime or 0.0) - (current[-1].starttime or 0.0) > SAME_JOB_SECONDS:
                jobs.append(Job(rule, current))
                current = []
            current.append(r)
        jobs.append(Job(rule, current))
    return jobs


def _assign(job: Job, logs: list[RunLog]) -> tuple[RunLog | None, LoggedJob | None]:
    """The run log a job belongs to: one naming its outputs, else one whose span has it.

    The record is written when the job ends, so ``endtime`` decides first: a failed re-run
    keeps the previous run's ``starttime`` in its record (observed) but not its endtime.
    """
    outputs = {r.output for r in job.records}
    named = [
        (lg, lj)
        for lg in logs
        for lj in lg.jobs
        if lj.rule == job.rule and outputs & set(lj.outputs)
    ]
    for slack in (0.0, SLACK):  # clocks and mtimes are coarse
        for t in (job.ended, job.started):
            hits = [(lg, lj) for lg, lj in named if lg.started - slack <= t <= lg.ended + slack]
            if hits:
                return max(hits, key=lambda h: h[0].started)
    for slack in (0.0, SLACK):
        for t in (job.ended, job.started):
            spans = [lg for lg in logs if lg.started - slack <= t <= lg.ended + slack]
            if spans:
                return max(spans, key=lambda lg: lg.started), None
    return None, None
