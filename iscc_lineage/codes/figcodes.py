"""The picture codes of a figure, computed once at capture, and the coarse index over them.

For each page of a figure: 256-bit Image-Codes of the trimmed page, of each panel, and of
sub-image windows (``figure.regions``); and for verification one :class:`~.features.Detail`
(ORB keypoints, descriptors, a 256-pixel thumbnail) of the trimmed page and of each panel.
Stored per content as two further codes: a small *index* value (64-bit prefixes of every region
code, read for every search) and a larger *detail* value (read only for the candidates).

The index is a brute-force Hamming scan in numpy (``np.bitwise_count`` over a uint64 array):
exact (no recall loss, unlike an approximate index), no extra dependency, and measured at
tens of milliseconds for 10^5 pictures x 20 regions (benchmarks/figures.py). Code buckets or
an ANN library (usearch, faiss) pay off only far beyond that.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from iscc_lineage.codes import figure, stored
from iscc_lineage.codes.features import Detail, Geometry, detail, verify
from iscc_lineage.codes.pictures import CODES_SCHEME, DETAIL_SCHEME, INDEX_SCHEME, SKIP_SCHEME

__all__ = [
    "DETAIL_SCHEME",
    "IMAGE_CODE_SCHEME",
    "INDEX_SCHEME",
    "SKIP_SCHEME",
    "CodeIndex",
    "FigureCodes",
    "View",
    "figure_codes",
    "picture_rows",
    "query_views",
    "split_codes",
    "verify_views",
]

IMAGE_CODE_SCHEME = "image-code-v0"  #: the whole first page's 256-bit ISCC Image-Code
KINDS = ("page", "panel", "window")
MAX_DETAIL_PAGES = 4  #: pages (TIFF planes, PDF pages) with keypoints stored
MAX_PANELS = 8  #: panels per page with their own keypoints
TIE_BITS = 2  #: owners this close to the k-th nearest are candidates too
SCAN_CHUNK = 1 << 16  #: codes XOR-ed and counted at once (stays in the CPU cache)
_REGION = struct.Struct("<BBHHHH32s")


@dataclass(slots=True, eq=False)
class View:
    """A region of a page with its Image-Code and its verification detail."""

    page: int
    kind: str  #: "page" | "panel" | "window"
    box: figure.Box  #: in page pixels
    code: bytes  #: 256-bit Image-Code body
    detail: Detail | None = None
    parent: int = -1  #: position of the enclosing view in its FigureCodes (-1: none)

    def source_box(self, page_scale: float) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = self.box
        return (x0 / page_scale, y0 / page_scale, x1 / page_scale, y1 / page_scale)


@dataclass(slots=True)
class FigureCodes:
    """Everything capture stores about a picture."""

    views: list[View] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    image_code: str | None = None  #: ``ISCC:EE…`` of the whole first page, untrimmed

    pages: list[stored.PageDetail] = field(default_factory=list)  #: capture: shared details

    def rows(self) -> list[tuple[str, str | bytes]]:
        """(scheme, value) pairs to store as further codes of the content: text for the
        Image-Code and a skip note, binary (the store's blob table) for the figure codes."""
        out: list[tuple[str, str | bytes]] = (
            [(IMAGE_CODE_SCHEME, self.image_code)] if self.image_code else []
        )
        if any(v.detail is not None for v in self.views):
            out += [
                (INDEX_SCHEME, self.index_value()),
                (CODES_SCHEME, self.codes_value()),
                (DETAIL_SCHEME, self.detail_value()),
            ]
        else:
            out.append((SKIP_SCHEME, "; ".join(self.notes) or "no picture content"))
        return out

    def index_value(self) -> bytes:
        """The coarse index: kind and 64-bit prefix of every region code (9 bytes each)."""
        return b"".join(bytes([KINDS.index(v.kind)]) + v.code[:8] for v in self.views)

    def codes_value(self) -> bytes:
        """The full 256-bit codes of pages and panels (for the re-rank)."""
        return b"".join(v.code for v in self.views if v.kind != "window" and any(v.code))

    def detail_value(self) -> bytes:
        """Region boxes and full codes, then the verification detail.

        Captured pictures (``pages`` set) store version 2: one keypoint set and one JPEG view
        per page, shared by its panels (codes.stored). Otherwise version 1: one
        length-prefixed :class:`Detail` per verified view (a PNG thumbnail each)."""
        regions = [_REGION.pack(v.page, KINDS.index(v.kind), *v.box, v.code) for v in self.views]
        if self.pages:
            detailed = [i for i, v in enumerate(self.views) if v.detail is not None]
            return (
                stored.MAGIC
                + struct.pack("<H", len(self.views))
                + b"".join(regions)
                + struct.pack(f"<H{len(detailed)}H", len(detailed), *detailed)
                + stored.pack_pages(self.pages)
            )
        parts = [struct.pack("<H", len(self.views)), *regions]
        for i, v in enumerate(self.views):
            if v.detail is not None:
                blob = v.detail.to_bytes()
                parts.append(struct.pack("<HI", i, len(blob)) + blob)
        return b"".join(parts)

    @classmethod
    def from_detail_value(cls, value: str | bytes) -> FigureCodes:
        """The stored detail (binary; base64 text as stores before schema v4 held it)."""
        raw = base64.b64decode(value) if isinstance(value, str) else bytes(value)
        v2 = raw.startswith(stored.MAGIC)
        off = len(stored.MAGIC) if v2 else 0
        (n,) = struct.unpack_from("<H", raw, off)
        off += 2
        views = []
        for _ in range(n):
            page, kind, x0, y0, x1, y1, code = _REGION.unpack_from(raw, off)
            views.append(View(page, KINDS[kind], (x0, y0, x1, y1), code))
            off += _REGION.size
        if v2:
            (m,) = struct.unpack_from("<H", raw, off)
            detailed = struct.unpack_from(f"<{m}H", raw, off + 2)
            pages = stored.unpack_pages(raw, off + 2 + 2 * m)
            for i in detailed:
                v = views[i]
                if v.page in pages:
                    v.detail = pages[v.page].detail(v.box, whole=v.kind == "page")
            return cls(views)
        while off < len(raw):
            i, size = struct.unpack_from("<HI", raw, off)
            off += 6
            views[i].detail = Detail.from_bytes(raw[off : off + size])
            off += size
        return cls(views)


def _describe(
    fig: figure.Figure, windows: bool, max_pages: int, shared: bool = False
) -> FigureCodes:
    """Views with codes and details. ``shared`` (capture): keypoints and a compact view are
    computed once per page and its panels take their part of them (codes.stored); else
    (a query) every page and panel gets its own keypoints at ``FEATURE_SIDE``."""
    out = FigureCodes(notes=list(fig.notes))
    for page in fig.pages[:max_pages]:
        panels = 0
        where: dict[int, int] = {}  # region number -> position in out.views
        pd: stored.PageDetail | None = None
        regs = list(figure.regions(page.gray, windows=windows))
        parents = {p for _, _, p in regs}
        leaves = [b for i, (k, b, _) in enumerate(regs) if k == "panel" and i not in parents]
        codes = figure.region_codes(page.gray, [b for _, b, _ in regs])
        for n, (kind, box, parent) in enumerate(regs):
            code = codes[n]
            needs_detail = kind == "page" or (kind == "panel" and panels < MAX_PANELS)
            if code is None and not needs_detail:
                continue
            panels += kind == "panel"
            d: Detail | None = None
            if needs_detail and shared:
                if pd is None:
                    pd = stored.capture_page(page.gray, box, page.scale, page.index, leaves)
                    out.pages.append(pd)
                d = pd.detail(box, whole=kind == "page")
            elif needs_detail:
                d = detail(page.gray, box, page.scale)
            where[n] = len(out.views)
            out.views.append(
                View(
                    page.index,
                    kind,
                    box,
                    code or bytes(32),
                    d,
                    where.get(parent, -1) if kind != "page" else -1,
                )
            )
    if len(fig.pages) > max_pages:
        out.notes.append(f"{len(fig.pages)} pages: keypoints for the first {max_pages} only")
    return out


def figure_codes(path: Path) -> FigureCodes:
    """Codes and details of a picture file for capture (bounded: see figure.load)."""
    fig = figure.load(path)
    out = _describe(fig, windows=True, max_pages=MAX_DETAIL_PAGES, shared=True)
    if fig.pages:
        out.image_code = figure.image_code_text(fig.pages[0].gray)
    return out


PAPER_SIDE = 2048  #: PDF pages of a query (a paper) are rendered at this side


def picture_rows(paths: Mapping[str, str]) -> list[tuple[str, str, str | bytes]]:
    """(datahash, scheme, value) rows to store for pictures given as datahash -> path.
    Runs in Snakemake's process during capture: OpenCV on one thread (never hog the node)."""
    stored.one_thread()
    rows: list[tuple[str, str, str | bytes]] = []
    for datahash, path in paths.items():
        rows += [(datahash, scheme, value) for scheme, value in figure_codes(Path(path)).rows()]
    return rows


def query_views(
    path: Path, side: int | None = None, max_pages: int = figure.MAX_PAGES
) -> FigureCodes:
    """The views of a query: each trimmed page and its panel tree, with codes and details.
    PDF pages are rendered larger than figures: a panel of a paper page is a small part."""
    if side is None:
        side = PAPER_SIDE if path.suffix.lower() == ".pdf" else figure.CODE_SIDE
    return _describe(
        figure.load(path, side=side, max_pages=max_pages), windows=False, max_pages=max_pages
    )


PANELS_VERIFIED = 2  #: a candidate's panels verified per query view: the nearest by code


def verify_views(q: View, c: Sequence[View]) -> tuple[View, Geometry] | None:
    """The candidate view with the most inliers for query view ``q``: its page, and its
    ``PANELS_VERIFIED`` panels nearest to ``q`` by Image-Code (bounded work per candidate)."""
    best: tuple[View, Geometry] | None = None
    if q.detail is None:
        return None
    pages = [v for v in c if v.detail is not None and v.kind == "page"]
    panels = sorted(
        (v for v in c if v.detail is not None and v.kind == "panel"),
        key=lambda v: hamming256(q.code, v.code),
    )[:PANELS_VERIFIED]
    for v in (*pages, *panels):
        assert v.detail is not None
        g = verify(q.detail, v.detail)
        if g is not None and (best is None or g.inliers > best[1].inliers):
            best = (v, g)
    return best


def split_codes(value: str | bytes) -> list[bytes]:
    """The 256-bit codes of a ``codes_value`` (binary; base64 text before schema v4)."""
    raw = base64.b64decode(value) if isinstance(value, str) else bytes(value)
    return [raw[i : i + 32] for i in range(0, len(raw) - 31, 32)]


def hamming256(a: bytes, b: bytes) -> int:
    """Bits in which two 256-bit codes differ."""
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


_CACHE_MAGIC = b"FIGIDX01"


def _map_index(path: Path, key: list[int]) -> tuple[Any, Any, Any] | None:
    """(codes, ids, starts) of a cache file written for ``key``, memory-mapped; else None."""
    try:
        raw = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError):
        return None  # absent or empty
    head = 8 + 5 * 8
    if raw.size < head or bytes(raw[:8]) != _CACHE_MAGIC:
        return None
    k0, k1, k2, n_codes, n_owners = (int(v) for v in raw[8:head].view("<i8"))
    if [k0, k1, k2] != key or raw.size != head + 8 * n_codes + 16 * n_owners:
        return None  # stale or damaged: rebuilt
    codes = raw[head : head + 8 * n_codes].view("<u8")
    ids = raw[head + 8 * n_codes : head + 8 * (n_codes + n_owners)].view("<i8")
    starts = raw[head + 8 * (n_codes + n_owners) :].view("<i8")
    return codes, ids, starts


class CodeIndex:
    """Every recorded region's 64-bit code prefix in one uint64 array, with its owner."""

    def __init__(self, rows: Iterable[tuple[int, str | bytes]]) -> None:
        ids: list[int] = []
        counts: list[int] = []
        parts: list[bytes] = []
        for owner, value in rows:  # one decode per row, then one numpy view over them all
            raw = binascii.a2b_base64(value) if isinstance(value, str) else value
            if raw and not len(raw) % 9:
                ids.append(owner)
                counts.append(len(raw) // 9)
                parts.append(raw)
        table = np.frombuffer(b"".join(parts), np.uint8).reshape(-1, 9)
        self.codes = np.ascontiguousarray(table[:, 1:]).view(">u8").ravel().astype(np.uint64)
        self.ids = np.array(ids, np.int64)
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)

    def __len__(self) -> int:
        return int(self.ids.size)

    @classmethod
    def cached(
        cls,
        path: Path | None,
        key: Sequence[int],
        rows: Callable[[], Iterable[tuple[int, str | bytes]]],
    ) -> CodeIndex:
        """The index saved at ``path`` if it was built for ``key`` (the store's generation of
        the index rows), else built from ``rows()`` and saved there (atomically; a store
        whose directory cannot be written just rebuilds it each time). The file is mapped,
        not read: the scan touches each code once anyway."""
        want = [int(k) for k in key][:3] + [0] * (3 - len(key))
        if path is not None:
            got = _map_index(path, want)
            if got is not None:
                out = cls(())
                out.codes, out.ids, out.starts = got
                return out
        out = cls(rows())
        if path is not None:
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            head = np.array([*want, out.codes.size, out.ids.size], "<i8")
            try:
                with open(tmp, "wb") as fh:
                    fh.write(_CACHE_MAGIC + head.tobytes())
                    for arr, dtype in ((out.codes, "<u8"), (out.ids, "<i8"), (out.starts, "<i8")):
                        fh.write(np.ascontiguousarray(arr, dtype).tobytes())
                os.replace(tmp, path)
            except OSError:
                tmp.unlink(missing_ok=True)
        return out

    def nearest(self, probes: Sequence[bytes], k: int) -> dict[int, int]:
        """For each probe (a code body), the ``k`` nearest owners; merged as owner -> the
        smallest distance in bits of 64."""
        found: dict[int, int] = {}
        if not len(self) or not probes:
            return found
        dist = np.empty(self.codes.size, np.uint8)
        buf = np.empty(min(self.codes.size, SCAN_CHUNK), np.uint64)
        for p in probes:
            q = np.uint64(int.from_bytes(p[:8], "big"))
            for s in range(0, self.codes.size, SCAN_CHUNK):  # in cache-sized chunks: 3x faster
                c = self.codes[s : s + SCAN_CHUNK]
                np.bitwise_xor(c, q, out=buf[: c.size])
                dist[s : s + c.size] = np.bitwise_count(buf[: c.size])
            best = np.minimum.reduceat(dist, self.starts)  # per owner: its nearest region
            if best.size > k:
                kth = np.partition(best, k - 1)[k - 1]
                take = np.flatnonzero(best <= kth + TIE_BITS)  # never cut between near-ties
                if take.size > 4 * k:
                    take = take[np.argsort(best[take], kind="stable")[: 4 * k]]
            else:
                take = np.arange(best.size)
            for o, d in zip(self.ids[take].tolist(), best[take].tolist(), strict=True):
                found[o] = min(int(d), found.get(o, 64))
        return found
