"""Perceptual similarity of pictures: the ISCC Image-Code, robust to re-encoding and resizing.

A figure re-saved, re-encoded (PNG -> JPEG), resized or annotated for a paper keeps its
Image-Code within a few bits, while its Data-Code moves as far as an unrelated file's
(notes/iscc.md §8). The only module that imports Pillow; without Pillow there are no image codes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import iscc_lib as il

if TYPE_CHECKING:
    from PIL import Image

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
    """The 256-bit ISCC Image-Code of a picture, or None (not decodable, blank, no Pillow).

    Normalised as iscc-sdk does (EXIF orientation, alpha on white, grayscale, 32x32 bicubic),
    except that 16-bit and float images are min-max rescaled to 8 bits first: Pillow's own
    conversion clips them (half of a fluorescence image saturates).
    """
    try:
        from PIL import Image, ImageOps
    except ImportError:  # pragma: no cover - Pillow is a dependency; stay usable without it
        return None
    try:
        with Image.open(path) as img:
            img.seek(0)
            pic = ImageOps.exif_transpose(img) or img
            if pic.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                pic = _rescale(pic.convert("F"))
            elif pic.mode in ("RGBA", "LA", "PA") or "transparency" in pic.info:
                rgba = pic.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                pic = Image.alpha_composite(white, rgba)
            small = pic.convert("L").resize((32, 32), Image.Resampling.BICUBIC)
            pixels = small.tobytes()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        log.debug("%s: no image code: %s", path, exc)
        return None
    code: str = il.gen_image_code_v0(pixels, 256)["iscc"]
    body = il.iscc_decode(code)[4]
    if any(int.from_bytes(body[i:i + 8], "big").bit_count() < MIN_FEATURE_BITS
           for i in range(0, len(body), 8)):
        return None
    return code


def _rescale(img: Image.Image) -> Image.Image:
    """Min-max rescale a float ("F") image to 0..255 so the conversion to "L" does not clip."""
    lo, hi = (float(v) for v in img.getextrema())  # type: ignore[arg-type]
    span = hi - lo
    if span <= 0:
        return img.point(lambda _: 0)
    return img.point(lambda v: (v - lo) * 255.0 / span)
