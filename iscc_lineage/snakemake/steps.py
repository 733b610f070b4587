"""One finished (or failed) Snakemake job -> one recorded step, in model terms.

The job's own event gives rule, wildcards, threads, resources, files and the shell command;
its ``.snakemake/metadata`` record gives params, the code (script path) and the environment.
Runs on the capture's writer thread once every file of the job has been fingerprinted.
"""

from __future__ import annotations

import os
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iscc_lineage.codes import fingerprint_bytes
from iscc_lineage.errors import LineageError
from iscc_lineage.model import Artifact
from iscc_lineage.recorder import Recorder
from iscc_lineage.snakemake.code import CodeFinder, JobCode, LiveJob, LiveJobs
from iscc_lineage.snakemake.events import FileRef, JobInfo
from iscc_lineage.snakemake.hasher import INTERRUPTED, MISSING, Hashed
from iscc_lineage.snakemake.jobs import EnvFinder, code_of, environment_of, params_of
from iscc_lineage.snakemake.metadata import MetadataRecord, read_record
from iscc_lineage.software import SoftwareCache
from iscc_lineage.times import from_epoch

__all__ = ["Job", "Slot", "StepWriter"]

GONE = "gone before fingerprinting"


@dataclass(slots=True)
class Slot:
    """One file of a job: where it is recorded, and its fingerprint (pending or fixed)."""

    ref: FileRef
    path: str  #: the recorded location (absolute path, or a storage query)
    future: Future[Hashed] | None = None
    fixed: Artifact | None = None
    note: str | None = None  #: added to the hashed artifact's note (e.g. "local copy")


@dataclass(slots=True)
class Job:
    """A job between ``JOB_INFO`` and its step being written."""

    info: JobInfo
    inputs: list[Slot]
    group: str | None = None
    outputs: list[Slot] = field(default_factory=list)
    status: str | None = None  #: finished | failed | touch once known
    ended: float | None = None
    settled: str | None = None  #: why the status was decided at close()
    external: tuple[str, str] | None = None  #: (cluster job id, executor), e.g. ("812", "slurm")
    live: Any = None  #: Snakemake's live job object (read once the job has finished)


class StepWriter:
    """Builds and records steps for one run."""

    def __init__(
        self,
        recorder: Recorder,
        run_id: str,
        workdir: Path,
        rule_dirs: list[Path],
        envs: EnvFinder,
        temps: set[str],
        streams: set[str] | None = None,
        *,
        code: CodeFinder | None = None,
        software: SoftwareCache | None = None,
    ) -> None:
        self.recorder = recorder
        self.code = code or CodeFinder(rule_dirs[0] if rule_dirs else workdir, workdir)
        self.software = software
        self.run_id = run_id
        self.workdir = workdir
        self.rule_dirs = rule_dirs
        self.envs = envs
        self.temps = temps  #: absolute paths Snakemake said it removed as temp (live set)
        #: pipe()/service() paths of the run (live set): a consumer that finds the FIFO gone
        #: read a stream, not a deleted file
        self.streams = streams if streams is not None else set()

    def write(self, job: Job) -> None:
        """Record the job as a step (all its futures are done)."""
        info = job.info
        status = job.status or "failed"
        record = self._record(info)
        code = code_of(record, info.shellcmd, self.rule_dirs)
        live = _describe(job.live)
        checksums = record.input_checksums if record is not None else {}
        inputs = [self._artifact(s, status, checksums, "input") for s in job.inputs]
        outputs = [self._artifact(s, status, {}, "output") for s in job.outputs]
        data = {s.path for s in (*job.inputs, *job.outputs)}
        capture_note = None
        try:
            jc = self.code.job(
                kind=code.kind,
                script=code.path,
                shellcmd=info.shellcmd,
                live=live,
                params=params_of(record),
                data=data,
            )
            inputs += self._code_artifacts(jc)
        except Exception as exc:  # never lose the step over the code it ran
            capture_note = f"code not captured ({type(exc).__name__}: {exc})"
            jc = JobCode(code.kind, params=params_of(record))
        kind = "touch" if status == "touch" else jc.kind
        step_info: dict[str, Any] = {
            "jobid": info.jobid,
            "wildcards": info.wildcards,
            "threads": info.threads,
            "resources": info.resources,
            "log": [self._abs(r.path) for r in info.log],
            "benchmark": self._abs(info.benchmark.path) if info.benchmark else None,
            "reason": info.reason,
            "kind": kind,
            "is_checkpoint": info.is_checkpoint,
            "group": job.group,
        }
        if code.source is not None:
            step_info["code_source"] = code.source
        step_info["params_named"] = jc.params_named
        if jc.run_source:
            step_info["run_source"] = jc.run_source
            step_info["run_source_datahash"] = fingerprint_bytes(
                jc.run_source.encode("utf-8")
            ).datahash
        if job.settled:
            step_info["settled"] = job.settled
        if job.external is not None:
            step_info["external_jobid"], step_info["executor"] = job.external
        if record is None and info.output:
            step_info["metadata"] = "no .snakemake/metadata record (params, code unknown)"
        main = next((f.path for f in jc.files if f.role in ("script", "notebook", "wrapper")), None)
        code_path = (
            main
            if main is not None
            else (code.path if code.path is not None and code.path.is_file() else None)
        )
        environment = self._environment(record)
        try:
            environment.update(self._software_of(jc, live, code_path))
        except Exception as exc:  # never lose the step over the software it ran on
            capture_note = f"software not captured ({type(exc).__name__}: {exc})"
        if capture_note:
            step_info["capture_note"] = capture_note
        self.recorder.record_step(
            self.run_id,
            info.rule,
            inputs=inputs,
            outputs=outputs,
            process=info.rule,
            command=info.shellcmd if jc.kind == "shell" else None,
            code=code_path,
            params=jc.params,
            environment=environment,
            started=from_epoch(info.created),
            ended=from_epoch(job.ended) if job.ended else None,
            status=status,
            info=step_info,
        )

    def _abs(self, path: str) -> str:
        return os.path.abspath(os.path.join(self.workdir, path))

    def _code_artifacts(self, jc: JobCode) -> list[Artifact]:
        out = []
        for f in jc.files:
            try:
                out.append(Artifact(f.path.as_posix(), self.recorder.fingerprint(f.path), f.note))
            except LineageError:  # gone or unreadable: say so rather than drop it
                out.append(Artifact(f.path.as_posix(), None, f.note + "; not fingerprinted"))
        return out

    def _software_of(
        self, jc: JobCode, live: LiveJob | None, script: Path | None
    ) -> dict[str, Any]:
        """What ran (``software``: record ids) and what was only declared, for one step."""
        env: dict[str, Any] = {}
        if live is not None:
            env["deployment"] = list(live.deployment)
            declared = {
                k: v
                for k, v in (
                    ("conda_env_file", live.conda_env_file),
                    ("container", live.container_declared),
                )
                if v
            }
            if declared:
                env["declared"] = declared
            if live.conda_env_file and "conda" not in live.deployment:
                env["conda_env_used"] = False
        sw = self.software
        if sw is None or jc.kind == "norun":
            return env
        ids: list[str | None] = []
        path_env = None
        prefix = live.conda_prefix if live is not None else None
        if prefix:
            ids.append(sw.conda(prefix))
            path_env = os.path.join(prefix, "bin") + os.pathsep + os.environ.get("PATH", "")
        if live is not None and live.container:
            ids.append(sw.container(live.container))
        suffix = script.suffix if script is not None else ""
        if jc.kind == "run" or (
            jc.kind in ("script", "notebook", "wrapper") and suffix in (".py", ".ipynb", "")
        ):
            py = os.path.join(prefix, "bin", "python") if prefix else None
            in_container = live is not None and live.container
            if not in_container:
                ids.append(sw.python(py) if py and os.path.exists(py) else sw.this_python())
        elif jc.kind in ("script", "wrapper") and suffix in (".R", ".r", ".Rmd"):
            ids.append(sw.executable("Rscript", path_env))
        elif jc.kind == "script" and suffix == ".jl":
            ids.append(sw.executable("julia", path_env))
        elif jc.kind == "script" and suffix in (".sh", ".bash"):
            ids.append(sw.executable("bash", path_env))
        if not (live is not None and live.container):
            for prog in jc.programs:
                ids.append(sw.executable(prog, path_env))
        found = list(dict.fromkeys(i for i in ids if i))
        if found:
            env["software"] = found
        return env

    def _record(self, info: JobInfo) -> MetadataRecord | None:
        for ref in info.output:
            if not ref.is_stream:
                return read_record(self.workdir, ref.path)
        return None

    def _artifact(self, slot: Slot, status: str, checksums: dict[str, str], role: str) -> Artifact:
        if slot.fixed is not None:
            return slot.fixed
        assert slot.future is not None
        if slot.future.cancelled():
            return Artifact(slot.path, None, INTERRUPTED)
        art = slot.future.result().artifact
        note = art.note
        if note == MISSING and slot.path in self.streams:
            note = "pipe"
        elif note == MISSING:
            if status == "failed" and role == "output":
                note = "missing (job failed)"
            else:
                temp = " (temp)" if slot.path in self.temps else ""
                note = GONE + temp
                sha = checksums.get(slot.ref.path)
                if sha:
                    note += f"; Snakemake recorded {sha}"
        if slot.note and art.fingerprint is not None:
            note = f"{note}; {slot.note}" if note else slot.note
        return Artifact(slot.path, art.fingerprint, note)

    def _environment(self, record: MetadataRecord | None) -> dict[str, Any]:
        env_file = self.envs.find(record.conda_env) if record and record.conda_env else None
        env = environment_of(record, env_file)
        if record is not None and record.conda_env:
            try:
                if env_file is not None:
                    env["conda_env_datahash"] = self.recorder.fingerprint(env_file).datahash
                else:
                    env["conda_env_datahash"] = fingerprint_bytes(
                        record.conda_env.encode("utf-8")
                    ).datahash
                    env["conda_env_note"] = (
                        "no file with this content below the workflow "
                        "directory: the datahash is of the recorded YAML"
                    )
            except LineageError:
                pass
        return env


def _describe(job: Any) -> LiveJob | None:
    if job is None:
        return None
    try:
        return LiveJobs.describe_job(job)
    except Exception:  # Snakemake internals differ: fall back to the metadata record
        return None
