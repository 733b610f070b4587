"""The verification detail as capture stores it: one keypoint set and one compact view per page.

Before (detail version 1) every page and panel had its own ORB keypoints at ``FEATURE_SIDE``
and its own PNG thumbnail: ~100 KiB per picture in the median, ~800 KiB for a 2x3 figure, and
nine ORB runs per 2 MP figure. Now (version 2) a page gets ORB keypoints once on its
``FEATURE_SIDE`` view and one grey JPEG of that view at ``STORED_AREA`` pixels; a panel's
:class:`~.features.Detail` is the page's keypoints inside its box and a crop of the page view,
built when the detail is loaded. A query still gets keypoints per view (codes.figcodes).
"""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from iscc_lineage.codes.features import (
    FEATURE_SIDE,
    THUMB_SIDE,
    Detail,
    _orb,
    _resize,
    _stretch,
)
from iscc_lineage.codes.figure import Box, Gray

__all__ = ["MAGIC", "PageDetail", "capture_page", "one_thread", "pack_pages", "unpack_pages"]

MAGIC = b"FCv2"  #: a version-2 detail value starts with this (version 1: a 16-bit view count)
STORED_AREA = 400 * 400  #: the stored page view has at most this many pixels
JPEG_QUALITY = 90  #: mean error ~1 grey level: below the sensor noise the residual compares
_PAGE = struct.Struct("<BHHHHffHHHI")  # index, box, fscale, page_scale, n, w, h, jpeg bytes


def one_thread() -> None:
    """OpenCV on one thread: capture runs inside Snakemake's process on a shared node."""
    cv2.setNumThreads(1)


@dataclass(slots=True)
class PageDetail:
    """Keypoints of a page's trimmed view and that view at ``STORED_AREA`` pixels."""

    index: int
    box: Box  #: the trimmed page in page pixels
    fscale: float  #: feature pixels per page pixel
    page_scale: float  #: page pixels per source pixel
    xy: npt.NDArray[np.float32]  #: keypoints in feature pixels of the page view
    desc: npt.NDArray[np.uint8]
    view: Gray  #: the page view, stored as JPEG

    def detail(self, box: Box, whole: bool = False) -> Detail:
        """The Detail of ``box`` (the page itself or a panel inside it): the keypoints in it,
        shifted to its corner, and its part of the stored view (at most THUMB_SIDE² px)."""
        px0, py0, px1, _ = self.box
        x0, y0, x1, y1 = box
        if whole:
            xy, desc = self.xy, self.desc
        else:
            page_xy = self.xy / self.fscale  # page pixels relative to the page box
            inside = (
                (page_xy[:, 0] >= x0 - px0)
                & (page_xy[:, 0] < x1 - px0)
                & (page_xy[:, 1] >= y0 - py0)
                & (page_xy[:, 1] < y1 - py0)
            )
            shift = np.array([(x0 - px0) * self.fscale, (y0 - py0) * self.fscale], np.float32)
            xy = np.ascontiguousarray(self.xy[inside] - shift, dtype=np.float32)
            desc = np.ascontiguousarray(self.desc[inside])
        vs = self.view.shape[1] / max(1, px1 - px0)  # view px per page px
        crop = self.view[
            max(0, round((y0 - py0) * vs)) : max(1, round((y1 - py0) * vs)),
            max(0, round((x0 - px0) * vs)) : max(1, round((x1 - px0) * vs)),
        ]
        h, w = crop.shape
        long_side = round(THUMB_SIDE * math.sqrt(max(h, w) / max(1, min(h, w))))
        thumb, _ = _resize(crop, long_side) if max(h, w) > long_side else (crop, 1.0)
        return Detail(box, self.fscale, xy, desc, np.ascontiguousarray(thumb), self.page_scale)


_SHARE: Any = None


def _share_orb(n: int) -> Any:
    """ORB as features uses it, keeping ``n`` keypoints (one panel's share of the page's)."""
    global _SHARE
    if _SHARE is None:
        o = _orb()
        _SHARE = cv2.ORB_create(  # type: ignore[attr-defined]
            nfeatures=n,
            scaleFactor=o.getScaleFactor(),
            nlevels=o.getNLevels(),
            edgeThreshold=o.getEdgeThreshold(),
            patchSize=o.getPatchSize(),
            fastThreshold=o.getFastThreshold(),
        )
    _SHARE.setMaxFeatures(n)
    return _SHARE


def _keypoints(view: Gray, orb: Any) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8]]:
    kps, desc = orb.detectAndCompute(_stretch(view), None)
    if desc is None or not kps:
        return np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8)
    return np.array([k.pt for k in kps], dtype=np.float32), np.asarray(desc, np.uint8)


def capture_page(
    gray: Gray, box: Box, page_scale: float, index: int, leaves: list[Box] | None = None
) -> PageDetail:
    """ORB keypoints once on the trimmed page ``box`` at FEATURE_SIDE, and the stored view.

    With two or more leaf panels (page pixels) each gets an equal share of the keypoints,
    detected on its own part of the view with its own contrast stretch (a smooth panel next
    to a textured one would otherwise get none); the page's set is their union."""
    x0, y0, x1, y1 = box
    view = np.ascontiguousarray(gray[y0:y1, x0:x1])
    small, fscale = _resize(view, FEATURE_SIDE)
    total = _orb().getMaxFeatures()
    if leaves is None or len(leaves) < 2:
        xy, desc = _keypoints(small, _orb())
    else:
        pad = _orb().getEdgeThreshold() + 1  # ORB drops keypoints this close to an edge
        parts = []
        hh, ww = small.shape
        for a, b, c, d in leaves:
            fx0 = max(0, round((a - x0) * fscale) - pad)
            fy0 = max(0, round((b - y0) * fscale) - pad)
            fx1 = min(ww, round((c - x0) * fscale) + pad)
            fy1 = min(hh, round((d - y0) * fscale) + pad)
            if fx1 - fx0 < 2 * pad or fy1 - fy0 < 2 * pad:
                continue
            pxy, pdesc = _keypoints(
                np.ascontiguousarray(small[fy0:fy1, fx0:fx1]), _share_orb(total // len(leaves))
            )
            parts.append((pxy + np.array([fx0, fy0], np.float32), pdesc))
        if parts:
            xy = np.concatenate([q for q, _ in parts]).astype(np.float32)
            desc = np.concatenate([d for _, d in parts]).astype(np.uint8)
        else:
            xy, desc = _keypoints(small, _orb())
    h, w = small.shape
    s = min(1.0, math.sqrt(STORED_AREA / (h * w)))
    stored, _ = _resize(small, max(1, round(max(h, w) * s))) if s < 1.0 else (small, 1.0)
    return PageDetail(
        index, box, fscale, page_scale, xy, np.ascontiguousarray(desc, np.uint8), stored
    )


def pack_pages(pages: list[PageDetail]) -> bytes:
    """Pages as bytes: header, JPEG view, keypoints (1/8 px, uint16), descriptors."""
    parts = [struct.pack("<B", len(pages))]
    for p in pages:
        buf = io.BytesIO()
        Image.fromarray(p.view).save(buf, format="JPEG", quality=JPEG_QUALITY)
        jpeg = buf.getvalue()
        h, w = p.view.shape
        parts.append(
            _PAGE.pack(p.index, *p.box, p.fscale, p.page_scale, len(p.xy), w, h, len(jpeg))
        )
        parts.append(jpeg)
        parts.append(np.clip(np.round(p.xy * 8), 0, 65535).astype("<u2").tobytes())
        parts.append(np.ascontiguousarray(p.desc, np.uint8).tobytes())
    return b"".join(parts)


def unpack_pages(raw: bytes, off: int) -> dict[int, PageDetail]:
    """The pages of :func:`pack_pages` starting at ``off``, by page index."""
    (count,) = struct.unpack_from("<B", raw, off)
    off += 1
    out: dict[int, PageDetail] = {}
    for _ in range(count):
        index, x0, y0, x1, y1, fscale, pscale, n, _w, _h, size = _PAGE.unpack_from(raw, off)
        off += _PAGE.size
        with Image.open(io.BytesIO(raw[off : off + size])) as img:
            view = np.asarray(img.convert("L"), dtype=np.uint8)
        off += size
        xy = (np.frombuffer(raw, "<u2", 2 * n, off).reshape(n, 2) / 8).astype(np.float32)
        off += 4 * n
        desc = np.frombuffer(raw, np.uint8, 32 * n, off).reshape(n, 32)
        off += 32 * n
        out[index] = PageDetail(index, (x0, y0, x1, y1), fscale, pscale, xy, desc, view)
    return out
