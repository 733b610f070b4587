"""Candidates of each query view, verified by keypoints, and the decision that names one."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from iscc_lineage.codes.compare import Pair, Separation
    from iscc_lineage.codes.features import Geometry
    from iscc_lineage.codes.figcodes import CodeIndex, FigureCodes, View

__all__ = [
    "CANDIDATES_PER_VIEW",
    "MARGIN",
    "MIN_CORRELATION",
    "RIVALS",
    "Collected",
    "Evidence",
    "Finding",
    "Policy",
    "Separator",
    "collect",
    "decide",
    "findings",
]

CANDIDATES_PER_VIEW = 24  #: coarse-stage candidates verified per query view (plus near-ties)
MAX_VERIFY = 64  #: candidates verified per query view in all (bounded work per search)
RIVALS = 512  #: recorded siblings of a search's good hits considered (the newest)
RIVAL_CORRELATION = 0.7  #: a hit this good (and MIN_INLIERS) has its siblings verified too
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
MAX_SEPARATE = 10  #: verified candidates compared pixel by pixel (the rest must be beaten)
EXTRA_RATIO = 3.0  #: ... by a registered residual this many times the best's (+ MARGIN_ABS)
#: Pixel comparison (codes/compare.py) of near-identical candidates: the best is named over
#: another only if, where the two differ beyond the query's noise, its error is SEP_RATIO
#: times smaller (+ SEP_LEVELS grey levels) and it is the nearer one at SEP_CLOSER of those
#: pixels; where they differ nowhere beyond the noise, its mean squared error must be SEP_RATIO
#: times smaller and lower in SEP_BLOCKS of the 4x4 blocks. From thumbnails (the recorded
#: file is gone or changed) the ratios are THUMB_RATIO and THUMB_BLOCKS.
SEP_RATIO = 1.5
SEP_LEVELS = 2.0
SEP_CLOSER = 0.75
SEP_BLOCKS = 0.9
SEP_MSE = 0.05  #: grey levels squared: below this no global difference counts
GLOBAL_RATIO = 1.2
SEP_MIN_PIXELS = 40  #: differing pixels (and 0.2 % of the region) for local evidence
MAX_UNEXPLAINED_PIXELS = 0.12
MAX_UNEXPLAINED_EDGES = 1.0
MAX_MISSING = 0.02  #: share of the candidate's edges the query lacks (chosen on the sweep)
THUMB_RATIO = 2.5
THUMB_BLOCKS = 0.95


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
        return {
            "method": "keypoints+ransac",
            "distance": self.distance,
            "bits": 256,
            "inliers": g.inliers,
            "matches": g.matches,
            "residual": g.residual,
            "correlation": g.correlation,
            "unexplained": g.unexplained,
            "overlap": g.overlap,
            "scale": g.scale,
            "box_in_original": [round(v, 1) for v in g.box],
            "page_in_original": self.region.page,
            "region_kind": self.region.kind,
        }


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
    #: pixel comparison against the best: content id -> evidence (codes.compare.Pair.to_dict)
    separation: dict[int, dict[str, float | int]] = field(default_factory=dict)
    resolution: str | None = None  #: "file" / "thumbnail": what the pixel comparison used

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
    separate: bool = True  #: compare near-identical candidates pixel by pixel (compare.py)
    sep_ratio: float = SEP_RATIO
    sep_closer: float = SEP_CLOSER
    sep_blocks: float = SEP_BLOCKS
    global_ratio: float = GLOBAL_RATIO
    thumb_ratio: float = THUMB_RATIO
    thumb_blocks: float = THUMB_BLOCKS
    #: share of the query's structure a candidate may leave unexplained when compared at the
    #: query's resolution (a same-style plot leaves its data lines and bars)
    max_unexplained_pixels: float = MAX_UNEXPLAINED_PIXELS
    max_unexplained_edges: float = MAX_UNEXPLAINED_EDGES  #: the same over the query's edges
    max_missing: float = MAX_MISSING  #: share of the candidate's edges the query lacks


class Separator(Protocol):
    """Compares a view's verified candidates with the query pixel by pixel."""

    def __call__(self, pos: int, cands: Sequence[Evidence]) -> Separation | None:
        """(position of the view, its candidates) -> their comparison, or None."""

    def vector(self, content_id: int) -> bool:
        """Whether the candidate is a vector figure (SVG, PDF) rendered for the comparison:
        against a raster candidate its pixels compare renderers (anti-aliasing, how embedded
        images are resampled), not content, so the comparison never decides between them."""


def separated(p: Pair, sep: Separation, policy: Policy) -> bool:
    """Whether the pixel comparison clearly prefers the best over the candidate of ``p``:
    where the two differ beyond the noise (local), or over the whole region and in most of its
    blocks (global) without the local evidence pointing the other way."""
    ratio = policy.sep_ratio if sep.full else policy.thumb_ratio
    blocks = policy.sep_blocks if sep.full else policy.thumb_blocks
    local = p.differing >= max(SEP_MIN_PIXELS, 0.002 * sep.pixels)
    decisive = p.error_other >= ratio * p.error_best + SEP_LEVELS
    if local and decisive and p.closer >= policy.sep_closer:
        return True
    contradicts = local and (p.closer < 0.5 or p.error_other < p.error_best)
    gratio = policy.global_ratio if sep.full else policy.thumb_ratio
    return not contradicts and p.mse_other >= gratio * p.mse_best + SEP_MSE and p.blocks >= blocks


def _beats(a: Evidence, b: Evidence, policy: Policy) -> tuple[bool, dict[str, float]]:
    """Whether ``a`` is clearly better evidence than ``b`` (lower residual by the margin, or
    where the two recorded pictures differ, ``a`` explains the query clearly better)."""
    from iscc_lineage.codes.features import discriminate

    n, ea, eb = discriminate(a.geometry, b.geometry)
    detail = {"differing_pixels": n, "error_best": round(ea, 2), "error_this": round(eb, 2)}
    if b.residual > a.residual * (1 + policy.margin) + policy.margin_abs:
        # ... unless, where the two differ, b explains the query clearly better
        return not (n >= MIN_DIFF_PIXELS and ea >= eb * policy.clear_ratio + CLEAR_LEVELS), detail
    return (
        policy.use_pixels and n >= MIN_DIFF_PIXELS and eb >= ea * policy.clear_ratio + CLEAR_LEVELS
    ), detail


def decide(
    view: View,
    evidence: Sequence[Evidence],
    page_scale: float = 1.0,
    policy: Policy = Policy(),
    separator: Separator | None = None,
    pos: int = -1,
) -> Finding:
    """Name the best verified candidate only if every other one is clearly worse."""
    ok = sorted(
        (
            e
            for e in evidence
            if e.geometry.inliers >= policy.min_inliers
            and e.geometry.correlation >= policy.min_correlation
            and e.geometry.unexplained <= policy.max_unexplained
        ),
        key=lambda e: (e.residual, -e.geometry.inliers, e.content_id),
    )
    box = view.source_box(page_scale)
    if not ok:
        return Finding(view.page, box, view.kind, "none")
    if separator is not None and policy.separate:
        f = _by_pixels(view, box, ok, policy, separator, pos)
        if f is not None:
            return f
    best = ok[0]  # the lowest registered residual; named only if it beats every other
    rest = [e for e in ok if e is not best]
    rivals = [e for e in rest if not _beats(best, e, policy)[0]]
    margin = round(rest[0].residual - best.residual, 5) if rest else None
    if rivals:
        return Finding(view.page, box, view.kind, "ambiguous", [best, *rivals], margin)
    return Finding(view.page, box, view.kind, "match", [best, *rest][:4], margin)


def _by_pixels(
    view: View,
    box: tuple[float, float, float, float],
    ok: Sequence[Evidence],
    policy: Policy,
    separator: Separator,
    pos: int,
) -> Finding | None:
    """Decide among near-identical candidates by comparing them with the query pixel by
    pixel; None when they cannot be compared (then the thumbnail residual decides)."""
    cands, extra = list(ok[:MAX_SEPARATE]), list(ok[MAX_SEPARATE:])
    sep = separator(pos, cands)
    if sep is None:
        return None
    keep = [
        e
        for e, u, ue, mi in zip(
            cands, sep.unexplained, sep.unexplained_edges, sep.missing, strict=True
        )
        if u <= policy.max_unexplained_pixels
        and ue <= policy.max_unexplained_edges
        and mi <= policy.max_missing
    ]
    if not keep:
        return Finding(view.page, box, view.kind, "none")
    nearest = cands[sep.order[0]]  # the lowest pixel error of all
    if nearest not in keep:  # contradicting evidence: the nearest does not explain the query
        # while a farther one does; naming the farther one could name a sibling
        order = [cands[i] for i in sep.order if cands[i] in keep]
        return Finding(view.page, box, view.kind, "ambiguous", [nearest, *order][:4])
    # The thresholds only decide whether the nearest explains the query; a candidate that
    # does not is still its rival unless the pixels beat it (they are no proof of another
    # source: a downscaled layout loses fine structure of the original too).
    best = cands[sep.order[0]]
    others = [cands[i] for i in sep.order[1:]]
    vec = separator.vector(best.content_id)
    beaten = {
        cands[i].content_id
        for i, p in sep.pairs.items()
        if separator.vector(cands[i].content_id) == vec and separated(p, sep, policy)
    }
    least = min(e.residual for e in cands)
    rivals = [e for e in others if e.content_id not in beaten]
    rivals += [e for e in extra if e.residual <= EXTRA_RATIO * least + MARGIN_ABS]
    detail: dict[int, dict[str, float | int]] = {
        e.content_id: {
            "unexplained_pixels": u,
            "unexplained_edges": ue,
            "missing_edges": mi,
            "error": round(err, 3),
        }
        for e, u, ue, mi, err in zip(
            cands, sep.unexplained, sep.unexplained_edges, sep.missing, sep.errors, strict=True
        )
    }
    for i, p in sep.pairs.items():
        detail[cands[i].content_id].update(p.to_dict())
    margin = None
    if len(sep.order) > 1:
        margin = round((sep.errors[sep.order[1]] - sep.errors[sep.order[0]]) / 255.0, 5)
    res = "file" if sep.full else "thumbnail"
    status: Literal["match", "ambiguous"] = "ambiguous" if rivals else "match"
    listed = [best, *rivals] if rivals else [best, *others][:4]
    return Finding(view.page, box, view.kind, status, listed, margin, 0, detail, res)


@dataclass(slots=True)
class Collected:
    """Every query view with the evidence of every verified candidate (before deciding)."""

    views: list[View]
    parents: list[int]  #: position of each view's enclosing view in ``views`` (-1: a page)
    evidence: dict[int, list[Evidence]]  #: by position in ``views``
    scales: dict[int, float]  #: page -> page pixels per source pixel
    notes: list[str]
    #: pixel comparisons done, by (view position, candidate ids): reused by other policies
    separations: dict[tuple[int, tuple[int, ...]], Separation | None] = field(default_factory=dict)


def _rerank(
    code: bytes, coarse: Mapping[int, int], full: Mapping[int, Sequence[bytes]]
) -> dict[int, int]:
    """Candidates by full 256-bit distance to their page and panel codes (the 64-bit window
    distance, x4, where that is nearer), the ``CANDIDATES_PER_VIEW`` best plus near-ties."""
    from iscc_lineage.codes.figcodes import hamming256

    score = {
        cid: min([hamming256(code, c) for c in full.get(cid, ())] + [4 * d64])
        for cid, d64 in coarse.items()
    }
    order = sorted(score, key=lambda i: (score[i], i))
    if len(order) > CANDIDATES_PER_VIEW:
        kth = score[order[CANDIDATES_PER_VIEW - 1]]
        order = [i for i in order if score[i] <= kth + 4 * TIE_BITS][:MAX_VERIFY]
    return {i: score[i] for i in order}


def collect(
    views: FigureCodes,
    index: CodeIndex,
    details: Callable[[Sequence[int]], Mapping[int, FigureCodes]],
    full: Callable[[Sequence[int]], Mapping[int, Sequence[bytes]]] | None = None,
    rivals: Callable[[Sequence[int]], Sequence[int]] | None = None,
) -> Collected:
    """Candidates for every view of a query (64-bit index scan, re-ranked by the full 256-bit
    page and panel codes), each verified by keypoints; then, where a view has a good hit, the
    hits' recorded siblings that ``rivals(ids)`` names (what the same rule made, what was
    recorded at the same path), verified too (:func:`_add_rivals`)."""
    from iscc_lineage.codes.figcodes import hamming256, verify_views

    qviews = [v for v in views.views if v.detail is not None]
    pos = {id(v): n for n, v in enumerate(qviews)}
    parents = [pos.get(id(views.views[v.parent]), -1) if v.parent >= 0 else -1 for v in qviews]
    wide = [
        index.nearest([v.code], COARSE_FACTOR * CANDIDATES_PER_VIEW) if any(v.code) else {}
        for v in qviews
    ]
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
    if rivals is not None:
        tried = [set(found) for found in coarse]
        _add_rivals(qviews, evidence, tried, rivals, details, full)
    scales = {v.page: v.detail.page_scale for v in qviews if v.detail is not None}
    return Collected(qviews, parents, evidence, scales, list(views.notes))


def _add_rivals(
    qviews: Sequence[View],
    evidence: dict[int, list[Evidence]],
    tried: Sequence[set[int]],
    rivals: Callable[[Sequence[int]], Sequence[int]],
    details: Callable[[Sequence[int]], Mapping[int, FigureCodes]],
    full: Callable[[Sequence[int]], Mapping[int, Sequence[bytes]]] | None,
) -> None:
    """Verify the siblings of every good hit that the code index did not offer. A named match
    must beat its near-identical siblings (time-lapse frames, parameter sweeps, re-runs on
    other seeds), and the codes of a noisy picture need not find them: a seed sibling of a
    noisy micrograph was measured 124 of 256 bits from its original, as far as unrelated
    pictures, so the index offered the sibling and not the original it was edited from."""
    from iscc_lineage.codes.figcodes import hamming256, verify_views

    good = {
        n: {
            e.content_id
            for e in ev
            if e.geometry.inliers >= MIN_INLIERS and e.geometry.correlation >= RIVAL_CORRELATION
        }
        for n, ev in evidence.items()
    }
    hits = sorted({i for ids in good.values() for i in ids})
    if not hits:
        return
    pool = list(rivals(hits))
    if not pool:
        return
    fine = full(pool) if full is not None else {}
    for n, v in enumerate(qviews):
        if not good.get(n):
            continue
        score = {
            cid: min((hamming256(v.code, c) for c in fine.get(cid, ())), default=256)
            for cid in pool
            if cid not in tried[n]
        }
        todo = sorted(score, key=lambda i: (score[i], i))[:MAX_VERIFY]
        recorded = details(todo) if todo else {}
        for cid in todo:
            tried[n].add(cid)
            codes = recorded.get(cid)
            hit = verify_views(v, codes.views) if codes is not None else None
            if hit is not None:
                region, geom = hit
                evidence[n].append(Evidence(cid, geom, hamming256(v.code, region.code), region))


def findings(
    c: Collected, policy: Policy = Policy(), separator: Separator | None = None
) -> list[Finding]:
    """Walk each page's panel tree from the top: a view whose match covers it is one finding;
    otherwise its panels are searched, down to single panels."""
    done: dict[int, Finding] = {}

    def decided(n: int) -> Finding:  # lazily: a panel is decided only when it is visited
        if n not in done:
            v = c.views[n]
            done[n] = decide(v, c.evidence[n], c.scales.get(v.page, 1.0), policy, separator, n)
        return done[n]

    children: dict[int, list[int]] = {}
    for n, p in enumerate(c.parents):
        children.setdefault(p, []).append(n)

    def visit(n: int) -> list[Finding]:
        f = decided(n)
        covers = f.status != "none" and f.candidates[0].geometry.overlap >= WHOLE_OVERLAP
        if covers or n not in children:
            return [f]
        below = [g for k in children[n] for g in visit(k)]
        if f.status != "none" and all(g.status == "none" for g in below):
            return [f]
        return below

    return [f for root in children.get(-1, []) for f in visit(root)]
