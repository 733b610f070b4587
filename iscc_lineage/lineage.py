"""Lineage queries: identify a file by content, trace it back to sources, walk its impact.

Works on a :class:`~iscc_lineage.store.Store` and returns :class:`~iscc_lineage.model.Lineage`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from iscc_lineage.codes import FingerprintCache, fingerprint_path
from iscc_lineage.codes.pixel import ImageCode, is_bioimage, pixel_codes
from iscc_lineage.errors import AmbiguousError, EmptyContentError, NotFoundError
from iscc_lineage.locations import location
from iscc_lineage.model import Content, Edge, Fingerprint, Lineage, Step
from iscc_lineage.store import Store

__all__ = [
    "DATAHASH",
    "Flow",
    "LineageGraph",
    "Resolved",
    "SamePixels",
    "find_same_pixels",
    "graph",
    "identify",
    "impact",
    "links",
    "node_key",
    "resolve",
    "step_key",
    "trace",
    "walk",
]


def identify(store: Store, path: Path, *, cache: FingerprintCache | None = None
             ) -> tuple[Fingerprint, Content | None]:
    """Fingerprint ``path`` and look its content up (by full datahash, never a prefix)."""
    fp = fingerprint_path(path, cache=cache)
    return fp, store.content(fp.datahash)


DATAHASH = re.compile(r"^1e20[0-9a-f]{64}$")  #: a BLAKE3 multihash, as the store keeps it
How = Literal["content", "iscc", "datahash", "recorded path", "member"]


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a query (a file, an ISCC, a datahash, a recorded path) names in the store."""

    query: str
    how: How  #: how it was found
    fingerprint: Fingerprint | None  #: of the file on disk, when the query is one
    content: Content | None  #: what to walk from; None when the store has no such content
    note: str | None = None  #: what the user should be told about how it was found

    @property
    def datahash(self) -> str:
        if self.content is not None:
            return self.content.datahash
        assert self.fingerprint is not None
        return self.fingerprint.datahash


def resolve(store: Store, query: str, *, cache: FingerprintCache | None = None) -> Resolved:
    """Find what ``query`` names: a file on disk by its content (or, when the file itself was
    never recorded, the recorded directory that holds it), an ``ISCC:…`` code, a ``1e20…``
    datahash, or a path that is gone but was recorded (its newest recorded content).

    :raises NotFoundError: a code or datahash that no recorded content has.
    :raises AmbiguousError: an ISCC-SUM shared by several recorded contents.
    :raises FingerprintError: a path that is neither on disk nor recorded.
    """
    path = Path(query)
    if not os.path.lexists(path):
        if query[:5].upper() == "ISCC:":
            code = "ISCC:" + query[5:].upper()
            found = store.contents_by_iscc(code)
            if len(found) > 1:
                raise AmbiguousError(f"{code} is the ISCC-SUM of {len(found)} recorded contents "
                                     f"({', '.join(c.datahash[:16] for c in found)}); "
                                     "ask by datahash")
            if not found:
                raise NotFoundError(f"{code}: no recorded content has this ISCC-SUM")
            return Resolved(query, "iscc", None, found[0])
        if DATAHASH.match(query.lower()):
            content = store.content(query.lower())
            if content is None:
                raise NotFoundError(f"{query}: no recorded content has this datahash")
            return Resolved(query, "datahash", None, content)
        recorded = store.recorded_at(location(path))
        if recorded:
            content, when, run = recorded[0]
            note = (f"{query}: not on disk; recorded content {content.iscc} "
                    f"(seen {when[:19].replace('T', ' ')}"
                    f"{f' in run {run[:12]}' if run else ''})")
            if len(recorded) > 1:
                older = ", ".join(c.iscc for c, _, _ in recorded[1:4])
                note += (f"; {len(recorded) - 1} other content(s) were recorded at this path "
                         f"before: {older}{' …' if len(recorded) > 4 else ''}")
            return Resolved(query, "recorded path", None, content, note)
    fp = fingerprint_path(path, cache=cache)
    content = store.content(fp.datahash)
    if content is None and fp.kind == "file" and fp.size > 0:
        holders = store.containing(fp.datahash)
        if holders:
            dirs = store.contents(t for t, _ in holders)
            where = "; ".join(
                f"{(dirs[t].paths or (dirs[t].iscc,))[0] if t in dirs else t}/{m}"
                for t, m in holders[:3])
            note = (f"{query}: not recorded as a file itself; the same content is recorded "
                    f"inside {len(holders)} director{'y' if len(holders) == 1 else 'ies'}: "
                    f"{where}{' …' if len(holders) > 3 else ''}")
            target = Content(0, fp.iscc, fp.datahash, fp.size, fp.data_code,
                             fp.instance_code, "file", (location(path),))
            return Resolved(query, "member", fp, target, note)
    return Resolved(query, "content", fp, content)


def walk(store: Store, datahash: str, direction: Literal["trace", "impact"],
         depth: int | None = None, *, target: Content | None = None, run: str | None = None,
         latest: bool = False) -> Lineage:
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
        raise EmptyContentError(f"content {datahash} is empty; every empty file shares it, "
                                "so it names no lineage")
    found = store.steps_by_id(store.walk(datahash, direction, depth))
    hashes = {target.datahash}
    for s in found:
        hashes.update(e.datahash for e in (*s.inputs, *s.made) if e.datahash)
    containers = store.containers(hashes)
    twins = {h: tuple(ts) for h, ts in store.same_pixels(hashes).items()}
    if run is not None or latest:
        found = _choose(found, datahash, direction, containers, run, latest, twins)
    found, repeats = _fold_repeats(found)
    steps = _nearest_first(found, datahash, direction, containers, twins)
    hashes = {target.datahash}
    for s in steps:
        hashes.update(e.datahash for e in (*s.inputs, *s.made, *s.code_files) if e.datahash)
    twins = {h: ts for h, ts in twins.items() if h in hashes}
    contents = store.contents(hashes | {t for ts in twins.values() for t in ts})
    contents.setdefault(target.datahash, target)
    containers = {m: t for m, t in containers.items() if m in hashes and t in hashes}
    far = {e.datahash for s in steps
           for e in (s.inputs if direction == "trace" else s.made) if e.datahash}
    if not steps:
        far = {target.datahash}
    ends = store.never(far, "generated" if direction == "trace" else "used")
    if direction == "trace":  # an acquisition step reads no content: what it made and the
        # lineage uses (or the target itself) is raw data; its other outputs (a log) are not
        # (or a file with the same image as one of those: a copy in another format)
        used = far | {target.datahash}
        used |= {t for h in used for t in twins.get(h, ())}
        ends |= {e.datahash for s in steps if not s.inputs for e in s.made
                 if e.datahash in used}
    # A representation whose image another step of this lineage made (trace) or used
    # (impact) is not where the lineage ends: it goes on through that other file.
    near = {e.datahash for s in steps
            for e in (s.made if direction == "trace" else s.inputs) if e.datahash}
    ends = {h for h in ends if h in near or not near.intersection(twins.get(h, ()))}
    return Lineage(direction, target, tuple(steps), contents,
                   tuple(sorted((contents[h] for h in ends if h in contents),
                                key=lambda c: c.paths)), containers, repeats, twins)


def _signature(s: Step) -> str:
    """What makes two steps the same recipe with the same result (run and times aside)."""
    def edges(es: tuple[Edge, ...]) -> list[tuple[str, str]]:
        return sorted((e.datahash or "", e.path if e.datahash is None else "") for e in es)
    return json.dumps([s.process or s.name, s.command, s.code_datahash, s.params,
                       s.info.get("wildcards"), s.status, edges(s.inputs), edges(s.made)],
                      sort_keys=True, default=str)


def _fold_repeats(steps: list[Step]) -> tuple[list[Step], dict[str, tuple[str, ...]]]:
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


def _choose(steps: list[Step], start: str, direction: str, containers: dict[str, str],
            run: str | None, latest: bool,
            twins: dict[str, tuple[str, ...]] | None = None) -> list[Step]:
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


STEP_PREFIX = "step:"  #: step nodes are ``step:<step id>``; content nodes are datahashes
LOCATION_PREFIX = "location:"  #: ``location:<run>:<path>``: a path without content, in one run


def step_key(step: Step) -> str:
    """The graph node of a step."""
    return STEP_PREFIX + step.id


def node_key(step: Step, edge: Edge) -> str:
    """The graph node an edge of ``step`` touches: its content's datahash, or for a location
    without content (a temp file gone before hashing, a pipe) the path within the step's run.
    """
    return edge.datahash or f"{LOCATION_PREFIX}{step.run}:{edge.path}"


@dataclass(frozen=True, slots=True)
class Flow:
    """An edge of the lineage graph, pointing the way data flowed: content -> step (``used``),
    step -> content (``generated``), or directory -> a file recorded inside it (``member``)."""

    source: str
    target: str
    #: member: directory -> a file inside it; same_pixels: two files holding one image
    role: Literal["used", "generated", "member", "same_pixels"]
    path: str  #: the path the step saw (a member's: its path inside the directory)
    step: Step | None = None  #: None for a member edge
    edge: Edge | None = None


@dataclass(frozen=True, slots=True)
class LineageGraph:
    """The one graph of a lineage that every view draws (terminal tree, SVG, HTML, Mermaid,
    DOT, GraphML): contents, steps and content-less locations as nodes, keyed by
    :func:`node_key` / :func:`step_key`, and every recorded used/generated edge."""

    lineage: Lineage
    contents: dict[str, Content]  #: content nodes (the target included)
    steps: dict[str, Step]  #: step nodes
    locations: dict[str, Flow]  #: location nodes (no content): the first flow touching each
    flows: tuple[Flow, ...]

    @property
    def nodes(self) -> set[str]:
        return {*self.contents, *self.steps, *self.locations}


def graph(lin: Lineage) -> LineageGraph:
    """The lineage as a graph of contents, steps and content-less locations."""
    contents = {lin.target.datahash: lin.target, **lin.contents}
    steps: dict[str, Step] = {}
    locations: dict[str, Flow] = {}
    flows: list[Flow] = []
    for s in lin.steps:
        sk = step_key(s)
        steps[sk] = s
        for role, edges in (("used", s.inputs), ("generated", s.made)):
            for e in edges:
                key = node_key(s, e)
                pair = (key, sk) if role == "used" else (sk, key)
                flow = Flow(*pair, role, e.path, s, e)  # type: ignore[arg-type]
                flows.append(flow)
                if e.datahash is None:
                    locations.setdefault(key, flow)
                elif key not in contents:  # not expected: a lineage holds what it touches
                    contents[key] = Content(0, "", key, 0, "", "")
    for member, tree in sorted(lin.containers.items()):
        if member in contents and tree in contents:
            flows.append(Flow(tree, member, "member", ""))
    made_from: dict[str, set[str]] = {}  # content -> the contents its generators used
    for s in lin.steps:
        for out in s.made:
            if out.datahash:
                made_from.setdefault(out.datahash, set()).update(
                    e.datahash for e in s.inputs if e.datahash)
    for a, others in sorted(lin.twins.items()):
        for b in others:
            if a < b and a in contents and b in contents:
                # the way the data went when one was made from the other (a conversion)
                pair = (b, a) if b in made_from.get(a, ()) else (a, b)
                flows.append(Flow(*pair, "same_pixels", ""))
    return LineageGraph(lin, contents, steps, locations, tuple(flows))


def links(steps: Iterable[Step], direction: str,
          containers: dict[str, str] | None = None) -> dict[str, list[Step]]:
    """Node (see :func:`node_key`) -> the steps that generated it (trace) or used it (impact).

    A step that used and generated the same content (a copy) is linked to it too. With
    ``containers`` (member -> directory), a directory's generator also generated its member
    files (trace), and a step that used a member file used its directory (impact).
    """
    near = "made" if direction == "trace" else "inputs"
    members: dict[str, list[str]] = {}
    for member, tree in (containers or {}).items():
        members.setdefault(tree, []).append(member)
    by_near: dict[str, list[Step]] = {}
    for s in steps:
        for e in getattr(s, near):
            key = node_key(s, e)
            if direction == "trace":
                keys = [key, *members.get(key, ())]
            else:
                keys = [key] + ([containers[key]] if containers and key in containers else [])
            for k in keys:
                by_near.setdefault(k, []).append(s)
    return by_near


def _nearest_first(steps: list[Step], start: str, direction: str,
                   containers: dict[str, str],
                   twins: dict[str, tuple[str, ...]] | None = None) -> list[Step]:
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
        frontier = ({node_key(s, e) for s in ranked for e in getattr(s, far)}
                    | {t for h in frontier for t in (twins or {}).get(h, ())}) - seen
    return order + [s for s in steps if s.id not in placed]


@dataclass(frozen=True, slots=True)
class SamePixels:
    """A recorded content holding the image of a file that is not recorded itself."""

    content: Content
    image: ImageCode  #: the recorded image (its scene is the one within ``content``)
    of_scene: int  #: the matching image's scene within the unrecorded file

    def to_dict(self) -> dict[str, object]:
        return {"datahash": self.content.datahash, "iscc": self.content.iscc,
                "paths": list(self.content.paths), "scene": self.image.scene,
                "file_scene": self.of_scene, "pixel_id": self.image.pixel_id,
                "pixel_iscc": self.image.iscc}


def find_same_pixels(store: Store, path: Path) -> SamePixels | None:
    """The recorded content holding the same pixels as a bioimage at ``path``, or None.

    Equal pixel codes are an exact identity (no threshold). When several recorded files hold
    the image (a CZI and its OME-TIFF copy), the one recorded first is taken: trace and impact
    cross to the others anyway. A uniform image (a blank frame) identifies nothing.
    """
    if not is_bioimage(path):
        return None
    result = pixel_codes(path)
    for image in result.images:
        if image.uniform:
            continue
        found = store.by_pixel_id(image.pixel_id)
        contents = store.contents(h for h, _ in found)
        for datahash, recorded in found:  # ordered by content id: first recorded first
            if datahash in contents:
                return SamePixels(contents[datahash], recorded, image.scene)
    return None
