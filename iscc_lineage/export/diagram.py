"""Pictures of a lineage: the nodes every picture draws, in layers; Mermaid and Graphviz DOT.

Pure functions over :class:`~iscc_lineage.model.Lineage`; no drawing library. Contents are
boxes (file name, short ISCC), steps are rounded pills (rule and wildcards); the target is
highlighted, sources (trace) or derived ends (impact) are marked. The SVG and the HTML page
are drawn by :mod:`~iscc_lineage.export.svg` from :func:`layered`.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass

from iscc_lineage.lineage import STEP_PREFIX, graph
from iscc_lineage.model import Content, Lineage

__all__ = ["Node", "image_links", "layered", "name", "to_dot", "to_mermaid"]


@dataclass(slots=True)
class Node:
    key: str
    label: str
    sub: str
    kind: str  # "content" | "step" | "target" | "end" | "location" | "image"
    layer: int
    title: str = ""  #: the tooltip: what a person wants to know about the node
    order: float = 0.0
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0


def name(c: Content, base: str = "") -> str:
    """The content's first path, relative to ``base`` (the lineage's common directory)."""
    if not c.paths:
        return c.iscc[:18]
    path = c.paths[0].rstrip("/")
    return os.path.relpath(path, base) if base else os.path.basename(path)


def _base(lin: Lineage) -> str:
    """The deepest directory holding every content's first path (for short, distinct names)."""
    dirs = [
        os.path.dirname(c.paths[0].rstrip("/"))
        for c in lin.contents.values()
        if c.paths and c.paths[0].startswith("/")
    ]
    try:
        return os.path.commonpath(dirs) if dirs else ""
    except ValueError:
        return ""


def image_links(lin: Lineage) -> set[tuple[str, str]]:
    """(image node, a file holding it): drawn dashed, without an arrow ("representation")."""
    return {(f.target, f.source) for f in graph(lin).flows if f.role == "representation_of"}


def layered(lin: Lineage) -> tuple[dict[str, Node], list[tuple[str, str]]]:
    """The nodes and data-flow edges of :func:`~iscc_lineage.lineage.graph`, layered by the
    longest path from the target (so every edge points one way). An image node sits one
    layer upstream of the files holding it; its edges come last, as (image, file)."""
    lg = graph(lin)
    ends = {c.datahash for c in lin.ends}
    base = _base(lin)
    nodes: dict[str, Node] = {}
    for key, c in lg.contents.items():
        kind = "target" if key == lin.target.datahash else "end" if key in ends else "content"
        nodes[key] = Node(
            key,
            name(c, base),
            c.iscc,
            kind,
            0,
            f"{c.paths[0] if c.paths else c.iscc}\n{c.iscc}\n{c.size:,} bytes",
        )
    for key, st in lg.steps.items():
        params = ", ".join(f"{k}={v}" for k, v in st.params.items())
        nodes[key] = Node(
            key,
            st.label,
            f"run {st.run[:8]}",
            "step",
            0,
            "\n".join(
                filter(
                    None,
                    (
                        st.label,
                        f"step {st.id[:12]} · run {st.run[:12]} · {st.status}",
                        params and f"params: {params}",
                        st.command or st.code,
                    ),
                )
            ),
        )
    for key, f in lg.locations.items():
        label = (
            os.path.relpath(f.path, base)
            if base and f.path.startswith("/")
            else os.path.basename(f.path)
        )
        nodes[key] = Node(
            key, label, (f.edge.note if f.edge else None) or "no content", "location", 0
        )
    for key, im in lg.images.items():
        held = [name(lg.contents[h], base) for h in im.representations if h in lg.contents]
        nodes[key] = Node(
            key,
            f"image {im.name}" if im.name else "image",
            im.iscc,
            "image",
            0,
            f"image {im.iscc}\npixels {im.pixel_id}\n{len(held)} representations: "
            + ", ".join(held),
        )
    edges = sorted({(f.source, f.target) for f in lg.flows if f.role != "representation_of"})
    held_by = sorted({(f.target, f.source) for f in lg.flows if f.role == "representation_of"})
    # A step that used and made one content (a copy) is a 2-cycle: layer by what it made.
    loops = {(a, b) for a, b in edges if (b, a) in edges and b.startswith(STEP_PREFIX)}
    _longest_path_layers(
        nodes, [e for e in edges if e not in loops], lin.direction, lin.target.datahash
    )
    _image_layers(nodes, held_by, lin.direction)
    return nodes, edges + held_by


def _image_layers(nodes: dict[str, Node], held_by: list[tuple[str, str]], direction: str) -> None:
    """Each image one column before (left of) the first file holding it: the trace's
    columns run from the highest layer, the impact's from layer 0 (then shifted right)."""
    files: dict[str, list[int]] = {}
    for image, file in held_by:
        files.setdefault(image, []).append(nodes[file].layer)
    for image, layers in files.items():
        nodes[image].layer = max(layers) + 1 if direction == "trace" else min(layers) - 1
    low = min((n.layer for n in nodes.values()), default=0)
    if low < 0:
        for n in nodes.values():
            n.layer -= low


def _longest_path_layers(
    nodes: dict[str, Node], edges: list[tuple[str, str]], direction: str, target: str
) -> None:
    """Layer by the longest path to the target, so every edge points one way.

    (BFS distance would put an intermediate and its derivative in one column.) Bounded
    relaxation: a cycle cannot loop forever. A node off the target's paths (a sibling
    output of a traced step, another input of a step in an impact) sits one column
    before the step it touches.
    """
    for n in nodes.values():
        n.layer = 0
    pairs = [(b, a) for a, b in edges] if direction == "impact" else edges
    for _ in range(len(nodes)):
        changed = False
        for a, b in pairs:  # a feeds b (trace); layer(a) >= layer(b) + 1
            if nodes[a].layer < nodes[b].layer + 1:
                nodes[a].layer = nodes[b].layer + 1
                changed = True
        if not changed:
            break
    for a, b in pairs:
        if nodes[b].layer == 0 and b != target:
            nodes[b].layer = max(nodes[b].layer, nodes[a].layer - 1)


def to_mermaid(lin: Lineage) -> str:
    """A Mermaid flowchart (GitHub and GitLab render it in Markdown)."""
    nodes, edges = layered(lin)
    ids = {k: f"n{i}" for i, k in enumerate(sorted(nodes, key=lambda k: (nodes[k].layer, k)))}
    lines = ["flowchart LR"]
    for k, n in sorted(nodes.items(), key=lambda kv: ids[kv[0]]):
        lines.append(f"  %% {ids[k]} = {k}")  # the lineage graph's node key, for tools
        text = html.escape(n.label).replace('"', "#quot;")
        body = f"{text}<br/><small>{n.sub}</small>"
        shape = (
            f'(["{text}"])'
            if n.kind == "step"
            else f'{{{{"{body}"}}}}'
            if n.kind == "image"
            else f'["{body}"]'
        )
        lines.append(f"  {ids[k]}{shape}")
    held = image_links(lin)
    lines += [
        f"  {ids[a]} -. representation .- {ids[b]}"
        if (a, b) in held
        else f"  {ids[a]} --> {ids[b]}"
        for a, b in edges
    ]
    lines.append("  classDef target fill:#fde68a,stroke:#b45309")
    lines.append("  classDef end fill:#bbf7d0,stroke:#15803d")
    lines.append("  classDef step fill:#e0e7ff,stroke:#4338ca")
    lines.append("  classDef location fill:#f1f5f9,stroke:#94a3b8,stroke-dasharray:4 3")
    lines.append("  classDef image fill:#fae8ff,stroke:#a21caf")
    for kind in ("target", "end", "step", "location", "image"):
        keys = [ids[k] for k, n in nodes.items() if n.kind == kind]
        if keys:
            lines.append(f"  class {','.join(sorted(keys))} {kind}")
    return "\n".join(lines) + "\n"


def to_dot(lin: Lineage) -> str:
    """Graphviz DOT (``dot -Tsvg``)."""
    nodes, edges = layered(lin)
    fill = {
        "target": "#fde68a",
        "end": "#bbf7d0",
        "step": "#e0e7ff",
        "content": "#ffffff",
        "location": "#f1f5f9",
        "image": "#fae8ff",
    }
    out = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for k, n in sorted(nodes.items()):
        label = n.label.replace('"', '\\"') + ("" if n.kind == "step" else f"\\n{n.sub}")
        shape = {"step": 'box, style="rounded,filled"', "image": "hexagon, style=filled"}.get(
            n.kind, "box, style=filled"
        )
        out.append(f'  "{k}" [label="{label}", shape={shape}, fillcolor="{fill[n.kind]}"];')
    held = image_links(lin)
    out += [
        f'  "{a}" -> "{b}" [style=dashed, dir=none, label="representation"];'
        if (a, b) in held
        else f'  "{a}" -> "{b}";'
        for a, b in edges
    ]
    return "\n".join(out) + "\n}\n"
