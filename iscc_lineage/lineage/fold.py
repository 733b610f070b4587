"""Fold steps that repeat another exactly (a deterministic re-run) into the newest one."""

from __future__ import annotations

import json

from iscc_lineage.model import Edge, Step

__all__ = ["fold_repeats"]


def _signature(s: Step) -> str:
    """What makes two steps the same recipe with the same result (run and times aside)."""

    def edges(es: tuple[Edge, ...]) -> list[tuple[str, str]]:
        return sorted((e.datahash or "", e.path if e.datahash is None else "") for e in es)

    return json.dumps(
        [
            s.process or s.name,
            s.command,
            s.code_datahash,
            s.params,
            s.info.get("wildcards"),
            s.status,
            edges(s.inputs),
            edges(s.made),
        ],
        sort_keys=True,
        default=str,
    )


def fold_repeats(steps: list[Step]) -> tuple[list[Step], dict[str, tuple[str, ...]]]:
    """Keep the newest of each group of identical steps; the others by the kept one's id."""
    groups: dict[str, list[Step]] = {}
    for s in steps:
        groups.setdefault(_signature(s), []).append(s)
    kept, repeats = [], {}
    for group in groups.values():
        group.sort(key=lambda s: (s.ended or s.started or "", s.id), reverse=True)
        kept.append(group[0])
        if len(group) > 1:
            repeats[group[0].id] = tuple(s.id for s in group[1:])
    keep = {s.id for s in kept}
    return [s for s in steps if s.id in keep], repeats
