"""What differs between two recorded runs (or two figures' lineages), step by step, and why.

Steps are matched by what they are, not by id: the process (rule) and its wildcards. For each
matched pair the *recipe* is compared part by part, each part a cause the record proves:

* ``params`` - by name (``thresh: 0.5 -> 0.3``);
* ``code`` - which code file changed (the step's script, a shell-called script, an imported
  module, the ``run:`` block), by content;
* ``software`` - the interpreter, distributions, conda packages or executables that ran;
* ``inputs`` - which inputs changed, by content;
* ``command`` - the resolved shell command, when nothing above explains its change.

Outputs are compared by content (same datahash) and, when they differ, by Data-Code bits. A
pair whose recipe is the same but whose outputs differ is ``non-deterministic``; a pair with a
changed recipe lists the causes, never "non-determinism". Steps are ordered by when they ran,
so the first diverging step comes first. Read path only: no writes, no file access.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from typing import Any, Literal

from iscc_lineage.codes import hamming
from iscc_lineage.model import Edge, Run, Step
from iscc_lineage.store import Store

__all__ = ["Cause", "OutputDiff", "StepDiff", "diff_steps", "step_key"]

NEAR_BITS = 4  #: of 64 Data-Code bits: near-identical (as verify words it)

Verdict = Literal["same", "changed", "non-deterministic", "recipe-only", "only-a", "only-b"]


def step_key(step: Step) -> str:
    """What a step is, across runs: its process and wildcards (``segment[sample=s01]``)."""
    wc = step.info.get("wildcards") or {}
    name = step.process or step.name
    if isinstance(wc, dict) and wc:
        return name + "[" + ",".join(f"{k}={wc[k]}" for k in sorted(wc)) + "]"
    return name


@dataclass(frozen=True, slots=True)
class Cause:
    """One proven difference in a step's recipe."""

    kind: str  #: params | code | software | inputs | command | environment
    name: str  #: the param name, code file, software name, input path
    before: Any = None
    after: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "before": self.before, "after": self.after}

    def __str__(self) -> str:
        if self.kind == "params":
            return f"param {self.name}: {_short(self.before)} -> {_short(self.after)}"
        if self.kind in ("code", "inputs"):
            what = "code" if self.kind == "code" else "input"
            if self.before is None:
                return f"{what} {self.name} added"
            if self.after is None:
                return f"{what} {self.name} removed"
            return f"{what} {self.name} changed"
        if self.kind == "software":
            return f"software {self.name}: {_short(self.before)} -> {_short(self.after)}"
        return f"{self.kind} {self.name} changed"


@dataclass(frozen=True, slots=True)
class OutputDiff:
    """One output location of a matched step: the same content or not, and how far apart."""

    path: str  #: relative to the run's working directory when inside it
    before: str | None
    after: str | None
    status: Literal["identical", "near-identical", "different", "only-a", "only-b"]
    data_distance: int | None = None  #: Data-Code bits of 64

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "before": self.before,
            "after": self.after,
            "status": self.status,
            "data_distance": self.data_distance,
            "data_bits": 64,
        }


@dataclass(frozen=True, slots=True)
class StepDiff:
    """A step of A against its match in B."""

    key: str
    verdict: Verdict
    step_a: str | None
    step_b: str | None
    causes: tuple[Cause, ...] = ()
    outputs: tuple[OutputDiff, ...] = ()

    @property
    def changed_outputs(self) -> list[OutputDiff]:
        return [o for o in self.outputs if o.status != "identical"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "verdict": self.verdict,
            "step_a": self.step_a,
            "step_b": self.step_b,
            "causes": [c.to_dict() for c in self.causes],
            "outputs": [o.to_dict() for o in self.outputs],
        }


@dataclass(frozen=True, slots=True)
class RunDiff:
    """All step diffs, first diverging first; ``first`` names it."""

    a: str
    b: str
    steps: tuple[StepDiff, ...] = field(default=())

    @property
    def first(self) -> StepDiff | None:
        return next((s for s in self.steps if s.verdict not in ("same", "only-a")), None)

    @property
    def changed_outputs(self) -> list[str]:
        return sorted({o.path for s in self.steps for o in s.changed_outputs})

    def to_dict(self) -> dict[str, Any]:
        first = self.first
        return {
            "a": self.a,
            "b": self.b,
            "first_diverging": first.key if first else None,
            "changed_outputs": self.changed_outputs,
            "steps": [s.to_dict() for s in self.steps],
        }


def _short(v: Any) -> str:
    text = v if isinstance(v, str) else json.dumps(v, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _rel(path: str, bases: list[str]) -> str:
    for b in bases:
        if b and (path == b or path.startswith(b.rstrip("/") + "/")):
            return posixpath.relpath(path, b)
    return path


def _bases(run: Run | None) -> list[str]:
    if run is None:
        return []
    out = [run.workdir]
    if run.workflow and run.workflow.startswith("/"):
        out.insert(0, posixpath.dirname(run.workflow))
    return out


def _data_edges(
    edges: tuple[Edge, ...], run: Run | None, *, skip: set[str]
) -> dict[str, str | None]:
    wd = [run.workdir] if run else []
    return {_rel(e.path, wd): e.datahash for e in edges if e.path not in skip}


def _code_edges(step: Step, run: Run | None) -> dict[str, str | None]:
    bases = _bases(run)
    out = {_rel(e.path, bases): e.datahash for e in step.code_files}
    if step.code and step.code_datahash:
        out.setdefault(_rel(step.code, bases), step.code_datahash)
    src = step.info.get("run_source_datahash")
    if isinstance(src, str):
        out["run: block"] = src
    return out


def _software(step: Step, run: Run | None) -> dict[str, dict[str, Any]]:
    """Software records of a step by a stable name: ``python``, ``conda``, ``exe:bwa``."""
    records = (run.info.get("software") or {}) if run else {}
    out: dict[str, dict[str, Any]] = {}
    for rid in step.environment.get("software") or ():
        rec = records.get(rid) if isinstance(records, dict) else None
        if not isinstance(rec, dict):
            out[f"record:{rid}"] = {"id": rid}
            continue
        kind = rec.get("kind")
        name = (
            f"exe:{rec.get('name') or posixpath.basename(str(rec.get('path')))}"
            if kind == "executable"
            else str(kind)
        )
        out[name] = {**rec, "id": rid}
    return out


def _software_causes(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> list[Cause]:
    causes = []
    for name in sorted(a.keys() | b.keys()):
        ra, rb = a.get(name), b.get(name)
        if ra is not None and rb is not None and ra.get("id") == rb.get("id"):
            continue
        if ra is None or rb is None:
            causes.append(Cause("software", name, _label(ra), _label(rb)))
            continue
        pkgs_a = _packages(ra)
        pkgs_b = _packages(rb)
        changed = False
        for p in sorted(pkgs_a.keys() | pkgs_b.keys()):
            if pkgs_a.get(p) != pkgs_b.get(p):
                causes.append(Cause("software", f"{name}:{p}", pkgs_a.get(p), pkgs_b.get(p)))
                changed = True
        for k in ("version", "binary_datahash", "url", "datahash", "executable", "prefix"):
            if ra.get(k) != rb.get(k):
                causes.append(Cause("software", f"{name} {k}", ra.get(k), rb.get(k)))
                changed = True
        if not changed:
            causes.append(Cause("software", name, ra.get("id"), rb.get("id")))
    return causes


def _label(rec: dict[str, Any] | None) -> str | None:
    if rec is None:
        return None
    return str(rec.get("version") or rec.get("url") or rec.get("prefix") or rec.get("id"))


def _packages(rec: dict[str, Any]) -> dict[str, str]:
    items = rec.get("distributions") or rec.get("packages") or ()
    return {str(p.get("name")): str(p.get("version")) for p in items if isinstance(p, dict)}


def _skip_paths(step: Step) -> set[str]:
    """Logs and benchmarks: outputs whose content is about the run, not the result."""
    skip = {p for p in step.info.get("log") or () if isinstance(p, str)}
    bench = step.info.get("benchmark")
    if isinstance(bench, str):
        skip.add(bench)
    return skip


def _dict_causes(kind: str, a: dict[str, Any], b: dict[str, Any]) -> list[Cause]:
    return [
        Cause(kind, k, a.get(k), b.get(k))
        for k in sorted(a.keys() | b.keys(), key=str)
        if a.get(k) != b.get(k)
    ]


def compare_pair(store: Store, a: Step, b: Step, run_a: Run | None, run_b: Run | None) -> StepDiff:
    """The diff of two steps that do the same thing (same process and wildcards)."""
    causes = _dict_causes("params", a.params or {}, b.params or {})
    causes += _dict_causes("code", _code_edges(a, run_a), _code_edges(b, run_b))
    causes += _software_causes(_software(a, run_a), _software(b, run_b))
    ins_a = _data_edges(a.inputs, run_a, skip=set())
    ins_b = _data_edges(b.inputs, run_b, skip=set())
    causes += _dict_causes("inputs", ins_a, ins_b)
    if not causes and (a.command or "") != (b.command or ""):
        ca = _rel_command(a.command, run_a)
        cb = _rel_command(b.command, run_b)
        if ca != cb:
            causes.append(Cause("command", "shell", ca, cb))
    outs = _outputs(store, a, b, run_a, run_b)
    differs = any(o.status != "identical" for o in outs)
    verdict: Verdict = (
        "changed"
        if causes and differs
        else "recipe-only"
        if causes
        else "non-deterministic"
        if differs
        else "same"
    )
    return StepDiff(step_key(a), verdict, a.id, b.id, tuple(causes), tuple(outs))


def _rel_command(cmd: str | None, run: Run | None) -> str:
    text = cmd or ""
    for base in _bases(run):
        text = text.replace(base.rstrip("/") + "/", "")
    return text


def _outputs(
    store: Store, a: Step, b: Step, run_a: Run | None, run_b: Run | None
) -> list[OutputDiff]:
    oa = _data_edges(a.outputs, run_a, skip=_skip_paths(a))
    ob = _data_edges(b.outputs, run_b, skip=_skip_paths(b))
    hashes = {h for h in (*oa.values(), *ob.values()) if h}
    contents = store.contents(hashes)
    out = []
    for path in sorted(oa.keys() | ob.keys()):
        ha, hb = oa.get(path), ob.get(path)
        if path not in ob:
            out.append(OutputDiff(path, ha, None, "only-a"))
        elif path not in oa:
            out.append(OutputDiff(path, None, hb, "only-b"))
        elif ha == hb and ha is not None:
            out.append(OutputDiff(path, ha, hb, "identical", 0))
        else:
            ca = contents.get(ha) if ha else None
            cb = contents.get(hb) if hb else None
            d = hamming(ca.data_code, cb.data_code, bits=64)[0] if ca and cb else None
            near = d is not None and d <= NEAR_BITS
            out.append(OutputDiff(path, ha, hb, "near-identical" if near else "different", d))
    return out


def diff_steps(
    store: Store, steps_a: list[Step], steps_b: list[Step], label_a: str, label_b: str
) -> RunDiff:
    """Match two step lists by :func:`step_key` and compare each pair.

    When a key occurs more than once on a side (a rule re-run within one selection), the
    latest step of that key is compared.
    """
    runs: dict[str, Run | None] = {}

    def run_of(s: Step) -> Run | None:
        if s.run not in runs:
            try:
                runs[s.run] = store.run(s.run)
            except Exception:
                runs[s.run] = None
        return runs[s.run]

    def latest(steps: list[Step]) -> dict[str, Step]:
        out: dict[str, Step] = {}
        for s in sorted(steps, key=lambda s: (s.started or "", s.id)):
            out[step_key(s)] = s
        return out

    la, lb = latest(steps_a), latest(steps_b)
    rows: list[tuple[str, StepDiff]] = []
    for key in la.keys() | lb.keys():
        a, b = la.get(key), lb.get(key)
        if a is not None and b is not None:
            d = compare_pair(store, a, b, run_of(a), run_of(b))
            when = min(a.started or "", b.started or "")
        elif a is not None:
            d = StepDiff(key, "only-a", a.id, None)
            when = a.started or ""
        else:
            assert b is not None
            d = StepDiff(key, "only-b", None, b.id)
            when = b.started or ""
        rows.append((when, d))
    ordered = sorted(rows, key=lambda r: (r[0], r[1].key))
    return RunDiff(label_a, label_b, tuple(d for _, d in ordered))
