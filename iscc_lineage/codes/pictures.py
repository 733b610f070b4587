"""What counts as a picture and where its codes are stored: light, no pixel library.

The recorder (and so the Snakemake logger plugin, in Snakemake's own process) imports this
module; OpenCV and numpy (codes.figcodes) are imported on the first picture only.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CODES_SCHEME",
    "DETAIL_SCHEME",
    "FIGURE_SUFFIXES",
    "INDEX_SCHEME",
    "SKIP_SCHEME",
    "is_figure",
]

INDEX_SCHEME = "figure-index-v1"  #: coarse region codes (read by every search)
CODES_SCHEME = "figure-codes-v1"  #: full 256-bit codes of pages and panels (candidates only)
DETAIL_SCHEME = "figure-detail-v1"  #: keypoints and thumbnails (read for candidates only)
SKIP_SCHEME = "figure-skipped-v1"  #: why a picture has no figure codes (too large, undecodable)
RASTER_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp"})
VECTOR_SUFFIXES = frozenset({".svg", ".pdf", ".eps"})
FIGURE_SUFFIXES = RASTER_SUFFIXES | VECTOR_SUFFIXES
MAX_FILE_BYTES = 256 << 20  #: larger files are raw stacks, not figures: no picture codes


def is_figure(path: Path, size: int) -> bool:
    """Whether a file may be a figure worth picture codes (by suffix and size)."""
    return path.suffix.lower() in FIGURE_SUFFIXES and 0 < size <= MAX_FILE_BYTES
