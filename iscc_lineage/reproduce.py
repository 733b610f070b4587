"""Re-execute recorded steps in a scratch folder and compare every output by content.

A *plan* says what to lay out (the workflow's code, its config, the raw inputs), what to ask
Snakemake for, and which content each output had when it was recorded; :func:`execute` runs
it and judges each output:

* ``identical`` - the same datahash (BLAKE3 over every byte; for a crate, the same SHA-256);
* ``near-identical`` - another content whose 64-bit Data-Code (or, for pictures, Image-Code)
  is at most :data:`NEAR_BITS` bits away, e.g. an SVG whose only change is a date stamp;
* ``different`` / ``missing``.

Plans come from a recorded run (:func:`plan_run`), a figure's lineage (:func:`plan_figure`) or
an exported RO-Crate (:func:`plan_crate`). The recorded code must still be the code on disk:
a run is only reproduced with files whose content matches the record (a crate ships it).
Snakemake runs as a subprocess (``python -m snakemake``); this module never imports it.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from iscc_lineage.codes import fingerprint_path, hamming
from iscc_lineage.codes.image import IMAGE_CODE_SCHEME, image_code, is_image
from iscc_lineage.diff import step_key
from iscc_lineage.errors import FingerprintError, LineageError, NotFoundError
from iscc_lineage.model import Run, Step
from iscc_lineage.store import Store

__all__ = ["Outcome", "Plan", "Report", "execute", "plan_crate", "plan_figure", "plan_run"]

NEAR_BITS = 4  #: of 64 bits: near-identical (verify's word for the same distance)
TAIL = 4000  #: characters of Snakemake's output kept when it fails
_INCLUDE = re.compile(r"""^\s*include:\s*(?:r?["']([^"'\n]+)["'])""", re.MULTILINE)
#: recorded snakemake options that change what runs, carried over to the re-execution
_CARRY = {"--config": -1, "-C": -1, "--sdm": -1, "--software-deployment-method": -1,
          "--use-conda": 0, "--use-apptainer": 0, "--use-singularity": 0,
          "--use-envmodules": 0}

Status = Literal["identical", "near-identical", "different", "missing"]


class ReproduceError(LineageError):
    """The recorded steps cannot be set up for re-execution (changed code, missing data)."""


@dataclass(frozen=True, slots=True)
class Expected:
    """An output as recorded: where (relative to the scratch root), by whom, what content."""

    path: str
    step: str  #: step key: process[wildcards]
    order: int
    datahash: str | None = None
    sha256: str | None = None
    iscc: str | None = None  #: narrow ISCC-SUM or the 256-bit Data-Code
    image_code: str | None = None
    data_code: str | None = None  #: the recorded 256-bit Data-Code (store plans)


@dataclass(frozen=True, slots=True)
class Placed:
    """A file copied into the scratch folder before the run, checked against its record."""

    source: Path
    dest: str  #: relative to the scratch root
    datahash: str | None = None
    sha256: str | None = None


@dataclass(slots=True)
class Plan:
    label: str
    snakefile: str  #: relative to the scratch root
    files: list[Placed] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    expected: list[Expected] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    path: str
    step: str
    status: Status
    recorded: str | None
    actual: str | None = None
    data_distance: int | None = None
    image_distance: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "step": self.step, "status": self.status,
                "recorded": self.recorded, "actual": self.actual,
                "data_distance": self.data_distance, "image_distance": self.image_distance,
                "bits": 64}


@dataclass(slots=True)
class Report:
    label: str
    scratch: str
    command: list[str]
    returncode: int
    seconds: float
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    log_tail: str | None = None

    @property
    def first_diverging(self) -> str | None:
        return next((o.step for o in self.outcomes if o.status != "identical"), None)

    def counts(self) -> dict[str, int]:
        out = {"identical": 0, "near-identical": 0, "different": 0, "missing": 0}
        for o in self.outcomes:
            out[o.status] += 1
        return out

    def reproduced(self, *, accept_near: bool = False) -> bool:
        ok = {"identical", "near-identical"} if accept_near else {"identical"}
        return self.returncode == 0 and bool(self.outcomes) and all(
            o.status in ok for o in self.outcomes)

    def to_dict(self, *, accept_near: bool = False) -> dict[str, Any]:
        return {"target": self.label, "scratch": self.scratch, "command": self.command,
                "returncode": self.returncode, "seconds": round(self.seconds, 3),
                "reproduced": self.reproduced(accept_near=accept_near),
                "accept_near_identical": accept_near, "counts": self.counts(),
                "first_diverging_step": self.first_diverging, "notes": self.notes,
                "log_tail": self.log_tail, "outputs": [o.to_dict() for o in self.outcomes]}


# -- plans from the store ---------------------------------------------------------------------


def _rel(path: str, bases: Sequence[tuple[str, str]]) -> str | None:
    """``path`` relative to the first base it lies under, with that base's prefix."""
    p = posixpath.normpath(path)
    for base, prefix in bases:
        b = posixpath.normpath(base)
        if p.startswith(b.rstrip("/") + "/"):
            return prefix + p[len(b.rstrip("/")) + 1:]
    return None


def _includes(snakefile: Path) -> list[Path]:
    found: list[Path] = []
    todo, seen = [snakefile], {snakefile}
    while todo and len(found) < 200:
        cur = todo.pop(0)
        try:
            text = cur.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for m in _INCLUDE.finditer(text):
            inc = Path(posixpath.normpath(posixpath.join(str(cur.parent), m.group(1))))
            if inc not in seen and inc.is_file():
                seen.add(inc)
                found.append(inc)
                todo.append(inc)
    return found


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


def _steps_plan(store: Store, label: str, run: Run, steps: list[Step],
                targets: list[str] | None) -> Plan:
    if run.info.get("engine") != "snakemake" or not run.workflow \
            or not run.workflow.startswith("/"):
        raise ReproduceError(
            f"run {run.id} was not recorded from Snakemake: its steps name absolute paths, "
            "so re-running their commands would overwrite the recorded files")
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
            plan.notes.append(f"{what} {path} is outside the workflow and working folders: "
                              "used where it is")
            return None
        placed.setdefault(rel, Placed(Path(path), rel, datahash))
        return rel

    place(snakefile.as_posix(), run.info.get("snakefile_datahash"), "Snakefile")
    for inc in _includes(snakefile):
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
            plan.notes.append(f"step {step_key(s)} is from run {s.run}: re-made with the "
                              f"workflow of run {run.id}")
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
        Expected(x.path, x.step, x.order, x.datahash, image_code=images.get(x.datahash or ""),
                 data_code=c.data_code if (c := contents.get(x.datahash or "")) else None)
        for x in plan.expected]
    plan.files = list(placed.values())
    if targets is None:
        finals = {e.datahash for s in steps for e in s.inputs if e.datahash}
        targets = sorted({x.path for x in plan.expected if x.datahash not in finals}
                         or {x.path for x in plan.expected})
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


# -- plan from an RO-Crate --------------------------------------------------------------------


def _graph(crate: Path) -> dict[str, dict[str, Any]]:
    meta = crate / "ro-crate-metadata.json"
    try:
        doc = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReproduceError(f"{meta}: not a readable RO-Crate ({exc})") from None
    return {str(e.get("@id")): e for e in doc.get("@graph", []) if isinstance(e, dict)}


def _ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value else []
    return [str(i["@id"]) for i in items if isinstance(i, dict) and "@id" in i]


def plan_crate(crate: Path, data_from: Path | None = None) -> Plan:
    """Re-run an exported crate's workflow: its shipped code, raw data from ``data_from``.

    Results of the crate's actions are the expected outputs (by SHA-256 and ISCC-SUM); files
    that no action made are raw inputs: taken from the crate when shipped, else from
    ``data_from`` at the same relative path (checked against the crate's SHA-256).
    """
    g = _graph(crate)
    root = g.get("./", {})
    main = _ids(root.get("mainEntity"))
    if not main or not main[0].endswith(("Snakefile", ".smk")):
        raise ReproduceError(f"{crate}: the crate names no Snakemake main workflow")
    results: dict[str, int] = {}
    step_of: dict[str, str] = {}
    actions = [e for e in g.values() if "CreateAction" in _types(e)]
    actions.sort(key=lambda e: str(e.get("startTime") or ""))
    used: set[str] = set()
    for i, a in enumerate(actions):
        tool = _ids(a.get("instrument"))
        name = str(g.get(tool[0], {}).get("name") or tool[0]) if tool else str(a.get("name"))
        for r in _ids(a.get("result")):
            results.setdefault(r, i)
            step_of.setdefault(r, name.removeprefix("Rule ").split(" ")[0] or name)
        used.update(_ids(a.get("object")))
    plan = Plan(str(crate), main[0])
    for eid, e in g.items():
        if "File" not in _types(e) or "://" in eid:
            continue
        rel = eid.lstrip("#")
        if eid in results or ("#" + rel) in results:
            if rel.startswith("workflow/"):
                continue
            plan.expected.append(Expected(rel, step_of.get(eid, "?"), results.get(eid, 0),
                                          sha256=e.get("sha256"), iscc=e.get("iscc")))
            continue
        src = crate / rel
        if eid.startswith("#") or not src.is_file():
            if data_from is None or not (data_from / rel).is_file():
                if eid in used or rel.startswith(("raw/", "data/")):
                    plan.notes.append(f"{rel}: raw input not in the crate; pass --data-from DIR")
                continue
            src = data_from / rel
        plan.files.append(Placed(src, rel, sha256=e.get("sha256")))
    for extra in ("workflow",):  # every shipped workflow file (rules, scripts, envs)
        base = crate / extra
        if base.is_dir():
            have = {p.dest for p in plan.files}
            for p in sorted(base.rglob("*")):
                rel = p.relative_to(crate).as_posix()
                if p.is_file() and rel not in have:
                    plan.files.append(Placed(p, rel))
    cfg = [e for e in plan.files if e.dest.startswith("config/")]
    for c in cfg:
        plan.args += ["--configfile", c.dest]
    finals = {r for a in actions for r in _ids(a.get("object"))}
    plan.targets = sorted({x.path for x in plan.expected if x.path not in finals}
                          or {x.path for x in plan.expected})
    plan.args.append("--notemp")
    return plan


def _types(e: dict[str, Any]) -> list[str]:
    t = e.get("@type")
    return [str(x) for x in t] if isinstance(t, list) else [str(t)]


def open_crate(path: Path, scratch: Path) -> Path:
    """A crate folder, unpacking a ``.zip`` into ``scratch/crate`` first."""
    if path.is_dir():
        return path
    if zipfile.is_zipfile(path):
        dest = scratch / "crate"
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                target = (dest / name).resolve()
                if not target.is_relative_to(dest.resolve()):
                    raise ReproduceError(f"{path}: unsafe path in zip: {name}")
            z.extractall(dest)
        return dest
    raise ReproduceError(f"{path}: neither a crate folder nor a zip")


# -- execution ----------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _stage(plan: Plan, work: Path) -> None:
    for f in plan.files:
        dest = work / f.dest
        if f.datahash is not None or f.sha256 is not None:
            try:
                if f.source.is_dir():
                    got = fingerprint_path(f.source).datahash
                    ok = f.datahash is None or got == f.datahash
                elif f.datahash is not None:
                    ok = fingerprint_path(f.source).datahash == f.datahash
                else:
                    ok = _sha256(f.source) == f.sha256
            except (FingerprintError, OSError):
                raise ReproduceError(f"{f.source}: recorded, but gone (needed to reproduce)"
                                     ) from None
            if not ok:
                raise ReproduceError(
                    f"{f.source}: changed since it was recorded; reproducing needs the "
                    "recorded content (restore it, e.g. from git, or reproduce from a crate)")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if f.source.is_dir():
            shutil.copytree(f.source, dest, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(f.source, dest)


def _judge(x: Expected, path: Path) -> Outcome:
    if not path.exists():
        return Outcome(x.path, x.step, "missing", x.datahash or x.sha256 or x.iscc)
    fp = fingerprint_path(path)
    if x.datahash is not None:
        if fp.datahash == x.datahash:
            return Outcome(x.path, x.step, "identical", x.datahash, fp.datahash, 0)
        recorded_code = None
    else:
        if x.sha256 is not None and path.is_file() and _sha256(path) == x.sha256:
            return Outcome(x.path, x.step, "identical", x.sha256, fp.iscc, 0)
        if x.sha256 is None and x.iscc is not None and x.iscc == fp.iscc:
            return Outcome(x.path, x.step, "identical", x.iscc, fp.iscc, 0)
        recorded_code = x.iscc
    d = None
    try:
        if recorded_code is not None:
            d = hamming(recorded_code, fp.iscc, bits=64)[0]
        elif x.data_code is not None:
            d = hamming(x.data_code, fp.data_code, bits=64)[0]
    except Exception:
        d = None
    img = None
    if x.image_code is not None and is_image(path, fp.size):
        now = image_code(path)
        if now is not None:
            img = hamming(x.image_code, now, bits=64)[0]
    near = (d is not None and d <= NEAR_BITS) or (img is not None and img <= NEAR_BITS)
    return Outcome(x.path, x.step, "near-identical" if near else "different",
                   x.datahash or x.sha256 or x.iscc, fp.datahash, d, img)


def execute(plan: Plan, scratch: Path, *, cores: int = 1, timeout: float | None = None
            ) -> Report:
    """Stage the plan into ``scratch``, run Snakemake there, judge every expected output."""
    scratch.mkdir(parents=True, exist_ok=True)
    _stage(plan, scratch)
    cmd = [sys.executable, "-m", "snakemake", "-s", plan.snakefile, "-d", ".",
           "--cores", str(cores), "--workflow-profile", "none", *plan.args, *plan.targets]
    env = {k: v for k, v in os.environ.items() if k != "ISCC_LINEAGE_STORE"}
    t0 = time.perf_counter()
    try:
        res = subprocess.run(cmd, cwd=scratch, capture_output=True, text=True, env=env,
                             timeout=timeout, check=False)
        rc, tail = res.returncode, (res.stdout + res.stderr)[-TAIL:]
    except subprocess.TimeoutExpired:
        rc, tail = 124, f"snakemake did not finish within {timeout} s"
    except OSError as exc:
        raise ReproduceError(f"cannot start snakemake: {exc}") from None
    seconds = time.perf_counter() - t0
    outcomes = [_judge(x, scratch / x.path)
                for x in sorted(plan.expected, key=lambda x: (x.order, x.path))]
    return Report(plan.label, scratch.as_posix(), cmd, rc, seconds, outcomes, list(plan.notes),
                  tail if rc != 0 else None)
