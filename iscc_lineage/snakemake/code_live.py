"""The live Snakemake job, read in Snakemake's own process: plain values, never a call."""

from __future__ import annotations

import dis
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["LiveJob", "LiveJobs", "plain_value"]


def plain_value(value: Any, depth: int = 0) -> Any:
    """A param value as JSON: numbers, strings, lists, dicts as they are; anything else repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if depth < 4 and isinstance(value, (list, tuple)) and len(value) <= 1000:
        return [plain_value(v, depth + 1) for v in value]
    if depth < 4 and isinstance(value, dict) and len(value) <= 1000:
        return {str(k): plain_value(v, depth + 1) for k, v in value.items()}
    if callable(value):
        name = getattr(value, "__qualname__", None) or type(value).__name__
        return f"<function {name}>"
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not break capture
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 10_000 else text[:10_000] + "…"


@dataclass(frozen=True, slots=True)
class LiveJob:
    """Plain values copied from Snakemake's live job at ``JOB_INFO``."""

    kind: str  #: shell | script | notebook | wrapper | cwl | template_engine | run | norun
    rule_file: str | None = None  #: the Snakefile (or included file) defining the rule
    rule_dir: str | None = None  #: that file's folder (``workflow.basedir`` of the rule)
    script: str | None = None  #: resolved script / notebook / wrapper path or URL
    run_source: str | None = None  #: the ``run:`` block's source as Snakemake keeps it
    params: dict[str, Any] = field(default_factory=dict)  #: by name; "0".. only when unnamed
    conda_prefix: str | None = None  #: the env prefix used (``--sdm conda`` only)
    conda_env_file: str | None = None  #: the rule's ``conda:`` file (declared)
    container: str | None = None  #: the container image URL, when containers were used
    container_declared: str | None = None  #: the rule's ``container:`` (declared)
    deployment: tuple[str, ...] = ()  #: conda / apptainer / env-modules, as used


def _params(job: Any) -> dict[str, Any]:
    """Named params already expanded by Snakemake (``job._params``); never expand them here."""
    params = getattr(job, "_params", None)
    if params is None:
        return {}
    names: dict[int, str] = {}
    for name, span in (getattr(params, "_names", None) or {}).items():
        start, end = span if isinstance(span, tuple) else (span, None)
        if end is None or end == start + 1:
            names[start] = name
        else:
            for i in range(start, end):
                names[i] = f"{name}[{i - start}]"
    out: dict[str, Any] = {}
    for i, value in enumerate(list(params)):
        out[names.get(i, str(i))] = plain_value(value)
    return out


def _run_source(wf: Any, rule: Any) -> str | None:
    """The ``run:`` block as written in its Snakefile: the lines its code maps back to.

    Snakemake's own ``run_func_src`` repeats lines (one per line-number entry); we map the
    compiled function's lines through ``workflow.linemaps`` and cut the contiguous block from
    the file instead, falling back to ``run_func_src``.
    """
    fallback = getattr(rule, "run_func_src", None)
    func = getattr(rule, "run_func", None)
    try:
        code = func.__code__  # type: ignore[union-attr]
        linemap = wf.linemaps[code.co_filename]
        lines = sorted(
            {
                linemap[n]
                for off, n in dis.findlinestarts(code)
                if off != 0 and n is not None and n in linemap
            }
        )
        snakefile = getattr(rule, "snakefile", None)
        if not lines or not snakefile:
            return fallback
        text = Path(snakefile).read_text(encoding="utf-8").splitlines()
        block = text[lines[0] - 1 : lines[-1]]
        return "\n".join(block) + "\n" if block else fallback
    except Exception:
        return fallback


class LiveJobs:
    """Finds the live job behind a ``JOB_INFO`` id in this process's running workflow."""

    def __init__(self) -> None:
        self._by_id: dict[int, Any] = {}
        self._dag: Any = None

    @staticmethod
    def workflow() -> Any:
        mod = sys.modules.get("snakemake.workflow")
        return getattr(mod, "workflow", None) if mod is not None else None

    def job(self, jobid: int) -> Any:
        wf = self.workflow()
        dag = getattr(wf, "_dag", None) if wf is not None else None
        if dag is None:
            return None
        if dag is not self._dag or jobid not in self._by_id:
            self._dag = dag
            ids = dict(getattr(dag, "_jobid", None) or {})  # one C-level copy under the GIL
            self._by_id = {v: k for k, v in ids.items()}
        return self._by_id.get(jobid)

    def find(self, jobid: int, rule: str) -> Any:
        """The live job of a ``JOB_INFO`` (None: no live workflow, or not that rule's job).

        Call it when the event is handled; use :meth:`describe_job` once the job has finished,
        when Snakemake has expanded its params (it does so to write its metadata record).
        """
        job = self.job(jobid)
        if job is None or getattr(getattr(job, "rule", None), "name", None) != rule:
            return None
        return job

    @staticmethod
    def describe_job(job: Any) -> LiveJob:
        """Plain facts about a live job (reads only what Snakemake already computed)."""
        r = job.rule
        kind = (
            "shell"
            if r.shellcmd is not None
            else "script"
            if r.script is not None
            else "notebook"
            if r.notebook is not None
            else "wrapper"
            if r.wrapper is not None
            else "cwl"
            if r.cwl is not None
            else "template_engine"
            if r.template_engine is not None
            else "norun"
            if r.norun
            else "run"
        )
        script = None
        raw = r.script or r.notebook or r.wrapper
        basedir = getattr(r, "basedir", None)
        rule_dir = None
        if basedir is not None:
            try:
                rule_dir = str(basedir.get_path_or_uri())
            except Exception:
                rule_dir = str(basedir)
        if raw is not None and kind in ("script", "notebook"):
            try:
                script = str(job._path_to_source_file(raw).get_path_or_uri())
            except Exception:
                script = str(raw)
            if rule_dir and "://" not in script and not os.path.isabs(script):
                script = os.path.join(rule_dir, script)
        elif raw is not None:
            script = str(raw)
        wf = getattr(getattr(job, "dag", None), "workflow", None) or LiveJobs.workflow()
        methods = getattr(getattr(wf, "deployment_settings", None), "deployment_method", ()) or ()
        used = tuple(sorted(str(getattr(m, "name", m)).lower() for m in methods))
        conda_prefix = None
        env_file = None
        spec = getattr(job, "_conda_env_spec", None) or getattr(r, "conda_env", None)
        if spec is not None and not callable(spec):
            env_file = str(getattr(spec, "file", None) or spec)
            env_file = env_file.removeprefix("file://")
        if "conda" in used:
            env = getattr(job, "_conda_env", None)
            conda_prefix = str(getattr(env, "address", "")) or None if env is not None else None
        container = getattr(job, "_container_img_url", None)
        rule_file = getattr(r, "snakefile", None)
        return LiveJob(
            kind=kind,
            rule_file=str(rule_file) if rule_file else None,
            rule_dir=rule_dir,
            script=script,
            run_source=_run_source(wf, r) if kind == "run" else None,
            params=_params(job),
            conda_prefix=conda_prefix,
            conda_env_file=env_file,
            container=str(container) if container and "apptainer" in used else None,
            container_declared=str(container) if container else None,
            deployment=used,
        )
