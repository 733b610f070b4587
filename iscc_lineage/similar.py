"""Find what a file not recorded itself shows: the recorded figure behind a paper's picture.

Pictures (raster, SVG, PDF, slides, paper pages) go from global to local:

1. **Views** of the query: each page (PDF, TIFF, slide), trimmed of uniform borders, and its
   panel tree cut at the gutters; each with a 256-bit Image-Code and ORB keypoints.
2. **Candidates** from the coarse index: the recorded pictures whose page, panel or sub-image
   window codes are nearest to a view's code (``CANDIDATES_PER_VIEW`` per view, plus near-ties).
3. **Verification**: keypoints matched and a similarity transform fitted by RANSAC; a candidate
   counts only with ``MIN_INLIERS`` inliers, a registered correlation of ``MIN_CORRELATION``,
   and at most ``MAX_UNEXPLAINED`` of the query's structure left unexplained (plots in the
   same style share axes, ticks and labels, not their data).
4. **Decision**: verified candidates are ranked by registered pixel residual. One is named only
   if every other is clearly worse: by residual, or where the two recorded pictures differ
   from each other, by how well each explains the query. Otherwise the view is *ambiguous* and
   every candidate not clearly beaten is listed with its evidence.

Other files (and pictures the figure search cannot decode) fall back to the Data-Code
(:func:`similar`: appends and local edits of the same bytes). The pixel work is in
:mod:`iscc_lineage.codes`; this module only orchestrates and talks to the store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from iscc_lineage.codes.image import IMAGE_CODE_SCHEME, image_code, is_image
from iscc_lineage.codes.pictures import (
    CODES_SCHEME,
    DETAIL_SCHEME,
    FIGURE_SUFFIXES,
    INDEX_SCHEME,
    SKIP_SCHEME,
    is_figure,
)
from iscc_lineage.model import Content, Fingerprint
from iscc_lineage.store import Store

if TYPE_CHECKING:
    from iscc_lineage.codes.features import Geometry
    from iscc_lineage.codes.figcodes import CodeIndex, FigureCodes, View

__all__ = [
    "CANDIDATES_PER_VIEW",
    "MARGIN",
    "MIN_CORRELATION",
    "Collected",
    "Evidence",
    "Finding",
    "Match",
    "Policy",
    "Search",
    "collect",
    "decide",
    "figure_search",
    "findings",
    "reindex",
    "similar",
    "uncoded",
]

CANDIDATES_PER_VIEW = 24  #: coarse-stage candidates verified per query view (plus near-ties)
MAX_VERIFY = 64  #: candidates verified per query view in all (bounded work per search)
COARSE_FACTOR = 8  #: the 64-bit scan keeps this many times more owners for the 256-bit re-rank
TIE_BITS = 2  #: (of 64) candidates this close to the last one kept are kept too
MIN_INLIERS = 10  #: RANSAC inliers of a verified candidate
MIN_CORRELATION = 0.80  #: registered correlation below this is not the same picture
MAX_UNEXPLAINED = 0.10  #: share of the query's structure the original may leave unexplained
MARGIN = 0.5  #: a runner-up whose residual exceeds best * (1 + MARGIN) + MARGIN_ABS is beaten
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
    collapsed: int = 0  #: candidates as near as the match but in its own lineage (its sources)

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
    use_pixels: bool = False  #: also beaten where the two differ (measured: more wrong names)


def _beats(a: Evidence, b: Evidence, policy: Policy) -> tuple[bool, dict[str, float]]:
    """Whether ``a`` is clearly better evidence than ``b`` (lower residual by the margin, or
    where the two recorded pictures differ, ``a`` explains the query clearly better)."""
    from iscc_lineage.codes.features import discriminate

    n, ea, eb = discriminate(a.geometry, b.geometry)
    detail = {"differing_pixels": n, "error_best": round(ea, 2), "error_this": round(eb, 2)}
    if b.residual > a.residual * (1 + policy.margin) + policy.margin_abs:
        # ... unless, where the two differ, b explains the query clearly better
        return not (n >= MIN_DIFF_PIXELS and ea >= eb * policy.clear_ratio + CLEAR_LEVELS), detail
    return (policy.use_pixels and n >= MIN_DIFF_PIXELS
            and eb >= ea * policy.clear_ratio + CLEAR_LEVELS), detail


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
    best = ok[0]  # the lowest registered residual; named only if it beats every other
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


def _rerank(code: bytes, coarse: Mapping[int, int], full: Mapping[int, Sequence[bytes]]
            ) -> dict[int, int]:
    """Candidates by full 256-bit distance to their page and panel codes (the 64-bit window
    distance, x4, where that is nearer), the ``CANDIDATES_PER_VIEW`` best plus near-ties."""
    from iscc_lineage.codes.figcodes import hamming256

    score = {cid: min([hamming256(code, c) for c in full.get(cid, ())] + [4 * d64])
             for cid, d64 in coarse.items()}
    order = sorted(score, key=lambda i: (score[i], i))
    if len(order) > CANDIDATES_PER_VIEW:
        kth = score[order[CANDIDATES_PER_VIEW - 1]]
        order = [i for i in order if score[i] <= kth + 4 * TIE_BITS][:MAX_VERIFY]
    return {i: score[i] for i in order}


def collect(views: FigureCodes, index: CodeIndex,
            details: Callable[[Sequence[int]], Mapping[int, FigureCodes]],
            full: Callable[[Sequence[int]], Mapping[int, Sequence[bytes]]] | None = None,
            ) -> Collected:
    """Candidates for every view of a query (64-bit index scan, re-ranked by the full 256-bit
    page and panel codes), each verified by keypoints."""
    from iscc_lineage.codes.figcodes import hamming256, verify_views

    qviews = [v for v in views.views if v.detail is not None]
    pos = {id(v): n for n, v in enumerate(qviews)}
    parents = [pos.get(id(views.views[v.parent]), -1) if v.parent >= 0 else -1
               for v in qviews]
    wide = [index.nearest([v.code], COARSE_FACTOR * CANDIDATES_PER_VIEW) if any(v.code)
            else {} for v in qviews]
    fine = full(sorted({i for found in wide for i in found})) if full is not None else {}
    coarse = [_rerank(v.code, found, fine) for v, found in zip(qviews, wide, strict=True)]
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


@dataclass(slots=True)
class Search:
    """The answer of a figure search: findings per page/panel and the contents they name."""

    findings: list[Finding]
    contents: dict[int, Content]  #: every content a finding names or lists
    notes: list[str]

    def named(self) -> list[Content]:
        """Distinct contents named by a match, in finding order."""
        out: dict[int, Content] = {}
        for f in self.findings:
            if f.match is not None:
                out.setdefault(f.match.content_id, self.contents[f.match.content_id])
        return list(out.values())


def uncoded(store: Store) -> dict[str, str]:
    """Recorded pictures without figure codes (recorded before them): datahash -> a path of
    the content that still exists on disk."""
    import os

    ids = store.contents_lacking([CODES_SCHEME, SKIP_SCHEME], FIGURE_SUFFIXES)
    out: dict[str, str] = {}
    for c in store.contents_by_id(ids).values():
        for p in c.paths:
            if is_figure(Path(p), c.size) and os.path.isfile(p) and os.path.getsize(p) == c.size:
                out[c.datahash] = p
                break
    return out


def reindex(store: Store, on_done: Callable[[int, int], None] | None = None,
            batch: int = 32) -> tuple[int, int]:
    """Compute the figure codes of recorded pictures that have none (lazily, once each).

    A file only counts as the content if its bytes still hash to the recorded datahash.
    Returns (pictures coded, pictures whose file changed or vanished).
    """
    from iscc_lineage.codes import fingerprint_path
    from iscc_lineage.codes.figcodes import picture_rows

    todo = uncoded(store)
    done = changed = 0
    items = sorted(todo.items())
    for start in range(0, len(items), batch):
        chunk = {}
        for h, p in items[start:start + batch]:
            try:
                same = fingerprint_path(Path(p), cache=store).datahash == h
            except (OSError, ValueError):
                same = False
            if same:
                chunk[h] = p
            else:
                changed += 1
                store.add_codes([(h, SKIP_SCHEME, f"{p}: no longer holds this content")])
        if chunk:
            store.add_codes(picture_rows(chunk))
            done += len(chunk)
        if on_done is not None:
            on_done(min(start + batch, len(items)), len(items))
    return done, changed


def figure_search(store: Store, path: Path, policy: Policy = Policy()) -> Search:
    """Search the recorded figures for what the picture at ``path`` shows."""
    from iscc_lineage.codes.figcodes import CodeIndex, FigureCodes, query_views, split_codes

    cache: dict[int, FigureCodes] = {}

    def details(ids: Sequence[int]) -> dict[int, FigureCodes]:
        for cid, value in store.code_values_of(ids, DETAIL_SCHEME).items():
            cache[cid] = FigureCodes.from_detail_value(value)
        return cache

    def full(ids: Sequence[int]) -> dict[int, list[bytes]]:
        return {cid: split_codes(v) for cid, v in store.code_values_of(ids, CODES_SCHEME).items()}

    views = query_views(path)
    found = collect(views, CodeIndex(store.code_values(INDEX_SCHEME)), details, full)
    result = findings(found, policy)
    ids = {e.content_id for f in result for e in f.candidates}
    contents = store.contents_by_id(ids)
    return Search([_collapse(store, f, contents) for f in result], contents, found.notes)


def _collapse(store: Store, f: Finding, contents: Mapping[int, Content]) -> Finding:
    """Among candidates the evidence cannot separate, drop those made into another candidate
    (a raw TIFF and the PNG exported from it with the same pixels): the one made last holds
    the others in its lineage. One left: it is the match; more: still ambiguous."""
    if f.status != "ambiguous":
        return f
    upstream: set[str] = set()
    for e in f.candidates:
        c = contents[e.content_id]
        steps = store.steps_by_id(store.walk(c.datahash, "trace"))
        upstream |= {x.datahash for s in steps for x in s.inputs
                     if x.datahash and x.datahash != c.datahash}
    keep = [e for e in f.candidates if contents[e.content_id].datahash not in upstream]
    dropped = len(f.candidates) - len(keep)
    if not dropped or not keep:
        return f
    status: Literal["match", "ambiguous"] = "match" if len(keep) == 1 else "ambiguous"
    return Finding(f.page, f.box, f.kind, status, keep, f.margin, collapsed=dropped)


@dataclass(frozen=True, slots=True)
class Match:
    """A recorded content near a file that is not recorded itself."""

    content: Content
    distance: int  #: Hamming distance over ``bits``
    bits: int
    method: Literal["image-code", "data-code"]

    def to_dict(self) -> dict[str, object]:
        return {"datahash": self.content.datahash, "iscc": self.content.iscc,
                "paths": list(self.content.paths), "distance": self.distance,
                "bits": self.bits, "method": self.method}


def similar(store: Store, path: Path, fp: Fingerprint, limit: int = 5) -> list[Match]:
    """Recorded contents nearest to ``path``, nearest first.

    Pictures are compared by ISCC Image-Code (survives re-encoding, resizing, annotation);
    other files, and pictures without a near Image-Code, by Data-Code (survives appends and
    local edits of the same bytes). Distances are over 64 bits.
    """
    matches: list[Match] = []
    if is_image(Path(path), fp.size) and (code := image_code(Path(path))) is not None:
        matches = [Match(c, d, 64, "image-code")
                   for c, d in store.nearest_by_code(IMAGE_CODE_SCHEME, code, limit)]
    seen = {m.content.datahash for m in matches}
    matches += [Match(c, d, 64, "data-code")
                for c, d in store.nearest_by_data_code(fp.data_code, limit)
                if c.datahash not in seen and c.datahash != fp.datahash]
    return sorted(matches, key=lambda m: (m.distance, m.method != "image-code"))[:limit]
