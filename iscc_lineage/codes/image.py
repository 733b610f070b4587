"""Perceptual similarity of pictures: the ISCC Image-Code, robust to re-encoding and resizing.

A figure re-saved, re-encoded (PNG -> JPEG), resized or annotated for a paper keeps its
Image-Code within a few bits, while its Data-Code moves as far as an unrelated file's
(notes/iscc.md §8). The only module that imports Pillow; without Pillow there are no image codes.
"""

from __future__ import annotations

import logging
from pathlib import Path

__all__ = [
    "IMAGE_CODE_SCHEME",
    "IMAGE_SUFFIXES",
    "MAX_IMAGE_BYTES",
    "SAME_FIGURE_BITS",
    "image_code",
    "is_image",
]

log = logging.getLogger(__name__)

IMAGE_CODE_SCHEME = "image-code-v0"  #: the content_code scheme under which it is stored
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp"})
MAX_IMAGE_BYTES = 64 << 20  #: larger files (raw stacks) are not decoded for a picture code
SAME_FIGURE_BITS = 12  #: of 64: re-encodes, resizes, scale bars and panel letters stay below
MIN_FEATURE_BITS = 8  #: a 64-bit segment with fewer one-bits is a featureless (blank) image


def is_image(path: Path, size: int) -> bool:
    """Whether a file is a picture worth an Image-Code (by suffix and size)."""
    return path.suffix.lower() in IMAGE_SUFFIXES and 0 < size <= MAX_IMAGE_BYTES


def image_code(path: Path) -> str | None:
    """The 256-bit ISCC Image-Code of a picture's first page, or None (not decodable, blank).

    Decoded as :func:`iscc_lineage.codes.figure.load` does: bounded (a huge JPEG is decoded
    downscaled by the codec, other huge rasters are skipped), 16-bit and float images rescaled
    by percentiles, alpha on white; then 32x32 bicubic grayscale as iscc-sdk.
    """
    from iscc_lineage.codes import figure

    fig = figure.load(path, max_pages=1)
    if not fig.pages:
        log.debug("%s: no image code: %s", path, "; ".join(fig.notes))
        return None
    return figure.image_code_text(fig.pages[0].gray)
