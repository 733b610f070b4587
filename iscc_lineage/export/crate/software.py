"""The software that ran, as ``SoftwareApplication`` entities with versions.

A step's ``environment.software`` lists ids of the run's software records (``run.info
["software"]``, see :mod:`iscc_lineage.software`): an interpreter with its installed
distributions, a conda prefix with its packages, an executable resolved on PATH. Each record
becomes one ``SoftwareApplication`` (shared by every rule that ran it, linked from the rule's
tool as ``softwareRequirements``); each distribution or package one more, shared across
records by name and version. What was only declared (an env YAML Snakemake ignored) stays the
env file entity it already is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from iscc_lineage.export.crate.terms import refs, slug
from iscc_lineage.model import Run, Step

__all__ = ["software_entities"]


def _package(kind: str, p: dict[str, Any], out: dict[str, dict[str, Any]]) -> str:
    name, version = str(p.get("name")), str(p.get("version"))
    pid = f"#{kind}-{slug(name)}-{slug(version)}"
    if pid not in out:
        ent: dict[str, Any] = {"@id": pid, "@type": "SoftwareApplication", "name": name,
                               "softwareVersion": version}
        if p.get("build"):
            ent["description"] = f"build {p['build']}" + (
                f" from {p['channel']}" if p.get("channel") else "")
        out[pid] = ent
    return pid


def _record(rid: str, rec: dict[str, Any], out: dict[str, dict[str, Any]]) -> str:
    sid = f"#software-{rid.removeprefix('1e20')[:16]}"
    if sid in out:
        return sid
    kind = rec.get("kind")
    ent: dict[str, Any] = {"@id": sid, "@type": "SoftwareApplication"}
    if kind == "python":
        ent["name"] = f"{rec.get('implementation') or 'Python'} {rec.get('version', '')}".strip()
        ent["softwareVersion"] = str(rec.get("version", ""))
        ent["description"] = (f"interpreter {rec.get('executable')} and the "
                              f"{len(rec.get('distributions') or ())} distributions installed "
                              "in its environment (as they ran)")
        reqs = [_package("pypi", d, out) for d in rec.get("distributions") or ()]
    elif kind == "conda":
        ent["name"] = f"conda environment {rec.get('prefix')}"
        ent["description"] = "the packages of the conda prefix the jobs ran in"
        reqs = [_package("conda", d, out) for d in rec.get("packages") or ()]
    elif kind == "container":
        ent["name"] = f"container {rec.get('url')}"
        reqs = []
    else:
        ent["name"] = str(rec.get("name") or rec.get("path"))
        if rec.get("version"):
            ent["softwareVersion"] = str(rec["version"])
        ent["description"] = f"executable {rec.get('path')}" + (
            f" (content {rec['binary_datahash']})" if rec.get("binary_datahash") else "")
        reqs = []
    if reqs:
        ent["softwareRequirements"] = refs(reqs)
    out[sid] = ent
    return sid


def software_entities(runs: Iterable[Run], steps: Iterable[Step]
                      ) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    """(step id -> its software entity ids, the entities in a stable order)."""
    records = {r.id: r.info.get("software") or {} for r in runs}
    out: dict[str, dict[str, Any]] = {}
    by_step: dict[str, list[str]] = {}
    for s in steps:
        recs = records.get(s.run) or {}
        for rid in s.environment.get("software") or ():
            rec = recs.get(rid) if isinstance(recs, dict) else None
            if isinstance(rec, dict):
                by_step.setdefault(s.id, []).append(_record(str(rid), rec, out))
    return by_step, [out[k] for k in sorted(out)]
