"""Lineage queries: identify a file by content, trace it back to sources, walk its impact.

Works on a :class:`~iscc_lineage.store.Store` and returns :class:`~iscc_lineage.model.Lineage`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from iscc_lineage.codes import FingerprintCache, fingerprint_path
from iscc_lineage.errors import EmptyContentError, NotFoundError
from iscc_lineage.model import Content, Edge, Fingerprint, Lineage, Step
from iscc_lineage.store import Store

__all__ = [
    "Flow",
    "LineageGraph",
    "graph",
    "identify",
    "impact",
    "links",
    "node_key",
    "step_key",
    "trace",
    "walk",
]


def identify(store: Store, path: Path, *, cache: FingerprintCache | None = None
             ) -> tuple[Fingerprint, Content | None]:
    """Fingerprint ``path`` and look its content up (by full datahash, never a prefix)."""
    fp = fingerprint_path(path, cache=cache)
    return fp, store.content(fp.datahash)


def walk(store: Store, datahash: str, direction: Literal["trace", "impact"],
         depth: int | None = None) -> Lineage:
    """Everything upstream (``trace``) or downstream (``impact``) of a content, across runs.

    :raises NotFoundError: the content is not in the store.
    :raises EmptyContentError: the content is empty (shared by every empty file).
    """
    target = store.content(datahash)
    if target is None:
        raise NotFoundError(f"content {datahash} is not in the store")
    if target.size == 0:
        raise EmptyContentError(f"content {datahash} is empty; every empty file shares it, "
                                "so it names no lineage")
    found = store.steps_by_id(store.walk(datahash, direction, depth))
    hashes = {target.datahash}
    for s in found:
        hashes.update(e.datahash for e in (*s.inputs, *s.outputs) if e.datahash)
    containers = store.containers(hashes)
    steps = _nearest_first(found, datahash, direction, containers)
    contents = store.contents(hashes)
    far = {e.datahash for s in steps
           for e in (s.inputs if direction == "trace" else s.outputs) if e.datahash}
    if not steps:
        far = {target.datahash}
    ends = store.never(far, "generated" if direction == "trace" else "used")
    if direction == "trace":  # an acquisition step reads no content: its outputs are raw data
        ends |= {e.datahash for s in steps if not s.inputs for e in s.outputs if e.datahash}
    return Lineage(direction, target, tuple(steps), contents,
                   tuple(sorted((contents[h] for h in ends), key=lambda c: c.paths)), containers)


def trace(store: Store, datahash: str, depth: int | None = None) -> Lineage:
    """Walk back from a content through every step that led to it, to the raw sources.

    Sources are contents no recorded step generated, and the outputs of acquisition steps
    (steps that read no content, such as an instrument export recorded as a step).
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
    role: Literal["used", "generated", "member"]  #: member: directory -> a file inside it
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
        for role, edges in (("used", s.inputs), ("generated", s.outputs)):
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
    return LineageGraph(lin, contents, steps, locations, tuple(flows))


def links(steps: Iterable[Step], direction: str,
          containers: dict[str, str] | None = None) -> dict[str, list[Step]]:
    """Node (see :func:`node_key`) -> the steps that generated it (trace) or used it (impact).

    Pass-through edges (a step that used and generated the same content) are left out. With
    ``containers`` (member -> directory), a directory's generator also generated its member
    files (trace), and a step that used a member file used its directory (impact).
    """
    near, far = ("outputs", "inputs") if direction == "trace" else ("inputs", "outputs")
    members: dict[str, list[str]] = {}
    for member, tree in (containers or {}).items():
        members.setdefault(tree, []).append(member)
    by_near: dict[str, list[Step]] = {}
    for s in steps:
        other = {node_key(s, e) for e in getattr(s, far)}
        for e in getattr(s, near):
            key = node_key(s, e)
            if key in other:
                continue
            if direction == "trace":
                keys = [key, *members.get(key, ())]
            else:
                keys = [key] + ([containers[key]] if containers and key in containers else [])
            for k in keys:
                by_near.setdefault(k, []).append(s)
    return by_near


def _nearest_first(steps: list[Step], start: str, direction: str,
                   containers: dict[str, str]) -> list[Step]:
    """Order steps by their distance from the start content (BFS), ties by end time."""
    far = "inputs" if direction == "trace" else "outputs"
    by_near = links(steps, direction, containers)
    order: list[Step] = []
    placed: set[str] = set()
    frontier = {start}
    while frontier:
        level = {s.id: s for h in frontier for s in by_near.get(h, ()) if s.id not in placed}
        ranked = sorted(level.values(), key=lambda s: (s.ended or "", s.id), reverse=True)
        order.extend(ranked)
        placed.update(level)
        frontier = {node_key(s, e) for s in ranked for e in getattr(s, far)}
    return order + [s for s in steps if s.id not in placed]
