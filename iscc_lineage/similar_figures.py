"""Find the recorded figure a picture shows, from global codes to local evidence.

1. **Views** of the query: each page (PDF, TIFF, slide), trimmed of uniform borders, and each
   panel cut at its gutters; each with a 256-bit Image-Code and ORB keypoints.
2. **Candidates** from the coarse index: the recorded pictures whose page, panel or sub-image
   window codes are nearest to a view's code (``CANDIDATES_PER_VIEW`` per view).
3. **Verification**: keypoints matched and a similarity transform fitted by RANSAC; a candidate
   counts only with ``MIN_INLIERS`` inliers and a registered correlation of ``MIN_CORRELATION``
   (same-style plots share axis labels and ticks, not their data).
4. **Decision**: verified candidates are ranked by registered pixel residual (then inliers).
   One is named only if the runner-up is at least ``MARGIN`` worse; otherwise the view is
   *ambiguous* and every candidate within the margin is listed with its evidence.

Pure orchestration: the pixel work is in :mod:`iscc_lineage.codes`; the store provides
``figure_index()`` (content id, index value) and ``figure_details(ids)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from iscc_lineage.codes.features import Geometry, discriminate
from iscc_lineage.codes.figcodes import (
    CodeIndex,
    FigureCodes,
    View,
    hamming256,
    query_views,
    verify_views,
)

__all__ = [
    "CANDIDATES_PER_VIEW",
    "MARGIN",
    "MIN_CORRELATION",
    "Collected",
    "Evidence",
    "Finding",
    "Policy",
    "collect",
    "decide",
    "findings",
    "search",
]

CANDIDATES_PER_VIEW = 24  #: coarse-stage candidates verified per query view (plus near-ties)
MAX_VERIFY = 96  #: candidates verified per query view in all (bounded work per search)
MIN_INLIERS = 10  #: RANSAC inliers of a verified candidate
MIN_CORRELATION = 0.80  #: registered correlation below this is not the same picture
MAX_UNEXPLAINED = 0.10  #: share of the query's structure the original may leave unexplained
MARGIN = 0.25  #: a runner-up whose residual exceeds best * (1 + MARGIN) + MARGIN_ABS is beaten
MARGIN_ABS = 0.0005
CLEAR_RATIO = 1.25  #: where two candidates differ, the loser's error is this many times larger
CLEAR_LEVELS = 2.0  #: ... and at least this many grey levels larger
MIN_DIFF_PIXELS = 12  #: fewer differing pixels (at thumbnail size) cannot tell two apart
WHOLE_OVERLAP = 0.85  #: a match covering this much of a view stands for the whole view


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a recorded content is (or might be) what a query view shows."""

    content_id: int
    geometry: Geometry
    distance: int  #: Image-Code bits (of 256) between the query view and the matched region
    region: View  #: the matched view of the recorded picture (page or panel)

    @property
    def residual(self) -> float:
        return self.geometry.residual

    def to_dict(self) -> dict[str, object]:
        g = self.geometry
        return {"method": "keypoints+ransac", "distance": self.distance, "bits": 256,
                "inliers": g.inliers, "matches": g.matches, "residual": g.residual,
                "correlation": g.correlation, "unexplained": g.unexplained,
                "overlap": g.overlap, "scale": g.scale,
                "box_in_original": [round(v, 1) for v in g.box],
                "page_in_original": self.region.page, "region_kind": self.region.kind}


@dataclass(slots=True)
class Finding:
    """The answer for one view of the query (a page or a panel)."""

    page: int
    box: tuple[float, float, float, float]  #: in the query's source pixels
    kind: str
    status: Literal["match", "ambiguous", "none"]
    candidates: list[Evidence] = field(default_factory=list)  #: best first
    margin: float | None = None  #: runner-up residual minus best (None: no runner-up)

    @property
    def match(self) -> Evidence | None:
        return self.candidates[0] if self.status == "match" else None


@dataclass(frozen=True, slots=True)
class Policy:
    """The thresholds of a decision (defaults chosen on benchmarks/figures.py)."""

    min_inliers: int = MIN_INLIERS
    min_correlation: float = MIN_CORRELATION
    max_unexplained: float = MAX_UNEXPLAINED
    margin: float = MARGIN
    margin_abs: float = MARGIN_ABS
    clear_ratio: float = CLEAR_RATIO


def _beats(a: Evidence, b: Evidence, policy: Policy) -> tuple[bool, dict[str, float]]:
    """Whether ``a`` is clearly better evidence than ``b`` (lower residual by the margin, or
    where the two recorded pictures differ, ``a`` explains the query clearly better)."""
    n, ea, eb = discriminate(a.geometry, b.geometry)
    detail = {"differing_pixels": n, "error_best": round(ea, 2), "error_this": round(eb, 2)}
    if b.residual > a.residual * (1 + policy.margin) + policy.margin_abs:
        return True, detail
    return (n >= MIN_DIFF_PIXELS and eb >= ea * policy.clear_ratio + CLEAR_LEVELS), detail


def decide(view: View, evidence: Sequence[Evidence], page_scale: float = 1.0,
           policy: Policy = Policy()) -> Finding:
    """Name the best verified candidate only if every other one is clearly worse."""
    ok = sorted((e for e in evidence if e.geometry.inliers >= policy.min_inliers
                 and e.geometry.correlation >= policy.min_correlation
                 and e.geometry.unexplained <= policy.max_unexplained),
                key=lambda e: (e.residual, -e.geometry.inliers, e.content_id))
    box = view.source_box(page_scale)
    if not ok:
        return Finding(view.page, box, view.kind, "none")
    best = ok[0]
    for e in ok[1:]:  # a later candidate that clearly explains the query better takes over
        if _beats(e, best, policy)[0] and not _beats(best, e, policy)[0]:
            best = e
    rest = [e for e in ok if e is not best]
    rivals = [e for e in rest if not _beats(best, e, policy)[0]]
    margin = round(rest[0].residual - best.residual, 5) if rest else None
    if rivals:
        return Finding(view.page, box, view.kind, "ambiguous", [best, *rivals], margin)
    return Finding(view.page, box, view.kind, "match", [best, *rest][:4], margin)


@dataclass(slots=True)
class Collected:
    """Every query view with the evidence of every verified candidate (before deciding)."""

    views: list[View]
    parents: list[int]  #: position of each view's enclosing view in ``views`` (-1: a page)
    evidence: dict[int, list[Evidence]]  #: by position in ``views``
    scales: dict[int, float]  #: page -> page pixels per source pixel
    notes: list[str]


def collect(views: FigureCodes, index: CodeIndex,
            details: Callable[[Sequence[int]], Mapping[int, FigureCodes]]) -> Collected:
    """Coarse candidates for every view of a query, each verified by keypoints."""
    qviews = [v for v in views.views if v.detail is not None]
    pos = {id(v): n for n, v in enumerate(qviews)}
    parents = [pos.get(id(views.views[v.parent]), -1) if v.parent >= 0 else -1
               for v in qviews]
    coarse = [index.nearest([v.code], CANDIDATES_PER_VIEW) if any(v.code) else {}
              for v in qviews]
    ids = sorted({i for found in coarse for i in found})
    recorded = details(ids) if ids else {}
    evidence: dict[int, list[Evidence]] = {}
    for n, (v, found) in enumerate(zip(qviews, coarse, strict=True)):
        evidence[n] = []
        for cid in sorted(found, key=lambda i: (found[i], i))[:MAX_VERIFY]:
            codes = recorded.get(cid)
            hit = verify_views(v, codes.views) if codes is not None else None
            if hit is not None:
                region, geom = hit
                evidence[n].append(Evidence(cid, geom, hamming256(v.code, region.code), region))
    scales = {v.page: v.detail.page_scale for v in qviews if v.detail is not None}
    return Collected(qviews, parents, evidence, scales, list(views.notes))


def findings(c: Collected, policy: Policy = Policy()) -> list[Finding]:
    """Walk each page's panel tree from the top: a view whose match covers it is one finding;
    otherwise its panels are searched, down to single panels."""
    decided = [decide(v, c.evidence[n], c.scales.get(v.page, 1.0), policy)
               for n, v in enumerate(c.views)]
    children: dict[int, list[int]] = {}
    for n, p in enumerate(c.parents):
        children.setdefault(p, []).append(n)

    def visit(n: int) -> list[Finding]:
        f = decided[n]
        covers = f.status != "none" and f.candidates[0].geometry.overlap >= WHOLE_OVERLAP
        if covers or n not in children:
            return [f]
        below = [g for k in children[n] for g in visit(k)]
        if f.status != "none" and all(g.status == "none" for g in below):
            return [f]
        return below

    return [f for root in children.get(-1, []) for f in visit(root)]


def search(path: Path, index_rows: Iterable[tuple[int, str]],
           details: Callable[[Sequence[int]], Mapping[int, FigureCodes]],
           side: int | None = None) -> tuple[list[Finding], list[str]]:
    """Search the recorded figures for what ``path`` shows: findings per page/panel, notes."""
    views = query_views(path, side) if side else query_views(path)
    found = collect(views, CodeIndex(index_rows), details)
    return findings(found), found.notes
