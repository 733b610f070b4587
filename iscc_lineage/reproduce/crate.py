"""A plan from an exported RO-Crate (a folder or a zip): its shipped code, raw data aside."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from iscc_lineage.reproduce.report import Expected, Placed, Plan, ReproduceError

__all__ = ["open_crate", "plan_crate"]


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
            plan.expected.append(
                Expected(
                    rel,
                    step_of.get(eid, "?"),
                    results.get(eid, 0),
                    sha256=e.get("sha256"),
                    iscc=e.get("iscc"),
                )
            )
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
    plan.targets = sorted(
        {x.path for x in plan.expected if x.path not in finals} or {x.path for x in plan.expected}
    )
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
