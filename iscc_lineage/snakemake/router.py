"""Snakemake events -> recorder calls: one run per invocation, one step per job.

Runs on Snakemake's log listener thread and must stay cheap there: inputs are fingerprinted
when a job is announced (``JOB_INFO``), outputs, logs and benchmarks when it finishes
(``JOB_FINISHED``), all on :class:`~iscc_lineage.snakemake.hasher.FileHasher`'s pool; a step
is written by one writer thread once its files are done. Nothing raises out of
:meth:`Router.handle` or :meth:`Router.close`: the first failure is logged once as a warning on
the ``iscc_lineage`` logger, counted in the run's ``info.capture``, and the run goes on.

What live capture cannot see (documented for users in the README, "Live capture"):

* jobs that do not run (up to date) emit nothing; ``iscc-lineage import`` covers them;
* a ``temp()`` file deleted before its producer's ``JOB_FINISHED`` is handled and never read
  as an input either gets no content (note "gone before fingerprinting (temp)"; Snakemake's own
  sha256 is noted when it has one): run with ``--notemp`` for full fidelity;
* ``pipe()``/``service()`` streams have no content ("pipe"); files inside group jobs on remote
  executors that delete them in the job are never seen;
* ``--touch`` given in a profile rather than on the command line is not detected;
* a ``kill -9`` of Snakemake leaves the run to the store's writer process, which marks it
  ``incomplete``; if that one dies too, the next run in the same working directory marks it
  ``incomplete`` once its recorded pid is gone on this host. Jobs that had finished but were not
  yet committed are added then (or by ``iscc-lineage import``).

The store is never opened in Snakemake's process (:mod:`iscc_lineage.snakemake.writer`): a
locked, shrunk or deleted store costs lineage (spooled, or said in one line), never the run.
"""

from __future__ import annotations

import logging
import os
import platform
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from logging import LogRecord
from pathlib import Path
from typing import Any, cast

from iscc_lineage.recorder import Recorder
from iscc_lineage.snakemake.code import LiveJobs
from iscc_lineage.snakemake.events import (
    Error,
    GroupInfo,
    Interrupted,
    JobError,
    JobFinished,
    JobInfo,
    Plain,
    WorkflowStarted,
    parse,
)
from iscc_lineage.snakemake.hasher import FileHasher, when_all
from iscc_lineage.snakemake.lifecycle import RunLifecycle
from iscc_lineage.snakemake.metadata import read_record
from iscc_lineage.snakemake.settings import CaptureSettings, check_capture_store
from iscc_lineage.snakemake.slots import FileSlots, incomplete_marker
from iscc_lineage.snakemake.steps import Job, StepWriter
from iscc_lineage.snakemake.writer import CLOSE_BUDGET, StoreClient
from iscc_lineage.software import SoftwareCache
from iscc_lineage.store import Store

__all__ = ["Router"]

log = logging.getLogger(__name__)


class Router(RunLifecycle, FileSlots):
    """Turns one Snakemake invocation's log records into a run with its steps."""

    def __init__(self, settings: CaptureSettings, store: StoreClient | None) -> None:
        self.settings = settings
        self.store = store
        self.interrupted = False
        self.run_id: str | None = None
        self.workdir = Path.cwd()
        self.touch = False
        self.failed = False
        self.errors = 0
        self.closing_line: str | None = None  #: what the plugin says when the run ends
        self._warned = False
        self._closed = False
        self._jobs: dict[int, Job] = {}
        self._groups: dict[int, str] = {}
        self._external: dict[int, tuple[str, str]] = {}  #: jobid -> (cluster job id, executor)
        self._temps: set[str] = set()
        self._streams: set[str] = set()  #: pipe()/service() paths of this run (FIFOs)
        self._recorded = 0
        self._nolock = False
        self._host = platform.node()
        self._lock = threading.Lock()
        self._hasher: FileHasher | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._steps: StepWriter | None = None
        self._live = LiveJobs()
        self._software: SoftwareCache | None = None

    @classmethod
    def from_plugin(cls, plugin_settings: Any, launch_dir: Path, argv: list[str]) -> Router:
        """Build from the plugin's settings; starts the store's writer process now.

        :raises LineageError: the settings are invalid or the store can never be used.
        """
        settings = CaptureSettings.from_plugin(plugin_settings, launch_dir, argv)
        if settings.store is not None:
            check_capture_store(settings.store)
        store = StoreClient(str(settings.store) if settings.store is not None else None)
        return cls(settings, store)

    # -- entry points (never raise) ---------------------------------------------------------

    def handle(self, record: LogRecord) -> None:
        """Route one record; failures are contained (warned once, counted)."""
        if self._closed:
            return
        try:
            ev = parse(record)
            if ev is None:
                return
            if isinstance(ev, WorkflowStarted):
                self._started(ev)
            elif self.run_id is None:
                return
            elif isinstance(ev, JobInfo):
                self._job_info(ev)
            elif isinstance(ev, JobFinished):
                self._job_done(ev.jobid, "touch" if self.touch else "finished", ev.created)
            elif isinstance(ev, JobError):
                self.failed = True
                self._job_done(ev.jobid, "failed", ev.created)
            elif isinstance(ev, Error):
                self.failed = True
            elif isinstance(ev, GroupInfo):
                self._groups.update(dict.fromkeys(ev.jobids, ev.group_id))
            elif isinstance(ev, Plain):
                if ev.removed_temp is not None:
                    self._temps.add(self._abs(ev.removed_temp))
                if ev.submitted is not None:
                    jobid, external, executor = ev.submitted
                    self._external[jobid] = (external, executor)
            elif isinstance(ev, Interrupted):
                self.interrupt()
        except Exception as exc:
            self.fail(exc)

    def interrupt(self) -> None:
        """The user stopped the run: abandon pending fingerprints (recorded as interrupted)."""
        self.interrupted = True
        if self._hasher is not None:
            self._hasher.abort()

    def close(self) -> None:
        """Settle jobs without a completion event, wait for all writes, finish the run."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.run_id is not None:
                t0 = time.perf_counter()
                if self.interrupted:
                    self.interrupt()
                self._settle_pending()
                assert self._hasher is not None and self._writer is not None
                self._hasher.shutdown()  # every done-callback has submitted its write
                self._writer.shutdown(wait=True)
                self._finish_run()
                log.debug(
                    "close: %d steps, waited %.3f s for pending fingerprints and writes",
                    self._recorded,
                    time.perf_counter() - t0,
                )
        except Exception as exc:
            self.fail(exc)
        finally:
            self._close_store(CLOSE_BUDGET)

    def abandon(self) -> None:
        """A second interrupt during :meth:`close`: mark the run, leave the rest to the writer."""
        self._closed = True
        self.interrupted = True
        with suppress(Exception):
            if self._hasher is not None:
                self._hasher.abort()
            if self.store is not None and self.run_id is not None:
                Recorder(cast(Store, self.store)).finish_run(
                    self.run_id, "interrupted", info={"capture": {"abandoned": True}}
                )
        self._close_store(0.5)

    def _close_store(self, budget: float) -> None:
        if self.store is None:
            return
        try:
            for notice in self.store.close(budget):
                log.warning("%s", notice)
        except Exception as exc:  # pragma: no cover - the client contains its own failures
            log.debug("closing the store client failed: %s", exc)

    def fail(self, exc: BaseException) -> None:
        """Record a capture failure: one warning line per run, a count for the run record."""
        with self._lock:
            self.errors += 1
            first = not self._warned
            self._warned = True
        if first:
            log.warning(
                "lineage capture failed (%s: %s); the run goes on, its lineage may be incomplete",
                type(exc).__name__,
                exc,
            )
        else:
            log.debug("further capture failure", exc_info=exc)

    # -- jobs --------------------------------------------------------------------------------

    def _job_info(self, ev: JobInfo) -> None:
        if ev.jobid in self._jobs:
            return
        if not (ev.output or ev.log or ev.benchmark or ev.shellcmd):
            return  # a pure aggregation target such as `all`: nothing ran, nothing was made
        inputs = [self._slot(ref, "input") for ref in ev.input if not self._excluded(ref)]
        job = Job(ev, inputs, self._groups.get(ev.jobid))
        try:
            job.live = self._live.find(ev.jobid, ev.rule)
        except Exception as exc:  # a Snakemake internals change: capture goes on without it
            log.debug("no live job for %d: %s", ev.jobid, exc)
        self._jobs[ev.jobid] = job

    def _job_done(self, jobid: int, status: str, created: float) -> None:
        job = self._jobs.get(jobid)
        if job is None or job.status is not None:
            return
        job.status, job.ended = status, created
        self._submit(job)

    def _submit(self, job: Job) -> None:
        assert self._writer is not None and self._steps is not None
        job.external = self._external.get(job.info.jobid)
        files = [*job.info.output, *job.info.log]
        if job.info.benchmark is not None:
            files.append(job.info.benchmark)
        job.outputs = [self._slot(ref, "output") for ref in files if not self._excluded(ref)]
        pending = [s.future for s in (*job.inputs, *job.outputs) if s.future is not None]
        writer, steps = self._writer, self._steps

        def write() -> None:
            try:
                steps.write(job)
                with self._lock:
                    self._recorded += 1
                if job.ended is not None:
                    log.debug(
                        "job %d (%s) recorded %.3f s after it finished",
                        job.info.jobid,
                        job.info.rule,
                        time.time() - job.ended,
                    )
            except Exception as exc:
                self.fail(exc)

        def then() -> None:
            writer.submit(write)

        when_all(pending, then)

    def _settle_pending(self) -> None:
        """Jobs that never reported back (``--quiet``, an interrupt): decide from the files."""
        for job in list(self._jobs.values()):
            if job.status is not None:
                continue
            outputs = [r for r in job.info.output if not r.is_stream and not r.storage]
            record = read_record(self.workdir, job.info.output[0].path) if job.info.output else None
            present = all(
                os.path.lexists(self._abs(r.path)) or self._abs(r.path) in self._temps
                for r in outputs
            )
            marked = any(incomplete_marker(self.workdir, r.path).exists() for r in outputs)
            if (
                present
                and not marked
                and (record is not None or not outputs)
                and not (record is not None and record.incomplete)
            ):
                job.status = "touch" if self.touch else "finished"
                job.ended = record.endtime if record is not None and record.endtime else None
                job.settled = "no JOB_FINISHED event (--quiet?); outputs and metadata present"
            else:
                job.status = "failed"
                job.settled = "never reported finished; outputs missing or incomplete"
            self._submit(job)
