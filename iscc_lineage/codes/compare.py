"""Tell near-identical candidates apart: which recorded picture explains a query best.

Candidates that all verify by keypoints (a time-lapse frame and its neighbour, a parameter
sweep, a re-run on another seed, a vector original and a raster sibling) are compared with the
query pixel by pixel, at the resolution of the query (capped at ``WORK_SIDE``), from the
recorded file when it is still on disk with its recorded content, else from the stored
thumbnail:

1. **Registration**: the RANSAC similarity of verification, refined by ECC (OpenCV's
   ``findTransformECC``, affine, on blurred pictures) so sub-pixel drift is not mistaken for
   a difference.
2. **Intensity**: a robust linear gain/offset fit of each candidate to the query (brightness,
   contrast, greyscale conversion of the paper; the worst 10 % left out for annotations).
3. **Evidence**: both sides are blurred (``BLUR`` pixels) so anti-aliasing differences of
   renderers (pdfium/cairo against Agg) and JPEG ringing do not decide; pixels no candidate
   explains (a panel letter, a scale bar) are left out. For each pair of candidates: *local*
   evidence where the two differ from each other by more than ``3 x`` the query's own noise
   (which candidate is nearer there, and how much), and *global* evidence over the whole
   region (mean squared error, and in how many of 4x4 blocks the one is nearer) for
   differences below the noise of single pixels (sensor noise of another seed, sub-pixel
   drift). The decision (thresholds) is in :mod:`iscc_lineage.similar.evidence`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from iscc_lineage.codes import figure
from iscc_lineage.codes.figure import Box, Gray

if TYPE_CHECKING:
    from iscc_lineage.codes.features import Detail

__all__ = [
    "WORK_SIDE",
    "Pair",
    "Separation",
    "Source",
    "file_source",
    "query_pages",
    "separate",
    "thumb_source",
]

WORK_SIDE = 512  #: the query view is compared at most at this long side
BLUR = 1.0  #: Gaussian sigma (work pixels) of both sides for the global evidence
BLUR_LOCAL = 2.0  #: ... and for the local evidence (renderers' anti-aliasing, JPEG ringing)
ECC_ITERATIONS = 60
ECC_MAX_MOVE = 0.03  #: a refinement moving a corner further (share of the side) is rejected
ANNOTATION_LEVELS = 40  #: pixels that no candidate explains within this are edits, left out
DIFF_MIN_LEVELS = 6.0  #: candidates "differ" at a pixel by at least this (and 3x the noise)
GRID = 4  #: blocks per side for the global consistency count

Matrix = npt.NDArray[np.float64]
Floats = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Source:
    """Pixels of a candidate: ``gray`` and the map from its page pixels into ``gray``."""

    gray: Gray
    to_img: Matrix  #: 3x3, candidate page px -> pixels of ``gray``
    full: bool  #: the recorded file itself (True) or the stored thumbnail (False)


@dataclass(frozen=True, slots=True)
class Pair:
    """How candidate ``best`` and another candidate explain the query, where they differ."""

    differing: int  #: pixels where the two differ beyond the noise (local evidence)
    error_best: float  #: mean |query - best| there (grey levels, after blur)
    error_other: float  #: mean |query - other| there
    closer: float  #: share of those pixels where best is the nearer one
    mse_best: float  #: mean squared error over the whole compared region
    mse_other: float
    blocks: float  #: share of 4x4 blocks where best has the lower mean squared error

    def to_dict(self) -> dict[str, float | int]:
        return {
            "differing_pixels": self.differing,
            "error_best": round(self.error_best, 3),
            "error_other": round(self.error_other, 3),
            "closer": round(self.closer, 3),
            "mse_best": round(self.mse_best, 3),
            "mse_other": round(self.mse_other, 3),
            "blocks": round(self.blocks, 3),
        }


@dataclass(frozen=True, slots=True)
class Separation:
    """The candidates ranked by how well they explain the query, with pairwise evidence."""

    order: list[int]  #: positions in the given candidate list, best first
    errors: list[float]  #: mean |query - candidate| over the compared region, per position
    pairs: dict[int, Pair]  #: position of another candidate -> its evidence against the best
    noise: float  #: the query's noise (robust sigma of query - best, grey levels)
    pixels: int  #: pixels compared
    full: bool  #: every candidate compared at full resolution (from its file)
    #: per position: share of the query's structure the candidate leaves unexplained
    unexplained: list[float]
    unexplained_edges: list[float]  #: the same over the query's edges only
    #: per position: share of the candidate's edges the query does not show (a same-style
    #: plot's own data lines and bars; an annotation only hides a few percent)
    missing: list[float]


def thumb_source(d: Detail) -> Source:
    """The stored thumbnail of a recorded view (the file is gone or changed)."""
    x0, y0, x1, y1 = d.box
    th, tw = d.thumb.shape
    sx, sy = tw / max(1, x1 - x0), th / max(1, y1 - y0)
    return Source(d.thumb, np.array([[sx, 0, -x0 * sx], [0, sy, -y0 * sy], [0, 0, 1.0]]), False)


def file_source(path: Path, page: int, box: Box) -> Source | None:
    """The recorded file's page, decoded as at capture (bounded, figure.load); None when it
    cannot be decoded or the recorded view does not fit its page."""
    fig = figure.load(path, max_pages=page + 1)
    if len(fig.pages) <= page:
        return None
    gray = fig.pages[page].gray
    if box[2] > gray.shape[1] or box[3] > gray.shape[0]:
        return None
    return Source(gray, np.eye(3), True)


def query_pages(path: Path, side: int) -> dict[int, Gray]:
    """The query's pages, decoded as for its views."""
    return {p.index: p.gray for p in figure.load(path, side=side).pages}


def _resize(gray: Gray, s: float) -> Gray:
    h, w = gray.shape
    size = (max(1, round(w * s)), max(1, round(h * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(gray, size, interpolation=interp), dtype=np.uint8)


def _warp_refined(
    q: Floats, srcf: Floats, m: Matrix, h: int, w: int
) -> tuple[Floats, npt.NDArray[np.bool_]] | None:
    init = m[:2].astype(np.float32)
    warp = init.copy()
    try:
        crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, ECC_ITERATIONS, 1e-5)
        _, warp = cv2.findTransformECC(  # type: ignore[call-overload]
            q, srcf, warp, cv2.MOTION_AFFINE, crit, None, 5
        )
        corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float32).T
        k = float(np.sqrt(abs(np.linalg.det(init[:, :2].astype(np.float64)))))
        move = float(np.abs((warp - init) @ corners).max()) / max(1.0, k * max(h, w))
        if not np.isfinite(move) or move > ECC_MAX_MOVE:
            warp = init
    except cv2.error:
        warp = init
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    out = cv2.warpAffine(srcf, warp, (w, h), flags=flags, borderValue=0.0)
    ones = np.ones(srcf.shape, np.uint8)
    cover = cv2.warpAffine(ones, warp, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
    valid: npt.NDArray[np.bool_] = np.asarray(cv2.erode(cover, np.ones((5, 5), np.uint8)) > 0)
    if valid.sum() < 256:
        return None
    return np.asarray(out, np.float32), valid


def _fit(q: Floats, a: Floats, valid: npt.NDArray[np.bool_]) -> Floats:
    """``a`` mapped onto ``q`` by a robust least-squares gain/offset (worst 10 % left out)."""
    x = a[valid].astype(np.float64)
    y = q[valid].astype(np.float64)
    keep = np.ones(x.size, bool)
    g, o = 1.0, 0.0
    for _ in range(2):
        xs, ys = x[keep], y[keep]
        vx = xs.var()
        g = float(((xs - xs.mean()) * (ys - ys.mean())).mean() / vx) if vx > 1e-6 else 0.0
        o = float(ys.mean() - g * xs.mean())
        err = np.abs(y - (g * x + o))
        keep = err <= np.quantile(err, 0.9)
    return np.asarray(g * a + o, np.float32)


def _pair(
    ea: Floats,
    eb: Floats,
    d: npt.NDArray[np.bool_],
    ga: Floats,
    gb: Floats,
    region: npt.NDArray[np.bool_],
) -> Pair:
    """Local evidence (errors ``ea``/``eb`` where the two differ, ``d``) and global evidence
    (errors ``ga``/``gb`` over the whole ``region``, and per block)."""
    n = int(d.sum())
    if n:
        xa, xb = ea[d], eb[d]
        err_a, err_b, closer = float(xa.mean()), float(xb.mean()), float((xa < xb).mean())
    else:
        err_a = err_b = 0.0
        closer = 0.5
    sa, sb = ga * ga, gb * gb
    h, w = region.shape
    wins = total = 0
    for i in range(GRID):
        for j in range(GRID):
            blk = region[i * h // GRID : (i + 1) * h // GRID, j * w // GRID : (j + 1) * w // GRID]
            if blk.sum() < max(16, 0.02 * region.sum()):
                continue
            sl = (
                slice(i * h // GRID, (i + 1) * h // GRID),
                slice(j * w // GRID, (j + 1) * w // GRID),
            )
            total += 1
            wins += float(sa[sl][blk].mean()) < float(sb[sl][blk].mean())
    return Pair(
        n,
        err_a,
        err_b,
        closer,
        float(sa[region].mean()),
        float(sb[region].mean()),
        wins / total if total else 0.5,
    )


def separate(
    query: Gray, box: Box, cands: Sequence[tuple[Source, Sequence[float]]]
) -> Separation | None:
    """Rank candidates by how well each explains the query view ``box`` of page ``query``.

    ``cands``: each candidate's pixels and the similarity (row-major 2x3) from query page px
    to the candidate's page px (from verification). None when they cannot be compared (no overlap).
    """
    x0, y0, x1, y1 = box
    view = np.ascontiguousarray(query[y0:y1, x0:x1])
    s = min(1.0, WORK_SIDE / max(view.shape))
    qw = _resize(view, s) if s < 1.0 else view
    q = qw.astype(np.float32)
    work_to_page = np.array([[1 / s, 0, x0], [0, 1 / s, y0], [0, 0, 1]], np.float64)
    fitted: list[Floats] = []
    valids: list[npt.NDArray[np.bool_]] = []
    for src, t in cands:
        m = np.vstack([np.asarray(t, np.float64).reshape(2, 3), [0.0, 0.0, 1.0]])
        full = src.to_img @ m @ work_to_page  # query work px -> candidate pixels
        gray = src.gray
        k = float(np.sqrt(abs(np.linalg.det(full[:2, :2]))))
        if k > 1.3:  # the candidate is finer than the query: reduce it first (no aliasing)
            gray = _resize(gray, 1.0 / k)
            full = (
                np.diag([gray.shape[1] / src.gray.shape[1], gray.shape[0] / src.gray.shape[0], 1.0])
                @ full
            )
        got = _warp_refined(q, gray.astype(np.float32), full, *q.shape)
        if got is None:
            return None
        warped, valid = got
        fitted.append(_fit(q, warped, valid))
        valids.append(valid)
    shares = [_unexplained(qw, f, v) for f, v in zip(fitted, valids, strict=True)]
    unexplained = [u for u, _ in shares]
    edges = [e for _, e in shares]
    missing = [  # the other way round: the candidate's edges that the query lacks
        _unexplained(np.clip(np.round(f), 0, 255).astype(np.uint8), q, v, structure=False)[1]
        for f, v in zip(fitted, valids, strict=True)
    ]
    common = np.logical_and.reduce(valids)
    if common.sum() < 256:
        return None
    qg = cv2.GaussianBlur(q, (0, 0), BLUR)
    gerr = [np.abs(qg - cv2.GaussianBlur(f, (0, 0), BLUR)) for f in fitted]
    ql = cv2.GaussianBlur(q, (0, 0), BLUR_LOCAL)
    fl = [cv2.GaussianBlur(f, (0, 0), BLUR_LOCAL) for f in fitted]
    lerr = [np.abs(ql - f) for f in fl]
    region = common & (np.minimum.reduce(gerr) <= ANNOTATION_LEVELS)
    n = int(region.sum())
    if n < 256:
        return None
    means = [float(e[region].mean()) for e in gerr]
    order = sorted(range(len(cands)), key=lambda i: (means[i], i))
    best = order[0]
    sig = [1.4826 * float(np.median(e[region])) for e in lerr]
    pairs = {}
    for i in order[1:]:
        tau = max(DIFF_MIN_LEVELS, 3.0 * max(sig[best], sig[i]))
        d = region & (np.abs(fl[best] - fl[i]) > tau)
        pairs[i] = _pair(lerr[best], lerr[i], d, gerr[best], gerr[i], region)
    full_res = all(src.full for src, _ in cands)
    return Separation(order, means, pairs, sig[best], n, full_res, unexplained, edges, missing)


UNEXPLAINED_LEVELS = 48  #: a query pixel further than this from every nearby fitted pixel


def _unexplained(
    q: Gray, fitted: Floats | Gray, valid: npt.NDArray[np.bool_], structure: bool = True
) -> tuple[float, float]:
    """Of the query's structure (pixels off its background, edges), the share that no pixel of
    the registered, fitted candidate within one pixel explains, and the same over the query's
    edges only (each line and glyph counts by its length, not its area: a plot's data lines
    weigh as much as its filled bars). A plot in the same style (same axes, ticks, labels)
    leaves its own data unexplained; a letter or scale bar a few percent. ``structure=False``
    skips the first share (returned as 0.0)."""
    k = np.ones((3, 3), np.uint8)
    f8 = np.clip(np.round(fitted), 0, 255).astype(np.uint8)
    hi = cv2.dilate(f8, k).astype(np.int16)
    lo = cv2.erode(f8, k).astype(np.int16)
    qq = q.astype(np.int16)
    inner = cv2.erode(valid.astype(np.uint8), k) > 0
    if inner.sum() < 64:
        return 1.0, 1.0
    off = inner & ((qq > hi + UNEXPLAINED_LEVELS) | (qq < lo - UNEXPLAINED_LEVELS))
    grad = cv2.morphologyEx(q, cv2.MORPH_GRADIENT, k) > UNEXPLAINED_LEVELS
    edges = _share(off, inner & grad)
    if not structure:
        return 0.0, edges
    bg = int(np.median(q[inner]))
    return _share(off, inner & ((np.abs(qq - bg) > UNEXPLAINED_LEVELS) | grad)), edges


def _share(off: npt.NDArray[np.bool_], region: npt.NDArray[np.bool_]) -> float:
    """The share of ``region`` that is ``off``; 0.0 for a region too small to say."""
    m = int(region.sum())
    return round(float((off & region).sum()) / m, 4) if m >= 32 else 0.0
