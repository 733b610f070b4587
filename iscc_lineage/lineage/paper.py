"""The lineage of a whole paper: every panel's matched figure and its lineage in one graph.

A paper (a PDF, a slide) is not recorded; the figure search says which recorded figure each
panel shows. :func:`paper_lineage` walks each matched figure's lineage and joins them into one
:class:`~iscc_lineage.model.Lineage` whose target is the paper, linked to the figures by one
step that is *not* a recorded one: ``figure search`` (its edges name the page and box of each
panel and the evidence). Every view of a lineage (SVG, HTML, Mermaid, DOT, GraphML) draws it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from iscc_lineage.lineage.traverse import walk
from iscc_lineage.model import Content, Edge, Fingerprint, Lineage, Step
from iscc_lineage.store import Store

__all__ = ["SEARCH_STEP", "Panel", "paper_lineage"]

SEARCH_STEP = "figure search"  #: the name of the linking step (found by search, not recorded)


@dataclass(frozen=True, slots=True)
class Panel:
    """A panel of the paper and the recorded figure it shows."""

    page: int  #: 1-based
    box: tuple[float, float, float, float]  #: in the paper page's pixels
    figure: Content
    evidence: str  #: one line: inliers, scale, residual


def paper_lineage(store: Store, paper: Fingerprint, path: str, panels: Sequence[Panel]) -> Lineage:
    """One lineage: the paper (target) <- figure search <- each matched figure <- its lineage."""
    target = Content(
        0,
        paper.iscc,
        paper.datahash,
        paper.size,
        paper.data_code,
        paper.instance_code,
        paper.kind,
        (path,),
    )
    link = Step(
        id=f"figure-search:{paper.datahash}",
        run="",
        name=SEARCH_STEP,
        command=None,
        status="finished",
        info={"recorded": False},
        params={
            "panels": [
                {
                    "page": p.page,
                    "box": [round(v, 1) for v in p.box],
                    "figure": p.figure.paths[0] if p.figure.paths else p.figure.datahash,
                    "evidence": p.evidence,
                }
                for p in panels
            ]
        },
        inputs=tuple(
            Edge(
                f"figure-search:{paper.datahash}",
                "used",
                p.figure.paths[0] if p.figure.paths else p.figure.datahash,
                p.figure.datahash,
                f"page {p.page} [{', '.join(f'{v:.0f}' for v in p.box)}]: {p.evidence}",
            )
            for p in panels
        ),
        outputs=(Edge(f"figure-search:{paper.datahash}", "generated", path, paper.datahash),),
    )
    steps: dict[str, Step] = {link.id: link}
    contents: dict[str, Content] = {paper.datahash: target}
    ends: dict[str, Content] = {}
    containers: dict[str, str] = {}
    repeats: dict[str, tuple[str, ...]] = {}
    twins: dict[str, tuple[str, ...]] = {}
    seen: set[str] = set()
    for p in panels:
        if p.figure.datahash in seen:
            continue
        seen.add(p.figure.datahash)
        lin = walk(store, p.figure.datahash, "trace")
        for s in lin.steps:
            steps.setdefault(s.id, s)
        contents.update({h: c for h, c in lin.contents.items() if h != paper.datahash})
        ends.update({c.datahash: c for c in lin.ends})
        containers.update(lin.containers)
        repeats.update(lin.repeats)
        twins.update(lin.twins)
    return Lineage(
        "trace",
        target,
        tuple(steps.values()),
        contents,
        tuple(sorted(ends.values(), key=lambda c: c.paths)),
        containers,
        repeats,
        twins,
    )
