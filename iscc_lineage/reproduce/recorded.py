"""Plans from the store: a recorded Snakemake run, or a recorded file's lineage."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Sequence
from pathlib import Path

from iscc_lineage.codes.image import IMAGE_CODE_SCHEME
from iscc_lineage.diff import step_key
from iscc_lineage.errors import NotFoundError
from iscc_lineage.export.crate.engines import includes
from iscc_lineage.model import Run, Step
from iscc_lineage.reproduce.report import Expected, Placed, Plan, ReproduceError
from iscc_lineage.store import Store

__all__ = ["plan_figure", "plan_run"]

#: recorded snakemake options that change what runs, carried over to the re-execution
_CARRY = {
    "--config": -1,
    "-C": -1,
    "--sdm": -1,
    "--software-deployment-method": -1,
    "--use-conda": 0,
    "--use-apptainer": 0,
    "--use-singularity": 0,
    "--use-envmodules": 0,
}


def _rel(path: str, bases: Sequence[tuple[str, str]]) -> str | None:
    """``path`` relative to the first base it lies under, with that base's prefix."""
    p = posixpath.normpath(path)
    for base, prefix in bases:
        b = posixpath.normpath(base)
        if p.startswith(b.rstrip("/") + "/"):
            return prefix + p[len(b.rstrip("/")) + 1 :]
    return None


def _carried_args(command: str | None) -> list[str]:
    if not command:
        return []
    try:
        words = shlex.split(command)
    except ValueError:
        return []
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        name = w.split("=", 1)[0]
        if name in _CARRY:
            out.append(w)
            i += 1
            if _CARRY[name] < 0 and "=" not in w:
                while i < len(words) and not words[i].startswith("-"):
                    out.append(words[i])
                    i += 1
            continue
        i += 1
    return out


def _steps_plan(
    store: Store, label: str, run: Run, steps: list[Step], targets: list[str] | None
) -> Plan:
    if (
        run.info.get("engine") != "snakemake"
        or not run.workflow
        or not run.workflow.startswith("/")
    ):
        raise ReproduceError(
            f"run {run.id} was not recorded from Snakemake: its steps name absolute paths, "
            "so re-running their commands would overwrite the recorded files"
        )
    snakefile = Path(run.workflow)
    wf_dir = snakefile.parent.as_posix()
    bases = [(run.workdir, ""), (wf_dir, "workflow/")]
    sf_rel = _rel(snakefile.as_posix(), bases)
    if sf_rel is None:
        raise ReproduceError(f"{snakefile}: the Snakefile is outside its working directory")
    plan = Plan(label, sf_rel, args=_carried_args(run.command))
    placed: dict[str, Placed] = {}

    def place(path: str, datahash: str | None, what: str) -> str | None:
        rel = _rel(path, bases)
        if rel is None:
            plan.notes.append(
                f"{what} {path} is outside the workflow and working folders: used where it is"
            )
            return None
        placed.setdefault(rel, Placed(Path(path), rel, datahash))
        return rel

    place(snakefile.as_posix(), run.info.get("snakefile_datahash"), "Snakefile")
    for inc in includes(snakefile):
        place(inc.as_posix(), None, "rule file")
    for cf in run.info.get("configfiles") or ():
        if isinstance(cf, dict) and cf.get("path"):
            rel = place(str(cf["path"]), cf.get("datahash"), "config file")
            if rel is not None:
                plan.args += ["--configfile", rel]
    made = {e.datahash for s in steps for e in s.outputs if e.datahash}
    order = sorted(steps, key=lambda s: (s.started or "", s.id))
    skip_out: set[str] = set()
    for i, s in enumerate(order):
        if s.run != run.id:
            plan.notes.append(
                f"step {step_key(s)} is from run {s.run}: re-made with the workflow of run {run.id}"
            )
        if s.code:
            place(s.code, s.code_datahash, "code")
        env = s.environment.get("conda_env_file")
        if isinstance(env, str) and env.startswith("/"):
            place(env, s.environment.get("conda_env_datahash"), "conda env")
        for e in s.code_files:
            place(e.path, e.datahash, "code")
        for e in s.inputs:
            if e.datahash is not None and e.datahash not in made:
                place(e.path, e.datahash, "input")
        logs = {p for p in s.info.get("log") or () if isinstance(p, str)}
        if isinstance(s.info.get("benchmark"), str):
            logs.add(s.info["benchmark"])
        skip_out |= logs
        for e in s.outputs:
            if e.path in logs or e.datahash is None:
                continue
            rel = _rel(e.path, bases[:1])
            if rel is None:
                plan.notes.append(f"output {e.path} is outside the working folder: not compared")
                continue
            plan.expected.append(Expected(rel, step_key(s), i, e.datahash))
    hashes = [x.datahash for x in plan.expected if x.datahash]
    contents = store.contents(hashes)
    images = store.codes_of(hashes, IMAGE_CODE_SCHEME)
    plan.expected = [
        Expected(
            x.path,
            x.step,
            x.order,
            x.datahash,
            image_code=images.get(x.datahash or ""),
            data_code=c.data_code if (c := contents.get(x.datahash or "")) else None,
        )
        for x in plan.expected
    ]
    plan.files = list(placed.values())
    if targets is None:
        finals = {e.datahash for s in steps for e in s.inputs if e.datahash}
        targets = sorted(
            {x.path for x in plan.expected if x.datahash not in finals}
            or {x.path for x in plan.expected}
        )
    plan.targets = targets
    plan.args.append("--notemp")
    return plan


def plan_run(store: Store, ref: str) -> Plan:
    """Re-make every output a recorded Snakemake run generated."""
    run = store.run(ref)
    steps = [s for s in store.steps_of_run(run.id) if s.status == "finished"]
    if not steps:
        raise NotFoundError(f"run {run.id} has no finished steps to reproduce")
    return _steps_plan(store, f"run {run.id}", run, steps, None)


def plan_figure(store: Store, path: Path) -> Plan:
    """Re-make a recorded file and everything its lineage holds."""
    from iscc_lineage.lineage import identify, trace

    _fp, content = identify(store, path)
    if content is None:
        raise NotFoundError(f"{path}: not recorded (its content is in no lineage)")
    lin = trace(store, content.datahash)
    makers = [s for s in lin.steps if any(e.datahash == content.datahash for e in s.outputs)]
    if not makers:
        raise NotFoundError(f"{path}: no recorded step generated this content")
    run = store.run(makers[0].run)
    target = next(e.path for e in makers[0].outputs if e.datahash == content.datahash)
    rel = _rel(target, [(run.workdir, "")])
    if rel is None:
        raise ReproduceError(f"{target}: outside the run's working folder")
    return _steps_plan(store, str(path), run, list(lin.steps), [rel])
