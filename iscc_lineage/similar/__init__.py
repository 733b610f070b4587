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
:mod:`iscc_lineage.codes`; this package only orchestrates and talks to the store: evidence
(candidates, verification, the decision), search (figure search on the store), nearest (by
Image-Code or Data-Code).
"""

from iscc_lineage.similar.evidence import (
    CANDIDATES_PER_VIEW,
    MARGIN,
    MIN_CORRELATION,
    Collected,
    Evidence,
    Finding,
    Policy,
    collect,
    decide,
    findings,
)
from iscc_lineage.similar.nearest import Match, similar
from iscc_lineage.similar.search import Search, figure_search, reindex, uncoded

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
