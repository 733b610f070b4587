"""The captured run's start, finish and the settling of stale runs; a Router mixin."""

from __future__ import annotations

import os
import platform
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

from iscc_lineage.recorder import Recorder
from iscc_lineage.snakemake.code import CodeFinder
from iscc_lineage.snakemake.events import WorkflowStarted
from iscc_lineage.snakemake.hasher import FileHasher
from iscc_lineage.snakemake.jobs import EnvFinder, rule_dirs
from iscc_lineage.snakemake.runinfo import is_touch, run_info
from iscc_lineage.snakemake.settings import CaptureSettings
from iscc_lineage.snakemake.steps import Job, StepWriter
from iscc_lineage.snakemake.writer import StoreClient
from iscc_lineage.software import SoftwareCache
from iscc_lineage.store import DEFAULT_STORE, Store
from iscc_lineage.store.credentials import redact_credentials
from iscc_lineage.times import from_epoch

__all__ = ["RunLifecycle"]


class RunLifecycle:
    """Begins and finishes the run of one invocation; mixed into the Router (its state)."""

    settings: CaptureSettings
    store: StoreClient | None
    run_id: str | None
    workdir: Path
    touch: bool
    interrupted: bool
    failed: bool
    errors: int
    closing_line: str | None
    _jobs: dict[int, Job]
    _temps: set[str]
    _streams: set[str]
    _recorded: int
    _nolock: bool
    _host: str
    _hasher: FileHasher | None
    _writer: ThreadPoolExecutor | None
    _steps: StepWriter | None
    _software: SoftwareCache | None

    # -- run ---------------------------------------------------------------------------------

    def _started(self, ev: WorkflowStarted) -> None:
        if self.run_id is not None:
            return
        # WORKFLOW_STARTED.cwd is stale under `workdir:`; the process is in the workdir now.
        self.workdir = Path.cwd()
        if self.store is None:
            self.store = StoreClient()
        if not self.store.location:
            self.store.open(str(self.workdir / DEFAULT_STORE))
        # The client implements the recording part of the store interface (writes go to the
        # writer process); the capture's recorder calls nothing else.
        recorder = Recorder(cast(Store, self.store), pixels=self.settings.pixels)
        self.touch = is_touch(ev.cmd)
        self._nolock = "--nolock" in (ev.cmd or "")
        self._host = ev.host or platform.node()
        snakefile = Path(ev.snakefile) if ev.snakefile else self.workdir / "Snakefile"
        info = run_info(ev, self.workdir, recorder, touch=self.touch)
        info["capture"] = self.settings.describe()
        info["pid"] = os.getpid()
        self.run_id = recorder.begin_run(
            run_id=ev.workflow_id,
            workdir=self.workdir,
            workflow=snakefile.as_posix(),
            command=ev.cmd,
            info=info,
            started=from_epoch(ev.created),
            host=self._host,
            user=ev.user,
        )
        self._hasher = FileHasher(
            self.store, max_size=self.settings.max_size, hash_inputs=self.settings.hash_inputs
        )
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="iscc-lineage-write")
        wf_dir = Path(os.path.abspath(snakefile.parent))

        def datahash(p: Path) -> str | None:
            return recorder.fingerprint(p).datahash

        self._software = SoftwareCache(datahash, own=(wf_dir, self.workdir))
        self._steps = StepWriter(
            recorder,
            self.run_id,
            self.workdir,
            rule_dirs(snakefile),
            EnvFinder(snakefile.parent),
            self._temps,
            self._streams,
            code=CodeFinder(wf_dir, self.workdir),
            software=self._software,
        )
        self._settle_stale_runs()

    def _finish_run(self) -> None:
        assert self.store is not None and self.run_id is not None
        unsettled = sum(1 for j in self._jobs.values() if j.settled and j.status == "failed")
        status = (
            "interrupted"
            if self.interrupted
            else "failed"
            if self.failed
            else "incomplete"
            if unsettled
            else "touch"
            if self.touch
            else "finished"
        )
        capture = {
            **self.settings.describe(),
            "steps": self._recorded,
            "errors": self.errors,
            "settled_at_close": sum(1 for j in self._jobs.values() if j.settled),
            "removed_temp": sorted(self._temps),
        }  # verify: gone as expected
        info: dict[str, Any] = {"capture": capture}
        if self._software is not None and self._software.records:
            info["software"] = dict(sorted(self._software.records.items()))
        Recorder(cast(Store, self.store)).finish_run(self.run_id, status, info=info)
        if not self.errors:  # after a warning, that warning has spoken
            n = self._recorded
            loc = self.store.location
            where = (
                redact_credentials(loc)
                if "://" in loc
                else (rel if not (rel := os.path.relpath(loc)).startswith("../..") else loc)
            )
            self.closing_line = (
                f"recorded {n} step{'s' if n != 1 else ''} of run "
                f"{self.run_id[:12]} ({status}) in {where}"
            )

    def _settle_stale_runs(self) -> None:
        """Mark dead runs of this workdir ``incomplete`` and add the steps they lost.

        Done by the writer process, off Snakemake's: a run is dead when its recorded pid is
        gone on this host (a run without a pid: when Snakemake's lock rules it out, i.e. not
        under ``--nolock``). A live run in the same folder is never touched.
        """
        assert self.store is not None and self.run_id is not None
        if self._nolock:
            return
        self.store.settle(
            workdir=self.workdir.as_posix(),
            host=self._host,
            keep=self.run_id,
            reason=f"still running when run {self.run_id} started in the same working "
            "directory, and its snakemake process is gone: it was killed",
        )
