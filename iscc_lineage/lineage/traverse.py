"""Walk a lineage: trace back to sources, impact forward to derivations, across runs."""

from __future__ import annotations

from typing import Any, Literal

from iscc_lineage.errors import EmptyContentError, NotFoundError
from iscc_lineage.lineage.flows import image_key, links, node_key
from iscc_lineage.lineage.fold import fold_repeats
from iscc_lineage.model import Content, Image, Lineage, Step
from iscc_lineage.store import Store

__all__ = ["impact", "trace", "walk"]


def walk(
    store: Store,
    datahash: str,
    direction: Literal["trace", "impact"],
    depth: int | None = None,
    *,
    target: Content | None = None,
    run: str | None = None,
    latest: bool = False,
) -> Lineage:
    """Everything upstream (``trace``) or downstream (``impact``) of a content, across runs.

    ``target`` stands for a content that is not itself recorded (a file inside a recorded
    directory). Where several steps made (trace) or used (impact) one content, ``run``
    follows only those of that run when it has any, and ``latest`` only the newest. Steps
    that repeat another step exactly (same process, command, params, wildcards, contents in
    and out: a deterministic re-run) are folded into the newest; ``Lineage.repeats`` names
    the folded ones.

    :raises NotFoundError: the content is not in the store.
    :raises EmptyContentError: the content is empty (shared by every empty file).
    """
    target = target or store.content(datahash)
    if target is None:
        raise NotFoundError(f"content {datahash} is not in the store")
    if target.size == 0:
        raise EmptyContentError(
            f"content {datahash} is empty; every empty file shares it, so it names no lineage"
        )
    found = store.steps_by_id(store.walk(datahash, direction, depth))
    hashes = {target.datahash}
    for s in found:
        hashes.update(e.datahash for e in (*s.inputs, *s.made) if e.datahash)
    containers = store.containers(hashes)
    twins = {h: tuple(ts) for h, ts in store.same_pixels(hashes).items()}
    if run is not None or latest:
        found = _choose(found, datahash, direction, containers, run, latest, twins)
    found, repeats = fold_repeats(found)
    steps = _nearest_first(found, datahash, direction, containers, twins)
    hashes = {target.datahash}
    for s in steps:
        hashes.update(e.datahash for e in (*s.inputs, *s.made, *s.code_files) if e.datahash)
    twins = {h: ts for h, ts in twins.items() if h in hashes}
    contents = store.contents(hashes | {t for ts in twins.values() for t in ts})
    contents.setdefault(target.datahash, target)
    containers = {m: t for m, t in containers.items() if m in hashes and t in hashes}
    far = {
        e.datahash
        for s in steps
        for e in (s.inputs if direction == "trace" else s.made)
        if e.datahash
    }
    if not steps:
        far = {target.datahash}
    ends = store.never(far, "generated" if direction == "trace" else "used")
    if direction == "trace":  # an acquisition step reads no content: what it made and the
        # lineage uses (or the target itself) is raw data; its other outputs (a log) are not
        # (or a file with the same image as one of those: a copy in another format)
        used = far | {target.datahash}
        used |= {t for h in used for t in twins.get(h, ())}
        ends |= {e.datahash for s in steps if not s.inputs for e in s.made if e.datahash in used}
    # A representation whose image another step of this lineage made (trace) or used
    # (impact) is not where the lineage ends: it goes on through that other file.
    near = {
        e.datahash
        for s in steps
        for e in (s.made if direction == "trace" else s.inputs)
        if e.datahash
    }
    ends = {h for h in ends if h in near or not near.intersection(twins.get(h, ()))}
    return Lineage(
        direction,
        target,
        tuple(steps),
        contents,
        tuple(sorted((contents[h] for h in ends if h in contents), key=lambda c: c.paths)),
        containers,
        repeats,
        twins,
        _images(store, twins, contents),
    )


def _images(
    store: Store, twins: dict[str, tuple[str, ...]], contents: dict[str, Content]
) -> dict[str, Image]:
    """The images the lineage's twins share, keyed by :func:`image_key`: each a node the
    contents holding it point to. A uniform image is none (it joins nothing)."""
    held = sorted({h for h, ts in twins.items() for h in (h, *ts) if h in contents})
    if not held:
        return {}
    groups: dict[str, list[tuple[int, str, Any]]] = {}
    for h, codes in store.images(held).items():
        for code in codes:
            if not code.uniform:
                groups.setdefault(code.pixel_id, []).append((contents[h].id, h, code))
    out: dict[str, Image] = {}
    for pixel_id, reps in sorted(groups.items()):
        reps.sort(key=lambda r: (r[0], r[1]))  # recording order: the first recorded first
        if len({h for _, h, _ in reps}) < 2:
            continue
        first = reps[0][2]
        held_by = tuple(dict.fromkeys(h for _, h, _ in reps))
        out[image_key(pixel_id)] = Image(pixel_id, first.iscc, first.wide, first.name, held_by)
    return out


def _choose(
    steps: list[Step],
    start: str,
    direction: str,
    containers: dict[str, str],
    run: str | None,
    latest: bool,
    twins: dict[str, tuple[str, ...]] | None = None,
) -> list[Step]:
    """Walk from the start again, following at each content only the chosen steps."""
    far = "inputs" if direction == "trace" else "made"
    by_near = links(steps, direction, containers)
    chosen: dict[str, Step] = {}
    frontier = [start]
    seen = {start}
    while frontier:
        key = frontier.pop()
        for t in (twins or {}).get(key, ()):  # the other files of the image go on too
            if t not in seen:
                seen.add(t)
                frontier.append(t)
        options = by_near.get(key, [])
        if run is not None and any(s.run.startswith(run) for s in options):
            options = [s for s in options if s.run.startswith(run)]
        if latest and options:
            newest = max(s.ended or s.started or "" for s in options)
            options = [s for s in options if (s.ended or s.started or "") == newest]
        for s in options:
            if s.id in chosen:
                continue
            chosen[s.id] = s
            for e in getattr(s, far):
                k = node_key(s, e)
                if k not in seen:
                    seen.add(k)
                    frontier.append(k)
    return [s for s in steps if s.id in chosen]


def trace(store: Store, datahash: str, depth: int | None = None) -> Lineage:
    """Walk back from a content through every step that led to it, to the raw sources.

    Sources are contents no recorded step generated, and the outputs of acquisition steps
    (steps that read no content, such as an instrument export recorded as a step) that the
    lineage uses.
    """
    return walk(store, datahash, "trace", depth)


def impact(store: Store, datahash: str, depth: int | None = None) -> Lineage:
    """Walk forward from a content to everything derived from it."""
    return walk(store, datahash, "impact", depth)


def _nearest_first(
    steps: list[Step],
    start: str,
    direction: str,
    containers: dict[str, str],
    twins: dict[str, tuple[str, ...]] | None = None,
) -> list[Step]:
    """Order steps by their distance from the start content (BFS), ties by end time."""
    far = "inputs" if direction == "trace" else "made"
    by_near = links(steps, direction, containers)
    order: list[Step] = []
    placed: set[str] = set()
    frontier = {start}
    seen: set[str] = set()
    while frontier:
        seen |= frontier
        level = {s.id: s for h in frontier for s in by_near.get(h, ()) if s.id not in placed}
        ranked = sorted(level.values(), key=lambda s: (s.ended or "", s.id), reverse=True)
        order.extend(ranked)
        placed.update(level)
        # the other files of an image come one level further than the file itself
        frontier = (
            {node_key(s, e) for s in ranked for e in getattr(s, far)}
            | {t for h in frontier for t in (twins or {}).get(h, ())}
        ) - seen
    return order + [s for s in steps if s.id not in placed]
