"""Post-hoc import: lineage of Snakemake runs made without the plugin, from ``.snakemake/``.

Reads the per-output metadata records (file or ``--persistence-backend db``), groups them into
jobs by (rule, job_hash, starttime), assigns jobs to runs from ``.snakemake/log/`` (else one
imported run), decides which files on disk are still what the job made, and records steps
through the :class:`~iscc_lineage.recorder.Recorder`. Idempotent: a step carries its
``import_key`` and a known key is skipped. Never imports snakemake.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from iscc_lineage.errors import LineageError, NotFoundError
from iscc_lineage.model import Artifact
from iscc_lineage.recorder import Recorder, location
from iscc_lineage.snakemake import jobs as jobinfo
from iscc_lineage.snakemake import runinfo
from iscc_lineage.snakemake.code import CodeFinder
from iscc_lineage.snakemake.plan import ImportPlan, Job, plan_import
from iscc_lineage.snakemake.runlog import RunLog
from iscc_lineage.snakemake.trust import Judge
from iscc_lineage.times import from_epoch

__all__ = ["ImportPlan", "ImportResult", "Job", "import_workdir", "plan_import", "record_plan"]

log = logging.getLogger(__name__)

SLACK = 1.0  #: seconds of clock and mtime granularity allowed when matching times
QUIET_FAILED = (
    "the run failed and its log names no job (--quiet?); no output of this job is "
    "left and no later job read one: taken as the failed job"
)
#: a live step ends when its JOB_FINISHED is logged, a little after the output's mtime
#: (postprocessing a large output takes a while): seconds before and after the record's endtime
RECORDED_WINDOW = (-2.0, 60.0)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import recorded: new steps per run id, and what it skipped and why."""

    store: str
    runs: dict[str, int]  #: run id -> steps added
    known: int = 0  #: jobs imported before (same import key)
    live: int = 0  #: jobs of runs already recorded live by the plugin
    failed: int = 0  #: steps recorded as failed (outputs partial, never traced)
    gone: int = 0  #: outputs no longer on disk (temp files, removed outputs)
    untrusted: int = 0  #: files changed since the job (not attributed to it)

    @property
    def steps(self) -> int:
        return sum(self.runs.values())


def import_workdir(workdir: Path, recorder: Recorder) -> ImportResult:
    """Plan and record the import of ``workdir`` in one call."""
    return record_plan(plan_import(workdir), recorder)


def record_plan(
    plan: ImportPlan, recorder: Recorder, *, only_lost: bool = False, keep: str | None = None
) -> ImportResult:
    """Record the plan's jobs that are not in the store yet; return what was done.

    Jobs of runs recorded live are skipped, except *lost* ones: a job whose outputs and
    metadata exist but whose step was never committed (Snakemake killed between the job's end
    and the write). Keyed by output and endtime, they are added to their live run (only once
    that run is over: ``running`` runs and ``keep`` are left alone), with ``info.recovered``.

    :param only_lost: record only the lost jobs of live runs (what the next live run does).
    """
    store = recorder.store
    known, live_runs = _known(recorder, plan.workdir)
    todo = [j for j in plan.jobs if j.key not in known]
    n_known = len(plan.jobs) - len(todo)
    of_live = [j for j in todo if j.run is not None and j.run.workflow_id in live_runs]
    over = [
        j
        for j in of_live
        if j.run is not None
        and j.run.workflow_id != keep
        and live_runs[j.run.workflow_id] != "running"
    ]
    lost = _lost(recorder, plan.workdir, over)
    n_live = len(of_live) - len(lost)
    fresh = (
        []
        if only_lost
        else [j for j in todo if j.run is None or j.run.workflow_id not in live_runs]
    )
    todo = fresh + lost
    lost_keys = {j.key for j in lost}
    log.debug(
        "%s: %d jobs, %d imported before, %d of live runs, %d of them lost",
        plan.workdir,
        len(plan.jobs),
        n_known,
        len(of_live),
        len(lost),
    )
    if not todo:
        return ImportResult(store.location, {}, n_known, n_live, 0, 0, 0)
    judge = Judge(plan.workdir, plan.records)
    judge.fingerprint_all(todo, recorder)
    search = jobinfo.rule_dirs(plan.snakefile) if plan.snakefile else [plan.workdir]
    finder = CodeFinder(search[0], plan.workdir)
    envs = jobinfo.EnvFinder(plan.snakefile.parent if plan.snakefile else plan.workdir)
    by_run: dict[RunLog | None, list[Job]] = defaultdict(list)
    for j in todo:
        by_run[j.run].append(j)
    added: dict[str, int] = {}
    failed = 0
    for run_log, jobs in by_run.items():
        run_id = _open_run(recorder, plan, run_log, jobs)
        touch = run_log is not None and runinfo.is_touch(run_log.header.get("Command"))
        for j in jobs:
            quiet_failed = not touch and _quiet_failure(j, judge)
            _record_job(
                recorder,
                judge,
                run_id,
                j,
                search,
                envs,
                touch,
                finder,
                quiet_failed,
                recovered=j.key in lost_keys,
            )
            failed += j.failed or quiet_failed
        if run_log is not None and run_log.workflow_id in live_runs:
            run = store.run(run_id)
            n = int(run.info.get("recovered") or 0) + len(jobs)
            store.update_run(run_id, status=run.status, ended=run.ended, info={"recovered": n})
        else:
            _, ended = _span(jobs, run_log)
            status = "touch" if touch else run_log.status if run_log else "finished"
            store.update_run(run_id, status=status, ended=iso(ended))
        added[run_id] = len(jobs)
    return ImportResult(store.location, added, n_known, n_live, failed, judge.gone, judge.untrusted)


def _quiet_failure(job: Job, judge: Judge) -> bool:
    """The job's run failed, its log cannot say which job failed, and this one made nothing.

    A failed job's record reads like a success (``incomplete: false``); under ``--quiet`` the
    run log names no job, so the files decide (as live capture settles unreported jobs).
    """
    run = job.run
    return (
        run is not None
        and run.status == "failed"
        and not run.jobs
        and not job.failed
        and judge.made_nothing(job)
    )


def _lost(recorder: Recorder, workdir: Path, jobs: list[Job]) -> list[Job]:
    """Those of ``jobs`` (of live runs) for which no step wrote their outputs at their end."""
    if not jobs:
        return []
    outs = {
        j.key: [location(r.output, workdir) for r in j.records if "://" not in r.output]
        for j in jobs
    }
    ends = recorder.store.output_ends(sorted({p for ps in outs.values() for p in ps}))
    lost = []
    for j in jobs:
        seen = [_epoch(t) for p in outs[j.key] for t in ends.get(p, [])]
        lo, hi = RECORDED_WINDOW
        if outs[j.key] and not any(t is not None and lo <= t - j.ended <= hi for t in seen):
            lost.append(j)
    return lost


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _known(recorder: Recorder, workdir: Path) -> tuple[set[str], dict[str, str]]:
    """Import keys already recorded for this working directory, and live runs' statuses."""
    keys: set[str] = set()
    live: dict[str, str] = {}
    where = location(workdir)
    for run in recorder.store.runs():
        if run.info.get("imported"):
            if run.workdir == where:
                keys.update(
                    str(s.info.get("import_key")) for s in recorder.store.steps_of_run(run.id)
                )
        else:
            live[run.id] = run.status
            if run.info.get("recovered") and run.workdir == where:
                keys.update(
                    str(s.info["import_key"])
                    for s in recorder.store.steps_of_run(run.id)
                    if s.info.get("import_key")
                )
    return keys, live


def _span(jobs: list[Job], run_log: RunLog | None) -> tuple[float, float]:
    started = min(j.started for j in jobs)
    ended = max(j.ended for j in jobs)
    if run_log is not None:
        started, ended = min(started, run_log.started), max(ended, run_log.ended)
    return started, ended


def iso(t: float | None) -> str | None:
    """Epoch seconds as the store's ISO 8601 UTC form (None stays None)."""
    return None if t is None else from_epoch(t)


def _open_run(recorder: Recorder, plan: ImportPlan, run_log: RunLog | None, jobs: list[Job]) -> str:
    """The run to add ``jobs`` to: the run log's (created once) or a new catch-all run."""
    started, _ = _span(jobs, run_log)
    if run_log is None:
        info: dict[str, Any] = {"engine": "snakemake", "imported": True, "run_log": None}
        return recorder.begin_run(
            workdir=plan.workdir, workflow=_posix(plan.snakefile), info=info, started=iso(started)
        )
    rid = run_log.workflow_id
    try:
        return recorder.store.run(rid).id
    except NotFoundError:
        pass
    ev = run_log.workflow_started()
    info = runinfo.run_info(ev, plan.workdir, recorder, touch=runinfo.is_touch(ev.cmd))
    # Today's git state and files say nothing sure about a past run: keep only what the
    # files still prove (unchanged since the run started).
    info.pop("git", None)
    if ev.snakefile and not _unchanged_since(Path(ev.snakefile), run_log.started):
        info.pop("snakefile_datahash", None)
    for c in info.get("configfiles", []):
        if c.get("datahash") and not _unchanged_since(Path(c["path"]), run_log.started):
            c["datahash"] = None
    info.update(imported=True, run_log=run_log.path.as_posix())
    return recorder.begin_run(
        run_id=rid,
        workdir=plan.workdir,
        workflow=ev.snakefile,
        command=ev.cmd,
        info=info,
        started=iso(started),
        host=ev.host,
        user=ev.user,
    )


def _start_of(job: Job) -> float | None:
    """The job's start, unless the record's starttime is stale.

    Without an incomplete marker at the end (local ``run:`` jobs), Snakemake copies the
    starttime of the output's previous record: earlier than the run itself, so unknown.
    """
    if job.run is not None and job.started < job.run.started - SLACK:
        return None
    return min(job.started, job.ended)  # endtime < starttime happens (coarse mtimes)


def _unchanged_since(path: Path, t: float) -> bool:
    try:
        return path.stat().st_mtime <= t + 1.0
    except OSError:
        return False


def _posix(p: Path | None) -> str | None:
    return p.as_posix() if p is not None else None


def _record_job(
    recorder: Recorder,
    judge: Judge,
    run_id: str,
    job: Job,
    search: list[Path],
    envs: jobinfo.EnvFinder,
    touch: bool,
    finder: CodeFinder,
    quiet_failed: bool = False,
    *,
    recovered: bool = False,
) -> None:
    rec = job.records[0]
    lj = job.logged
    code = jobinfo.code_of(rec, None, search)
    info: dict[str, Any] = {
        "kind": "touch" if touch else code.kind,
        "import_key": job.key,
        "is_checkpoint": bool(lj and lj.is_checkpoint),
        "group": None,
        "log": [judge.where(p) for p in rec.log],
    }
    if recovered:
        info["recovered"] = (
            "finished before the snakemake process was killed; its step was "
            "never committed live and was added from .snakemake/metadata"
        )
    if lj is not None:
        # Snakemake prints "threads:" only above 1.
        info.update(
            jobid=lj.jobid,
            wildcards=lj.wildcards,
            threads=lj.threads or 1,
            resources=lj.resources,
            reason=lj.reason,
            benchmark=judge.where(lj.benchmark) if lj.benchmark else None,
        )
    code_path = code.path
    if code_path is not None and not _unchanged_since(code_path, job.started):
        info["code_source"] = f"{code_path.as_posix()} (changed since the job)"
        code_path = None
    elif code.source is not None:
        info["code_source"] = code.source
    env_file = envs.find(rec.conda_env) if rec.conda_env else None
    environment = jobinfo.environment_of(rec, env_file)
    if env_file is not None:
        with suppress(LineageError):
            environment["conda_env_datahash"] = recorder.fingerprint(env_file).datahash
    status = "touch" if touch else "failed" if job.failed or quiet_failed else "finished"
    if quiet_failed:
        info["settled"] = QUIET_FAILED
    inputs, outputs = judge.inputs(job), judge.outputs(job)
    # Code read statically (no live job after the fact): the script, files the shell command
    # names, modules they import. Only files unchanged since the job are the code that ran.
    found = finder.job(
        kind=code.kind,
        script=code_path,
        shellcmd=rec.shellcmd,
        live=None,
        params={},
        data={a.path for a in (*inputs, *outputs)},
    )
    for f in found.files:
        if not _unchanged_since(f.path, job.started):
            inputs.append(Artifact(f.path.as_posix(), None, f.note + "; changed since the job"))
            continue
        with suppress(LineageError):
            inputs.append(Artifact(f.path.as_posix(), recorder.fingerprint(f.path), f.note))
    recorder.record_step(
        run_id,
        job.rule,
        process=job.rule,
        command=rec.shellcmd,
        code=code_path,
        inputs=inputs,
        outputs=outputs,
        params=jobinfo.params_of(rec),
        environment=environment,
        started=iso(_start_of(job)),
        ended=iso(max(job.started, job.ended)),
        status=status,
        info=info,
    )
