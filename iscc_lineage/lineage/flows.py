"""The one lineage graph every view draws: node keys, data-flow edges, links by node."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from iscc_lineage.model import Content, Edge, Image, Lineage, Step

__all__ = [
    "IMAGE_PREFIX",
    "LOCATION_PREFIX",
    "STEP_PREFIX",
    "Flow",
    "LineageGraph",
    "graph",
    "image_key",
    "links",
    "node_key",
    "step_key",
]


STEP_PREFIX = "step:"  #: step nodes are ``step:<step id>``; content nodes are datahashes


LOCATION_PREFIX = "location:"  #: ``location:<run>:<path>``: a path without content, in one run


IMAGE_PREFIX = "image:"  #: ``image:<pixel_id>``: one image, whichever contents hold it


def image_key(pixel_id: str) -> str:
    """The graph node of an image (see ``codes.pixel.ImageCode.pixel_id``)."""
    return IMAGE_PREFIX + pixel_id


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
    step -> content (``generated``), directory -> a file recorded inside it (``member``), or
    a content -> the image it holds (``representation_of``: a CZI and its OME-TIFF and
    OME-Zarr copies all point to one image node)."""

    source: str
    target: str
    #: member: directory -> a file inside it; representation_of: a file -> the image it holds
    role: Literal["used", "generated", "member", "representation_of"]
    path: str  #: the path the step saw (a member's: its path inside the directory)
    step: Step | None = None  #: None for a member or representation edge
    edge: Edge | None = None


@dataclass(frozen=True, slots=True)
class LineageGraph:
    """The one graph of a lineage that every view draws (terminal tree, SVG, HTML, Mermaid,
    DOT, GraphML): contents, steps, content-less locations and images as nodes, keyed by
    :func:`node_key` / :func:`step_key` / :func:`image_key`, and every recorded
    used/generated edge, plus an edge from each representation to its image."""

    lineage: Lineage
    contents: dict[str, Content]  #: content nodes (the target included)
    steps: dict[str, Step]  #: step nodes
    locations: dict[str, Flow]  #: location nodes (no content): the first flow touching each
    flows: tuple[Flow, ...]
    images: dict[str, Image]  #: image nodes: one per image two or more contents hold

    @property
    def nodes(self) -> set[str]:
        return {*self.contents, *self.steps, *self.locations, *self.images}


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
    images = {
        k: im for k, im in lin.images.items() if any(h in contents for h in im.representations)
    }
    for key, im in sorted(images.items()):
        for h in im.representations:
            if h in contents:
                flows.append(Flow(h, key, "representation_of", ""))
    return LineageGraph(lin, contents, steps, locations, tuple(flows), images)


def links(
    steps: Iterable[Step], direction: str, containers: dict[str, str] | None = None
) -> dict[str, list[Step]]:
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
