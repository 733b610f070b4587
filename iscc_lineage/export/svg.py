"""A layered SVG of a lineage whose edges never cross a node they do not touch.

Sugiyama-style: nodes sit in columns by their longest path to the target; an edge that skips
columns is routed through a reserved lane (a dummy slot) in every column it crosses, so it
runs through the gaps between boxes, never across one. Columns are ordered by barycentre
sweeps to keep crossings few. A lineage wider than a 1400 px screen is drawn top to bottom.
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass

from iscc_lineage.export.diagram import Node, image_links, layered, name
from iscc_lineage.model import Lineage

__all__ = ["MAX_WIDTH", "to_html", "to_svg"]

MAX_WIDTH = 1360  #: wider left-to-right drawings turn top to bottom (a 1400 px window)
COL_GAP, ROW_GAP, BOX_H, CHAR_W, PAD, LANE = 64, 26, 40, 8.2, 14, 12
TB_GAP = 40  #: between the rows of a top-to-bottom drawing (a screen is wider than tall)
STYLE = {
    "target": ("#fde68a", "#b45309"),
    "end": ("#bbf7d0", "#15803d"),
    "step": ("#e0e7ff", "#4338ca"),
    "content": ("#ffffff", "#475569"),
    "location": ("#f1f5f9", "#94a3b8"),
    "image": ("#fae8ff", "#a21caf"),
}


Lanes = dict[int, tuple[float, float, float]]  #: lane slot -> where it starts, and its run


@dataclass(slots=True)
class _Slot:
    """A node, or the lane of a long edge, in one column."""

    key: str
    col: int
    node: Node | None  #: None for a lane
    order: float = 0.0
    pos: float = 0.0  #: offset along the column (y left to right, x top to bottom)
    size: float = 0.0  #: extent along the column


def to_svg(lin: Lineage, *, max_width: float = MAX_WIDTH) -> str:
    """The lineage as SVG: data flows from the sources (left) to the target; drawn top to
    bottom instead when left to right would be wider than ``max_width``."""
    nodes, edges = layered(lin)
    direction = lin.direction
    if not nodes:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"/>\n'
    for n in nodes.values():
        n.w = max(len(n.label), 0 if n.kind == "step" else 14) * CHAR_W + 2 * PAD
    last = max(n.layer for n in nodes.values())
    col = {k: (n.layer if direction == "impact" else last - n.layer) for k, n in nodes.items()}
    cols, chains, back = _columns(nodes, edges, col)
    _order(cols, chains)
    wide = _extent_lr(cols) > max_width
    place = _place_tb if wide else _place_lr
    width, height, lanes = place(cols)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        'font-family="Helvetica, Arial, sans-serif">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#64748b"/>'
        "</marker></defs>",
    ]
    held = image_links(lin)
    for (a, b), chain in sorted(chains.items()):
        d = _route(chain, lanes, wide)
        parts.append(_edge(a, b, d, image=(a, b) in held))
    for a, b in sorted(back):  # a step that used and made one content: a small loop
        na, nb = nodes[a], nodes[b]
        x1, x2 = na.x + na.w / 2, nb.x + nb.w / 2
        top = min(na.y, nb.y) - 10
        parts.append(
            _edge(
                a,
                b,
                f"M{x1:.1f},{na.y:.1f} C{x1:.1f},{top:.1f} {x2:.1f},{top:.1f} {x2:.1f},{nb.y:.1f}",
                dashed=True,
            )
        )
    for n in sorted(nodes.values(), key=lambda n: n.key):
        parts.append(_box(n))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _edge(a: str, b: str, d: str, *, dashed: bool = False, image: bool = False) -> str:
    if image:  # an image and a file holding it: no data flow, a dashed link
        return (
            f'<path data-from="{html.escape(a)}" data-to="{html.escape(b)}" d="{d}" '
            'fill="none" stroke="#a21caf" stroke-width="1.5" stroke-dasharray="5 3">'
            "<title>representation of the image</title></path>"
        )
    dash = ' stroke-dasharray="4 3"' if dashed else ""
    return (
        f'<path data-from="{html.escape(a)}" data-to="{html.escape(b)}" d="{d}" '
        f'fill="none" stroke="#94a3b8" stroke-width="1.5"{dash} '
        'marker-end="url(#arrow)"/>'
    )


def _box(n: Node) -> str:
    fill, stroke = STYLE[n.kind]
    rx = BOX_H / 2 if n.kind == "step" else 12 if n.kind == "image" else 4
    dash = ' stroke-dasharray="4 3"' if n.kind == "location" else ""
    head = (
        f'<g data-node="{html.escape(n.key)}"><title>{html.escape(n.title or n.label)}'
        f'</title><rect x="{n.x:.1f}" y="{n.y:.1f}" width="{n.w:.1f}" height="{BOX_H}" '
        f'rx="{rx}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}/>'
    )
    if n.kind == "step":
        return (
            head + f'<text x="{n.x + n.w / 2:.1f}" y="{n.y + 25:.1f}" font-size="13" '
            f'text-anchor="middle">{html.escape(n.label)}</text></g>'
        )
    return (
        head + f'<text x="{n.x + PAD:.1f}" y="{n.y + 17:.1f}" font-size="13" '
        f'font-weight="bold">{html.escape(n.label)}</text>'
        f'<text x="{n.x + PAD:.1f}" y="{n.y + 32:.1f}" font-size="9.5" '
        f'fill="#475569">{html.escape(n.sub[:19])}…</text></g>'
    )


def _columns(
    nodes: dict[str, Node], edges: list[tuple[str, str]], col: dict[str, int]
) -> tuple[list[list[_Slot]], dict[tuple[str, str], list[_Slot]], list[tuple[str, str]]]:
    """Slots per column, the chain of slots of every forward edge, and the back edges."""
    cols: list[list[_Slot]] = [[] for _ in range(max(col.values()) + 1)]
    slot = {}
    for k, n in nodes.items():
        slot[k] = _Slot(k, col[k], n, size=BOX_H)
        cols[col[k]].append(slot[k])
    chains: dict[tuple[str, str], list[_Slot]] = {}
    back = []
    for a, b in edges:
        if col[b] <= col[a]:
            back.append((a, b))
            continue
        chain = [slot[a]]
        for c in range(col[a] + 1, col[b]):
            lane = _Slot(f"{a}->{b}@{c}", c, None, size=LANE)
            cols[c].append(lane)
            chain.append(lane)
        chains[(a, b)] = [*chain, slot[b]]
    return cols, chains, back


def _order(cols: list[list[_Slot]], chains: dict[tuple[str, str], list[_Slot]]) -> None:
    """Barycentre sweeps left to right and back: neighbours sit at similar heights."""
    left: dict[int, list[_Slot]] = {}
    right: dict[int, list[_Slot]] = {}
    for chain in chains.values():
        for u, v in itertools.pairwise(chain):
            right.setdefault(id(u), []).append(v)
            left.setdefault(id(v), []).append(u)
    for column in cols:
        column.sort(key=lambda s: (s.node.label if s.node else "~", s.key))
        for i, s in enumerate(column):
            s.order = float(i)
    for sweep in range(8):
        forward = sweep % 2 == 0
        for column in cols[1:] if forward else cols[-2::-1]:
            for s in column:
                nbrs = (left if forward else right).get(id(s), [])
                if nbrs:
                    s.order = sum(n.order for n in nbrs) / len(nbrs)
            column.sort(key=lambda s: (s.order, s.node.label if s.node else "~", s.key))
            for i, s in enumerate(column):
                s.order = float(i)


def _stack(column: list[_Slot], sizes: dict[int, float]) -> float:
    """Offsets along a column: boxes ROW_GAP apart, lanes packed closer."""
    pos = 0.0
    for i, s in enumerate(column):
        if i:
            prev = column[i - 1]
            pos += ROW_GAP if (s.node and prev.node) else ROW_GAP / 2
        s.pos = pos
        s.size = sizes[id(s)]
        pos += s.size
    return pos


def _extent_lr(cols: list[list[_Slot]]) -> float:
    widths = [max((s.node.w for s in c if s.node), default=LANE) for c in cols]
    return 40 + sum(widths) + COL_GAP * (len(cols) - 1)


def _place_lr(cols: list[list[_Slot]]) -> tuple[float, float, Lanes]:
    """Left to right: columns are x, slots stack down. Returns size and lane spans."""
    sizes = {id(s): float(BOX_H if s.node else LANE) for c in cols for s in c}
    extents = [_stack(c, sizes) for c in cols]
    tallest = max(extents)
    lanes: Lanes = {}
    x = 20.0
    for c, extent in zip(cols, extents, strict=True):
        width = max((s.node.w for s in c if s.node), default=LANE)
        shift = 20 + (tallest - extent) / 2
        for s in c:
            if s.node:
                s.node.x, s.node.y = x, shift + s.pos
            else:
                lanes[id(s)] = (x, shift + s.pos + LANE / 2, width)
        x += width + COL_GAP
    return x - COL_GAP + 20, tallest + 40, lanes


def _place_tb(cols: list[list[_Slot]]) -> tuple[float, float, Lanes]:
    """Top to bottom: columns become rows, slots line up across."""
    sizes = {id(s): (s.node.w if s.node else LANE) for c in cols for s in c}
    extents = [_stack(c, sizes) for c in cols]
    widest = max(extents)
    lanes: Lanes = {}
    y = 20.0
    for c, extent in zip(cols, extents, strict=True):
        shift = 20 + (widest - extent) / 2
        for s in c:
            if s.node:
                s.node.x, s.node.y = shift + s.pos, y
            else:
                lanes[id(s)] = (shift + s.pos + LANE / 2, y, BOX_H)
        y += BOX_H + TB_GAP
    return widest + 40, y - TB_GAP + 20, lanes


def _route(chain: list[_Slot], lanes: Lanes, wide: bool) -> str:
    """A path through the chain: curves in the gaps, straight runs along the lanes."""
    first, final = chain[0].node, chain[-1].node
    assert first is not None and final is not None
    points: list[tuple[tuple[float, float], tuple[float, float]]] = []  # (enter, leave)
    for s in chain[1:-1]:
        a, b, run = lanes[id(s)]
        points.append(((a, b), (a, b + run)) if wide else ((a, b), (a + run, b)))
    if wide:
        start = (first.x + first.w / 2, first.y + BOX_H)
        end = (final.x + final.w / 2, final.y)
    else:
        start = (first.x + first.w, first.y + BOX_H / 2)
        end = (final.x, final.y + BOX_H / 2)
    d = f"M{start[0]:.1f},{start[1]:.1f}"
    here = start
    for enter, leave in [*points, (end, end)]:
        d += _curve(here, enter, wide)
        if leave != enter:
            d += f" L{leave[0]:.1f},{leave[1]:.1f}"
        here = leave
    return d


def _curve(p: tuple[float, float], q: tuple[float, float], wide: bool) -> str:
    if wide:
        mid = (p[1] + q[1]) / 2
        return f" C{p[0]:.1f},{mid:.1f} {q[0]:.1f},{mid:.1f} {q[0]:.1f},{q[1]:.1f}"
    mid = (p[0] + q[0]) / 2
    return f" C{mid:.1f},{p[1]:.1f} {mid:.1f},{q[1]:.1f} {q[0]:.1f},{q[1]:.1f}"


def to_html(lin: Lineage, title: str) -> str:
    """A self-contained page: the picture, the steps with their settings, and every content
    with its ISCC and its part in the lineage."""
    ends = {c.datahash for c in lin.ends}
    made = {e.datahash for s in lin.steps for e in s.made if e.datahash}

    def part(h: str) -> str:
        if h == lin.target.datahash:
            return "target"
        if h in ends:
            return "raw source" if lin.direction == "trace" else "derived end"
        if lin.direction == "impact" and h not in made:
            return "other input (not derived)"
        return "intermediate"

    contents = "\n".join(
        f"<tr><td>{html.escape(name(c))}</td><td>{part(c.datahash)}</td>"
        f"<td><code>{c.iscc}</code></td><td>{c.size:,}</td>"
        f"<td>{'<br>'.join(html.escape(p) for p in c.paths)}</td></tr>"
        for c in sorted(lin.contents.values(), key=lambda c: (part(c.datahash), name(c)))
    )
    steps = "\n".join(
        f"<tr><td>{html.escape(s.label)}</td><td>{html.escape(s.status)}</td>"
        f"<td><code>{s.run[:12]}</code></td>"
        f"<td>{html.escape(', '.join(f'{k}={v}' for k, v in s.params.items()))}</td>"
        f"<td><code>{html.escape(s.command or s.code or '')}</code></td></tr>"
        for s in lin.steps
    )
    what = "Lineage of" if lin.direction == "trace" else "Impact of"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{what} {html.escape(title)}</title>
<style>body{{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#0f172a}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border-bottom:1px solid #e2e8f0;
padding:4px 10px;text-align:left;vertical-align:top}}code{{font-size:12px}}
.graph svg{{max-width:100%;height:auto}}.graph{{border:1px solid #e2e8f0;padding:8px}}</style>
</head><body>
<h1>{what} {html.escape(title)}</h1>
<div class="graph">{to_svg(lin)}</div>
<p>{len(lin.steps)} steps, {len(lin.contents)} contents. Boxes are contents (identified by
ISCC-SUM, ISO 24138), pills are steps; yellow is the target, green the
{"raw sources" if lin.direction == "trace" else "derived ends"}; dashed boxes are files
without content (a pipe, a temp file gone before it was fingerprinted). Hover a node for
its paths, parameters and command.</p>
<h2>Steps</h2><table><tr><th>step</th><th>status</th><th>run</th><th>params</th>
<th>command or code</th></tr>
{steps}</table>
<h2>Contents</h2><table><tr><th>name</th><th>part</th><th>ISCC</th><th>bytes</th>
<th>paths</th></tr>
{contents}</table></body></html>
"""
