"""What an export covers: every step of some runs, or the lineage of some files.

Shared by the RO-Crate and checksum exports. Reads the store only; imports no rocrate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from iscc_lineage.errors import ExportError, NotFoundError
from iscc_lineage.lineage import identify, trace
from iscc_lineage.model import Content, Run, Step
from iscc_lineage.recorder import location
from iscc_lineage.store import Store

__all__ = ["Selection", "select"]


@dataclass(frozen=True, slots=True)
class Selection:
    """The runs and steps an export describes, in a stable order, and the contents they touched.

    ``targets`` are the files named with ``--for`` (their location and content); they are in
    the crate even when no selected step generated them.
    """

    mode: Literal["run", "for"]
    runs: tuple[Run, ...]  #: oldest first
    steps: tuple[Step, ...]  #: by run, then start time, end time and id
    contents: dict[str, Content]  #: by datahash (without paths): all the steps touched
    targets: tuple[tuple[str, Content], ...] = ()
    matches: tuple[dict[str, Any], ...] = ()  #: --similar: how each unrecorded file was matched

    def run_of(self, step: Step) -> Run:
        """The run a selected step belongs to."""
        return next(r for r in self.runs if r.id == step.run)


#: resolves a file that is not recorded to the content it shows, with the evidence (or None)
Resolver = Callable[[Path], "tuple[Content, dict[str, Any]] | None"]


def select(
    store: Store,
    *,
    runs: Sequence[str] = (),
    for_files: Sequence[Path] = (),
    similar: Resolver | None = None,
) -> Selection:
    """Select by run ids (prefixes work), by files' lineage, or else the newest run. With
    both, the files' lineage as far as those runs recorded it (their steps only).

    :raises NotFoundError: a run id matches nothing, a file's content is not recorded, or the
        store holds no run at all.
    :raises ExportError: the runs have no steps (or none in the files' lineage).
    """
    if for_files:
        only = {_run_of(store, ref).id for ref in runs} if runs else None
        return _for_files(store, for_files, only, similar)
    if runs:
        chosen = {r.id: r for r in (_run_of(store, ref) for ref in runs)}
    else:
        newest = store.runs(1)
        if not newest:
            raise NotFoundError("the store holds no runs: record one first")
        chosen = {newest[0].id: newest[0]}
    steps = [s for rid in chosen for s in store.steps_of_run(rid)]
    return _finish(store, "run", list(chosen.values()), steps, ())


def _run_of(store: Store, ref: str) -> Run:
    """A run by id; an exact id first: "r1" is a prefix of "r10" but names its own run."""
    return next((r for r in store.runs() if r.id == ref), None) or store.run(ref)


def _for_files(
    store: Store,
    files: Sequence[Path],
    only: set[str] | None = None,
    similar: Resolver | None = None,
) -> Selection:
    steps: dict[str, Step] = {}
    targets = []
    matches = []
    for path in files:
        fp, content = identify(store, path, cache=store)
        if content is None and similar is not None:
            shown = similar(path)
            if shown is not None:
                content, evidence = shown
                matches.append(
                    {
                        "query": location(path),
                        "query_datahash": fp.datahash,
                        "query_iscc": fp.iscc,
                        "match": evidence,
                    }
                )
        if content is None:
            raise NotFoundError(f"{path}: content {fp.iscc} is not in the lineage store")
        lin = trace(store, content.datahash)
        found = [s for s in lin.steps if only is None or s.run in only]
        if not found:
            raise ExportError(
                f"{path}: no recorded step {'of the given runs ' if only else ''}"
                "generated this content, so it has no lineage to export"
            )
        steps.update((s.id, s) for s in found)
        targets.append((location(path), content))
    known = {r.id: r for r in store.runs()}
    run_ids = sorted({s.run for s in steps.values()})
    sel = _finish(
        store, "for", [known[rid] for rid in run_ids], list(steps.values()), tuple(targets)
    )
    return replace(sel, matches=tuple(matches))


def _finish(
    store: Store,
    mode: Literal["run", "for"],
    runs: list[Run],
    steps: list[Step],
    targets: tuple[tuple[str, Content], ...],
) -> Selection:
    if not steps:
        raise ExportError(
            f"run {', '.join(r.id[:12] for r in runs)} has no recorded steps: nothing to export"
        )
    runs.sort(key=lambda r: (r.started, r.id))
    rank = {r.id: i for i, r in enumerate(runs)}
    steps.sort(key=lambda s: (rank[s.run], s.started or s.ended or "", s.ended or "", s.id))
    hashes = {e.datahash for s in steps for e in (*s.inputs, *s.outputs) if e.datahash}
    hashes.update(c.datahash for _, c in targets)
    hashes.update(s.code_datahash for s in steps if s.code_datahash)
    return Selection(mode, tuple(runs), tuple(steps), store.content_rows(hashes), targets)
