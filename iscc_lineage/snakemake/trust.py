"""Which files on disk are still what an imported job used or made (post-hoc import).

Snakemake's records outlive the files: a failed job leaves a record with ``incomplete: false``
(snakemake#3808), temp files are deleted, outputs are edited or touched later. A file is
attributed to a job only with evidence: an output whose mtime equals the record's ``endtime``,
an input whose sha256 equals the record's ``input_checksums`` (or, without one, an input not
modified after the job started). Everything else becomes a content-less
:class:`~iscc_lineage.model.Artifact` whose note says why. The sha256 here only checks
Snakemake's own checksums; identity stays the ISCC-SUM taken through the recorder's cache.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from iscc_lineage.codes import fingerprint_many
from iscc_lineage.errors import FingerprintError
from iscc_lineage.model import Artifact, Fingerprint
from iscc_lineage.recorder import Recorder, location
from iscc_lineage.snakemake.metadata import MetadataRecord
from iscc_lineage.snakemake.plan import Job

__all__ = ["Judge", "sha256_of"]

ENDTIME_TOLERANCE = 0.01  #: endtime *is* the output's mtime as a float: equal up to rounding
SLACK = 1.0  #: seconds between timestamps of different files (markers, coarse clocks)
LOG_SLACK = 5.0  #: a log file may be written a little after the job's last output
STREAMS = frozenset({"<pipe>", "<service>"})  #: FIFOs: the record does not even name them

Verdict = tuple[str, str | None]  #: (absolute location, None to fingerprint | the note why not)


def sha256_of(path: Path) -> str | None:
    """``sha256:<hex>`` of a file, as Snakemake writes ``input_checksums``; None if unreadable."""
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return "sha256:" + h.hexdigest()


def _mtimes(p: Path) -> list[float]:
    """The mtimes Snakemake may have read as a file's endtime (link, target, dir timestamp)."""
    out = []
    for target, follow in ((p, False), (p, True), (p / ".snakemake_timestamp", True)):
        try:
            out.append(os.stat(target, follow_symlinks=follow).st_mtime)
        except OSError:
            continue
    return out


class Judge:
    """Decides per job which paths to fingerprint and which to record with a note."""

    def __init__(self, workdir: Path, records: Sequence[MetadataRecord]) -> None:
        self.workdir = workdir
        self.produced = {r.output for r in records}
        self.consumed = {i for r in records for i in r.input}
        # path -> [(consumer starttime, "sha256:…")]: what later jobs saw at that path
        self.seen: dict[str, list[tuple[float, str]]] = defaultdict(list)
        for r in records:
            for path, digest in r.input_checksums.items():
                self.seen[path].append((r.starttime or 0.0, digest))
        self.gone = 0
        self.untrusted = 0
        self._plans: dict[str, tuple[list[Verdict], list[Verdict]]] = {}
        self._fps: dict[str, Fingerprint | FingerprintError] = {}
        self._sha: dict[str, str | None] = {}

    # -- planning ----------------------------------------------------------------------------

    def fingerprint_all(self, jobs: Sequence[Job], recorder: Recorder) -> None:
        """Decide for every job, then fingerprint all trusted paths in one parallel batch."""
        todo: dict[str, None] = {}
        for job in jobs:
            used, made = self._plan(job)
            todo.update((loc, None) for loc, note in (*used, *made) if note is None)
        paths = [p for p in todo if p not in self._fps]
        results = fingerprint_many(
            [Path(p) for p in paths],
            cache=recorder.cache,
            on_bytes=recorder.on_bytes,
            workers=recorder.workers,
        )
        self._fps.update(zip(paths, results, strict=True))

    def inputs(self, job: Job) -> list[Artifact]:
        return [self._artifact(v) for v in self._plan(job)[0]]

    def outputs(self, job: Job) -> list[Artifact]:
        return [self._artifact(v) for v in self._plan(job)[1]]

    def _artifact(self, v: Verdict) -> Artifact:
        loc, note = v
        if note is not None:
            return Artifact(loc, None, note)
        fp = self._fps.get(loc)
        if isinstance(fp, Fingerprint):
            return Artifact(loc, fp)
        return Artifact(loc, None, f"not fingerprinted: {fp}" if fp else "not fingerprinted")

    def _plan(self, job: Job) -> tuple[list[Verdict], list[Verdict]]:
        if job.key not in self._plans:
            rec = job.records[0]
            used = [self._input(job, p) for p in rec.input if p not in STREAMS]
            made = [self._output(job, r.output, r.endtime) for r in job.records]
            extra = list(rec.log)
            if job.logged is not None and job.logged.benchmark:
                extra.append(job.logged.benchmark)
            made += [self._output(job, p, None) for p in extra]
            self._plans[job.key] = (used, made)
        return self._plans[job.key]

    def made_nothing(self, job: Job) -> bool:
        """No evidence that the job made any declared output.

        None is on disk as the record says (mtime or a reader's sha256), and no job that
        started after this one ended read one (a temp file). Outputs in storage are not checked:
        they count as evidence.
        """
        made = self._plan(job)[1][: len(job.records)]  # declared outputs come first
        if any(
            note is None or "://" in r.output
            for (_, note), r in zip(made, job.records, strict=True)
        ):
            return False
        return not any(
            t >= job.ended - SLACK for r in job.records for t, _ in self.seen.get(r.output, ())
        )

    # -- verdicts ----------------------------------------------------------------------------

    def where(self, rel: str) -> str:
        """The store's location of a path as the record writes it (relative to the workdir)."""
        return location(rel, self.workdir)

    def _input(self, job: Job, rel: str) -> Verdict:
        loc = self.where(rel)
        if "://" in rel:
            return loc, "in storage: not fingerprinted"
        p = Path(loc)
        own = job.records[0].input_checksums.get(rel)
        if not os.path.lexists(p):
            return loc, self._gone(rel in self.produced, own)
        if own is not None:
            if self._sha256(p) == own:
                return loc, None
            return self._changed(loc, f"changed since the job — sha256 then: {own.split(':')[-1]}")
        # Not the starttime alone: for local jobs (run: blocks) Snakemake may copy it from the
        # previous record of the output, so it can lie a whole run back.
        if max(_mtimes(p), default=0.0) <= max(job.started, job.ended) + SLACK:
            return loc, None
        return self._changed(loc, "changed since the job (modified after it started)")

    def _output(self, job: Job, rel: str, endtime: float | None) -> Verdict:
        loc = self.where(rel)
        if "://" in rel:
            return loc, "in storage: not fingerprinted"
        p = Path(loc)
        if not os.path.lexists(p):
            # Only a job that started after this one ended read what this one made (a failed
            # re-run's record keeps the old starttime, and older readers saw older content).
            later = sorted(d for t, d in self.seen.get(rel, ()) if t >= job.ended - SLACK)
            self.gone += 1
            return loc, self._gone(rel in self.consumed, later[0] if later else None)
        times = _mtimes(p)
        if endtime is not None:  # a declared output: its mtime is the record's endtime
            ok = any(abs(t - endtime) <= ENDTIME_TOLERANCE for t in times)
            ok = ok or self._sha256(p) in {d for _, d in self.seen.get(rel, ())}
        else:  # a log or benchmark file: written while the job ran
            ok = any(job.started - SLACK <= t <= job.ended + LOG_SLACK for t in times)
        if ok:
            return loc, None
        return self._changed(loc, "changed since the job (mtime differs from Snakemake's record)")

    @staticmethod
    def _gone(temp_like: bool, sha: str | None) -> str:
        if not temp_like:
            return "gone"
        if sha:
            return f"gone (temp?) — sha256 from Snakemake metadata: {sha.split(':')[-1]}"
        return "gone (temp?)"

    def _changed(self, loc: str, note: str) -> Verdict:
        self.untrusted += 1
        return loc, note

    def _sha256(self, p: Path) -> str | None:
        key = os.fspath(p)
        if key not in self._sha:
            self._sha[key] = sha256_of(p) if p.is_file() else None
        return self._sha[key]
