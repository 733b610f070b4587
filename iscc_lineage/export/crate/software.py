"""The software that ran, as ``SoftwareApplication`` entities with versions.

A step's ``environment.software`` lists ids of the run's software records (``run.info
["software"]``, see :mod:`iscc_lineage.software`): an interpreter with its installed
distributions, a conda prefix with its packages, an executable resolved on PATH. The rule's
tool lists what ran as ``softwareRequirements``: the interpreter (its python.org release IRI),
each distribution (its PyPI release IRI) or conda package, each executable (with the
``--version`` it printed and its content hash). Absolute ``http`` ids as Process Run Crate 0.5
recommends, where the thing has one. What was only declared (an env YAML Snakemake ignored)
stays the env file entity it already is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from iscc_lineage.export.crate.terms import slug
from iscc_lineage.model import Run, Step

__all__ = ["software_entities"]


def _package(kind: str, p: dict[str, Any], out: dict[str, dict[str, Any]]) -> str:
    """A distribution or package by name and version: a PyPI / anaconda.org IRI when known."""
    name, version = str(p.get("name")), str(p.get("version"))
    channel = str(p.get("channel") or "")
    if kind == "pypi":
        pid = f"https://pypi.org/project/{quote(name)}/{quote(version)}/"
    elif channel.startswith("https://conda.anaconda.org/"):
        pid = (
            f"https://anaconda.org/{quote(channel.rsplit('/', 1)[-1])}/{quote(name)}/"
            f"{quote(version)}"
        )
    else:
        pid = f"#{kind}-{slug(name)}-{slug(version)}"
    if pid not in out:
        ent: dict[str, Any] = {
            "@id": pid,
            "@type": "SoftwareApplication",
            "name": name,
            "softwareVersion": version,
        }
        if pid.startswith("https://"):
            ent["url"] = pid
        if p.get("build"):
            ent["description"] = f"build {p['build']}" + (f" from {channel}" if channel else "")
        out[pid] = ent
    return pid


def _record(rec: dict[str, Any], out: dict[str, dict[str, Any]]) -> list[str]:
    """The entity ids standing for one software record (its interpreter and packages)."""
    kind = rec.get("kind")
    if kind == "python":
        version = str(rec.get("version", ""))
        impl = str(rec.get("implementation") or "CPython")
        sid = (
            f"https://www.python.org/downloads/release/python-{version.replace('.', '')}/"
            if impl == "CPython" and version
            else f"#python-{slug(impl)}-{slug(version)}"
        )
        out.setdefault(
            sid,
            {
                "@id": sid,
                "@type": "SoftwareApplication",
                "name": f"{impl} {version}".strip(),
                "softwareVersion": version,
                **({"url": sid} if sid.startswith("https://") else {}),
            },
        )
        return [sid, *(_package("pypi", d, out) for d in rec.get("distributions") or ())]
    if kind == "conda":
        return [_package("conda", d, out) for d in rec.get("packages") or ()]
    if kind == "container":
        return []  # the job's containerImage says it (actions.py)
    name = str(rec.get("name") or rec.get("path"))
    h = str(rec.get("binary_datahash") or rec.get("path") or "")
    sid = f"#exe-{slug(name)}-{h.removeprefix('1e20')[:16]}"
    ent: dict[str, Any] = {
        "@id": sid,
        "@type": "SoftwareApplication",
        "name": name,
        "description": f"executable {rec.get('path')}"
        + (f" (content {rec['binary_datahash']})" if rec.get("binary_datahash") else ""),
    }
    if rec.get("version"):
        ent["softwareVersion"] = str(rec["version"])
    out.setdefault(sid, ent)
    return [sid]


def software_entities(
    runs: Iterable[Run], steps: Iterable[Step]
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
                by_step.setdefault(s.id, []).extend(_record(rec, out))
    return by_step, [out[k] for k in sorted(out)]
