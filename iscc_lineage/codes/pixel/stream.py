"""The canonical pixel stream (plane order, row bands) and its hashing into pixel codes."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import iscc_lib as il

from iscc_lineage.codes.pixel.metadata import base_metadata

__all__ = [
    "BAND_BYTES",
    "CANONICAL",
    "PIXELS_SCHEME",
    "ImageCode",
    "ImageSource",
    "NoReader",
    "OnBytes",
    "PixelResult",
    "canonical_sizes",
    "code_all",
    "plane_order",
    "row_bands",
]

log = logging.getLogger(__name__)

PIXELS_SCHEME = "pixels-v0"  #: content_code row saying the content was pixel-coded (or why not)
BAND_BYTES = 64 << 20  #: a plane larger than this is read in bands of rows (bounded memory)
CANONICAL = ("Z", "C", "T")  #: outer -> inner


@dataclass(frozen=True, slots=True)
class ImageCode:
    """The pixel code and acquisition metadata of one image (scene / series) of a content."""

    scene: int  #: 0-based position among the content's images
    name: str | None
    iscc: str  #: narrow ISCC-SUM of the canonical pixel stream, ``ISCC:KUA…`` (ISO 24138)
    wide: str  #: WIDE 256+256-bit ISCC-SUM, ``ISCC:K4A…``: what iscc-bio and omero-iscc emit
    data_code: str  #: 256-bit Data-Code of the pixel stream
    datahash: str  #: ``1e20`` + BLAKE3 of the pixel stream (identity, with dtype and plane)
    dtype: str  #: numpy name, e.g. ``uint16``
    sizes: dict[str, int]  #: T, C, Z, Y, X (and S when samples were folded into C)
    uniform: bool  #: every pixel has one value: shared by unrelated images, never an identity
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def pixel_id(self) -> str:
        """What "same pixels" compares: stream digest, dtype and plane size."""
        return f"{self.datahash}/{self.dtype}/{self.sizes['Y']}x{self.sizes['X']}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "scene": self.scene,
            "name": self.name,
            "iscc": self.iscc,
            "wide": self.wide,
            "data_code": self.data_code,
            "datahash": self.datahash,
            "dtype": self.dtype,
            "sizes": self.sizes,
            "uniform": self.uniform,
            "pixel_id": self.pixel_id,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImageCode:
        return cls(
            int(d["scene"]),
            d.get("name"),
            d["iscc"],
            d["wide"],
            d["data_code"],
            d["datahash"],
            d["dtype"],
            {k: int(v) for k, v in d["sizes"].items()},
            bool(d["uniform"]),
            d.get("metadata") or {},
        )


@dataclass(frozen=True, slots=True)
class PixelResult:
    """All images of one file or directory, or a note why there are none."""

    images: tuple[ImageCode, ...] = ()
    reader: str | None = None  #: ``tifffile``, ``zarr``, ``bioio-czi``, …
    note: str | None = None  #: why not coded: no reader installed, not an image, unreadable

    def summary(self) -> str:
        """The value of the ``pixels-v0`` content_code row."""
        if self.note:
            return f"none: {self.note}"
        return f"{len(self.images)} image(s) via {self.reader}"


OnBytes = Callable[[int], None]


class NoReader(Exception):
    pass


@dataclass
class ImageSource:
    """One image to code: its sizes and a plane reader yielding row bands in canonical order."""

    name: str | None
    dtype: Any  # numpy dtype
    sizes: dict[str, int]
    bands: Callable[[], Iterator[Any]]  # yields 2-D numpy arrays (rows of a plane), in order
    metadata: Callable[[], dict[str, Any]]


PIECE = 1 << 20  #: bytes per hasher update: small enough to stay in cache, large per call


class _StreamHasher:
    """Data-Code on a worker thread (the slower half; iscc-lib releases the GIL), BLAKE3
    (Instance-Code) on the caller's thread, while the caller reads the next band.

    A band is byte-swapped into one of two reused big-endian buffers and fed in
    :data:`PIECE` bytes pieces (iscc-lib takes only ``bytes``; a 1 MiB copy stays in cache).
    Measured per 2 GiB of uint16: ``astype(">u2").tobytes()`` per band (two fresh multi-MiB
    allocations, page-faulted) cost 1.9 CPU s, as much as the Data-Code itself; this costs
    0.43 CPU s. The worker runs its
    jobs in order, so the Data-Code sees the stream in order; a buffer is refilled only
    after the worker is done with it.
    """

    def __init__(self, pool: ThreadPoolExecutor, dtype: Any) -> None:
        import numpy as np

        self.data = il.DataHasher()
        self.instance = il.InstanceHasher()
        self._pool = pool
        self._big = np.dtype(dtype).newbyteorder(">")
        self._bufs: list[Any] = [None, None]
        self._jobs: list[Future[None] | None] = [None, None]
        self._turn = 0

    def update(self, band: Any) -> int:
        """Hash a band (any 2-D array of the image's dtype); returns its size in bytes."""
        import numpy as np

        k = self._turn
        self._turn ^= 1
        job = self._jobs[k]
        if job is not None:
            job.result()  # the worker is done with this buffer
        buf = self._bufs[k]
        if buf is None or buf.size < band.size:
            self._bufs[k] = buf = np.empty(band.size, self._big)
        np.copyto(buf[: band.size].reshape(band.shape), band, casting="unsafe")  # swap, copy
        raw = memoryview(buf[: band.size].view(np.uint8))
        self._jobs[k] = self._pool.submit(_feed, self.data, raw)
        _feed(self.instance, raw)
        return raw.nbytes

    def finish(self) -> tuple[str, str, str, str]:
        for job in self._jobs:
            if job is not None:
                job.result()
        self._bufs = [None, None]
        d256 = self.data.finalize(256)["iscc"]
        inst = self.instance.finalize(256)
        units = [d256, inst["iscc"]]
        narrow = il.gen_iscc_code_v0(units)["iscc"]
        wide = il.gen_iscc_code_v0(units, wide=True)["iscc"]
        return narrow, wide, d256, inst["datahash"]


def _feed(hasher: il.DataHasher | il.InstanceHasher, raw: memoryview) -> None:
    for at in range(0, raw.nbytes, PIECE):
        hasher.update(bytes(raw[at : at + PIECE]))


def code_all(reader: str, images: Iterator[ImageSource], on_bytes: OnBytes | None) -> PixelResult:
    out = []
    with ThreadPoolExecutor(1, thread_name_prefix="iscc-lineage-pixels") as pool:
        for scene, img in enumerate(images):
            out.append(_code_one(scene, img, pool, on_bytes))
    if not out:
        return PixelResult(reader=reader, note="no image found")
    return PixelResult(tuple(out), reader)


def _code_one(
    scene: int, img: ImageSource, pool: ThreadPoolExecutor, on_bytes: OnBytes | None
) -> ImageCode:
    import numpy as np

    hasher = _StreamHasher(pool, img.dtype)
    first: Any = None
    uniform = True
    for band in img.bands():
        if uniform:
            lo, hi = band.min(), band.max()
            first = lo if first is None else first
            uniform = bool(lo == hi == first)
        n = hasher.update(band)
        if on_bytes is not None:
            on_bytes(n)
    narrow, wide, d256, datahash = hasher.finish()
    meta = base_metadata(img.sizes, np.dtype(img.dtype))
    try:
        meta.update(img.metadata())
    except Exception:  # metadata is a bonus; the pixel code stands without it
        log.debug("metadata of %s not read", img.name, exc_info=True)
    return ImageCode(
        scene,
        img.name,
        narrow,
        wide,
        d256,
        datahash,
        np.dtype(img.dtype).name,
        dict(img.sizes),
        uniform,
        meta,
    )


def plane_order(axes: str, shape: tuple[int, ...]) -> tuple[list[str], list[str]]:
    """(plane axes in file order, the same in canonical order): unknown axes (tifffile's
    I, Q, … of a plain TIFF) outermost in file order, then Z, C, T."""
    plane_axes = [a for a in axes if a not in "YXS"]
    unknown = [a for a in plane_axes if a not in CANONICAL]
    return plane_axes, unknown + [a for a in CANONICAL if a in plane_axes]


def canonical_sizes(axes: str, shape: tuple[int, ...]) -> dict[str, int]:
    dims = dict(zip(axes, shape, strict=True))
    other = math.prod(n for a, n in dims.items() if a not in "TCZYXS")
    out = {
        "T": dims.get("T", 1),
        "C": dims.get("C", 1) * dims.get("S", 1),
        "Z": dims.get("Z", 1) * other,
        "Y": dims["Y"],
        "X": dims["X"],
    }
    if dims.get("S", 1) > 1:
        out["S"] = dims["S"]
    return out


def row_bands(read: Callable[[int, int], Any], rows: int, row_bytes: int) -> Iterator[Any]:
    """A plane as bands of rows of at most :data:`BAND_BYTES` (one band when it fits)."""
    step = max(1, BAND_BYTES // max(1, row_bytes))
    for y in range(0, rows, step):
        yield read(y, min(rows, y + step))
