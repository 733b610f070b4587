"""Pictures of a lineage: Mermaid and Graphviz DOT text, a layered SVG, a self-contained HTML page.

Pure functions over :class:`~iscc_lineage.model.Lineage`; no drawing library. Contents are
boxes (file name, short ISCC), steps are rounded pills (rule or step name); the target is
highlighted, sources (trace) or derived ends (impact) are marked.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass

from iscc_lineage.lineage import graph
from iscc_lineage.model import Content, Lineage

__all__ = ["to_dot", "to_html", "to_mermaid", "to_svg"]

COL_GAP, ROW_GAP, BOX_H, CHAR_W, PAD = 70, 34, 40, 8.2, 14  # CHAR_W: bold 13 px


@dataclass(slots=True)
class _Node:
    key: str
    label: str
    sub: str
    kind: str  # "content" | "step" | "target" | "end" | "location"
    layer: int
    order: float = 0.0
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0


def _name(c: Content, base: str = "") -> str:
    """The content's first path, relative to ``base`` (the lineage's common directory)."""
    if not c.paths:
        return c.iscc[:18]
    path = c.paths[0].rstrip("/")
    return os.path.relpath(path, base) if base else os.path.basename(path)


def _base(lin: Lineage) -> str:
    """The deepest directory holding every content's first path (for short, distinct names)."""
    dirs = [os.path.dirname(c.paths[0].rstrip("/")) for c in lin.contents.values()
            if c.paths and c.paths[0].startswith("/")]
    try:
        return os.path.commonpath(dirs) if dirs else ""
    except ValueError:
        return ""


def _graph(lin: Lineage) -> tuple[dict[str, _Node], list[tuple[str, str]]]:
    """The nodes and data-flow edges of :func:`~iscc_lineage.lineage.graph`, layered by the
    longest path from the target (so every edge points one way)."""
    lg = graph(lin)
    ends = {c.datahash for c in lin.ends}
    base = _base(lin)
    nodes: dict[str, _Node] = {}
    for key, c in lg.contents.items():
        kind = "target" if key == lin.target.datahash else "end" if key in ends else "content"
        nodes[key] = _Node(key, _name(c, base), c.iscc, kind, 0)
    for key, st in lg.steps.items():
        nodes[key] = _Node(key, st.name, f"run {st.run[:8]}", "step", 0)
    for key, f in lg.locations.items():
        label = os.path.relpath(f.path, base) if base and f.path.startswith("/") \
            else os.path.basename(f.path)
        nodes[key] = _Node(key, label, (f.edge.note if f.edge else None) or "no content",
                           "location", 0)
    edges = sorted({(f.source, f.target) for f in lg.flows})
    _longest_path_layers(nodes, edges, lin.direction, lin.target.datahash)
    return nodes, edges


def _longest_path_layers(nodes: dict[str, _Node], edges: list[tuple[str, str]],
                         direction: str, target: str) -> None:
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
    nodes, edges = _graph(lin)
    ids = {k: f"n{i}" for i, k in enumerate(sorted(nodes, key=lambda k: (nodes[k].layer, k)))}
    lines = ["flowchart LR"]
    for k, n in sorted(nodes.items(), key=lambda kv: ids[kv[0]]):
        lines.append(f"  %% {ids[k]} = {k}")  # the lineage graph's node key, for tools
        text = html.escape(n.label).replace('"', "#quot;")
        shape = f'(["{text}"])' if n.kind == "step" else f'["{text}<br/><small>{n.sub}</small>"]'
        lines.append(f"  {ids[k]}{shape}")
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in edges]
    lines.append("  classDef target fill:#fde68a,stroke:#b45309")
    lines.append("  classDef end fill:#bbf7d0,stroke:#15803d")
    lines.append("  classDef step fill:#e0e7ff,stroke:#4338ca")
    lines.append("  classDef location fill:#f1f5f9,stroke:#94a3b8,stroke-dasharray:4 3")
    for kind in ("target", "end", "step", "location"):
        keys = [ids[k] for k, n in nodes.items() if n.kind == kind]
        if keys:
            lines.append(f"  class {','.join(sorted(keys))} {kind}")
    return "\n".join(lines) + "\n"


def to_dot(lin: Lineage) -> str:
    """Graphviz DOT (``dot -Tsvg``)."""
    nodes, edges = _graph(lin)
    fill = {"target": "#fde68a", "end": "#bbf7d0", "step": "#e0e7ff", "content": "#ffffff",
            "location": "#f1f5f9"}
    out = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for k, n in sorted(nodes.items()):
        label = n.label.replace('"', '\\"') + ("" if n.kind == "step" else f"\\n{n.sub}")
        shape = "box, style=\"rounded,filled\"" if n.kind == "step" else "box, style=filled"
        out.append(f'  "{k}" [label="{label}", shape={shape}, fillcolor="{fill[n.kind]}"];')
    out += [f'  "{a}" -> "{b}";' for a, b in edges]
    return "\n".join(out) + "\n}\n"


def _layout(nodes: dict[str, _Node], edges: list[tuple[str, str]], direction: str) -> None:
    layers: dict[int, list[_Node]] = {}
    for n in nodes.values():
        layers.setdefault(n.layer, []).append(n)
        n.w = max(len(n.label), 0 if n.kind == "step" else 14) * CHAR_W + 2 * PAD
    nbrs: dict[str, list[str]] = {}
    for a, b in edges:
        nbrs.setdefault(a, []).append(b)
        nbrs.setdefault(b, []).append(a)
    for depth in sorted(layers):  # barycenter ordering against the previous layer
        row = layers[depth]
        for i, n in enumerate(sorted(row, key=lambda n: n.label)):
            prev = [nodes[m].order for m in nbrs.get(n.key, ()) if nodes[m].layer == depth - 1]
            n.order = sum(prev) / len(prev) if prev else float(i)
        row.sort(key=lambda n: (n.order, n.label))
        for i, n in enumerate(row):
            n.order = float(i)
    width = [max(n.w for n in layers[d]) for d in sorted(layers)]
    tallest = max(len(r) for r in layers.values())
    last = max(layers)
    x = 20.0
    for d in sorted(layers):
        col = d if direction == "impact" else last - d
        row = layers[col]
        offset = (tallest - len(row)) * (BOX_H + ROW_GAP) / 2
        for i, n in enumerate(row):
            n.x, n.y = x, ROW_GAP + offset + i * (BOX_H + ROW_GAP)
        x += width[col] + COL_GAP


def to_svg(lin: Lineage) -> str:
    """A layered left-to-right SVG: data flows from sources (left) to the target (right)."""
    nodes, edges = _graph(lin)
    _layout(nodes, edges, lin.direction)
    W = max(n.x + n.w for n in nodes.values()) + 20
    H = max(n.y for n in nodes.values()) + BOX_H + 20
    style = {"target": ("#fde68a", "#b45309"), "end": ("#bbf7d0", "#15803d"),
             "step": ("#e0e7ff", "#4338ca"), "content": ("#ffffff", "#475569"),
             "location": ("#f1f5f9", "#94a3b8")}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W:.0f}" height="{H:.0f}" '
             f'viewBox="0 0 {W:.0f} {H:.0f}" font-family="Helvetica, Arial, sans-serif">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#64748b"/>'
             "</marker></defs>"]
    for a, b in edges:
        s, t = nodes[a], nodes[b]
        x1, y1, x2, y2 = s.x + s.w, s.y + BOX_H / 2, t.x, t.y + BOX_H / 2
        if abs(s.layer - t.layer) > 1:  # skips columns: arc over the nodes in between
            top = min(s.y, t.y) - ROW_GAP / 2
            d = (f"M{s.x + s.w / 2:.1f},{s.y:.1f} C{s.x + s.w / 2:.1f},{top:.1f} "
                 f"{t.x + 20:.1f},{top:.1f} {t.x + 20:.1f},{t.y:.1f}")
        else:
            mid = (x1 + x2) / 2
            d = f"M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        parts.append(f'<path data-from="{html.escape(a)}" data-to="{html.escape(b)}" d="{d}" '
                     'fill="none" stroke="#94a3b8" stroke-width="1.5" marker-end="url(#arrow)"/>')
    for n in sorted(nodes.values(), key=lambda n: n.key):
        fill, stroke = style[n.kind]
        rx = BOX_H / 2 if n.kind == "step" else 4
        parts.append(f'<g data-node="{html.escape(n.key)}"><title>{html.escape(n.label)}\n'
                     f'{html.escape(n.sub)}</title>'
                     f'<rect x="{n.x:.1f}" y="{n.y:.1f}" width="{n.w:.1f}" height="{BOX_H}" '
                     f'rx="{rx}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>')
        if n.kind == "step":
            parts.append(f'<text x="{n.x + n.w / 2:.1f}" y="{n.y + 25:.1f}" font-size="13" '
                         f'text-anchor="middle">{html.escape(n.label)}</text></g>')
        else:
            parts.append(f'<text x="{n.x + PAD:.1f}" y="{n.y + 17:.1f}" font-size="13" '
                         f'font-weight="bold">{html.escape(n.label)}</text>'
                         f'<text x="{n.x + PAD:.1f}" y="{n.y + 32:.1f}" font-size="9.5" '
                         f'fill="#475569">{html.escape(n.sub[:19])}…</text></g>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def to_html(lin: Lineage, title: str) -> str:
    """A self-contained page: the SVG graph and a table of every content with its ISCC."""
    rows = "\n".join(
        f"<tr><td>{html.escape(_name(c))}</td><td><code>{c.iscc}</code></td>"
        f"<td>{c.size:,}</td><td>{'<br>'.join(html.escape(p) for p in c.paths)}</td></tr>"
        for c in sorted(lin.contents.values(), key=_name))
    what = "Lineage of" if lin.direction == "trace" else "Impact of"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{what} {html.escape(title)}</title>
<style>body{{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#0f172a}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border-bottom:1px solid #e2e8f0;
padding:4px 10px;text-align:left;vertical-align:top}}code{{font-size:12px}}
.graph{{overflow-x:auto;border:1px solid #e2e8f0;padding:8px}}</style></head><body>
<h1>{what} {html.escape(title)}</h1>
<p>{len(lin.steps)} steps, {len(lin.contents)} contents. Boxes are contents (identified by
ISCC-SUM, ISO 24138), pills are steps; yellow is the target, green the
{"raw sources" if lin.direction == "trace" else "derived ends"}.</p>
<div class="graph">{to_svg(lin)}</div>
<h2>Contents</h2><table><tr><th>name</th><th>ISCC</th><th>bytes</th><th>paths</th></tr>
{rows}</table></body></html>
"""
