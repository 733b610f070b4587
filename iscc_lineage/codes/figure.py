"""Figures as pixels: decode any figure format, bounded in memory, then trim, split and code it.

Every format a paper figure comes in is turned into grayscale pages of at most ``side`` pixels:
raster files through Pillow (JPEG decoded downscaled by the codec itself; other formats above
``MAX_DECODE_PIXELS`` are skipped with a note, never decoded at full size), every page of a
multi-page TIFF (capped at ``MAX_PAGES``), SVG through cairosvg, PDF through pypdfium2 and EPS
through Ghostscript (Pillow's EpsImagePlugin), all rendered at a fixed size. Then: white/uniform
borders are trimmed, multi-panel figures are cut at their gutters (recursive XY-cut over uniform
bright rows and columns), and each region gets a 256-bit ISCC Image-Code. One of the ``codes``
modules: the only place pixel libraries are used.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import iscc_lib as il
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, ImageSequence

from iscc_lineage.codes.pictures import FIGURE_SUFFIXES, is_figure

__all__ = [
    "FIGURE_SUFFIXES",
    "MAX_DECODE_PIXELS",
    "MAX_PAGES",
    "Box",
    "Figure",
    "Page",
    "image_code_of",
    "image_code_text",
    "is_figure",
    "load",
    "region_codes",
    "regions",
    "split",
    "split_tree",
    "trim",
]

log = logging.getLogger(__name__)

Gray = npt.NDArray[np.uint8]
Box = tuple[int, int, int, int]  #: x0, y0, x1, y1 in page pixels (x1, y1 exclusive)

MAX_DECODE_PIXELS = 40_000_000  #: a non-JPEG raster above this is skipped (never decoded)
MAX_PAGES = 8  #: pages of a TIFF or PDF coded at capture; the rest are noted
CODE_SIDE = 1024  #: pages are decoded/rendered to at most this side for coding
TRIM_TOLERANCE = 16  #: grey levels a border may vary and still count as background (iscc-sdk)
GUTTER_MIN_LEVEL = 170  #: gutters are uniform *bright* rows/columns (white or light grey)
MIN_FEATURE_BITS = 8  #: a 64-bit word with fewer one-bits comes from a featureless picture


@dataclass(slots=True)
class Page:
    """One page (or TIFF plane) of a figure as 8-bit grayscale, downscaled to ``side``."""

    gray: Gray
    index: int
    scale: float  #: page pixels per source pixel (per PDF point for vector pages)


@dataclass(slots=True)
class Figure:
    """A decoded figure: its pages and why some were not coded (too large, too many pages)."""

    pages: list[Page] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load(path: Path, side: int = CODE_SIDE, max_pages: int = MAX_PAGES) -> Figure:
    """Decode ``path`` into grayscale pages of at most ``side`` pixels; never at full size when
    the picture is huge. Undecodable input gives a Figure without pages and a note."""
    suffix = path.suffix.lower()
    fig = Figure()
    try:
        if suffix == ".svg":
            fig.pages.append(_svg(path, side))
        elif suffix == ".pdf":
            _pdf(path, side, max_pages, fig)
        elif suffix == ".eps":
            _eps(path, side, fig)
        else:
            _raster(path, side, max_pages, fig)
    except Exception as exc:
        fig.notes.append(f"not decodable as a picture: {type(exc).__name__}: {exc}"[:200])
        log.debug("%s: %s", path, fig.notes[-1])
    return fig


def _raster(path: Path, side: int, max_pages: int, fig: Figure) -> None:
    with Image.open(path) as img:
        w, h = img.size
        if img.format == "JPEG":
            img.draft("L", (side, side))  # the codec decodes at 1/2, 1/4 or 1/8 scale
        elif w * h > MAX_DECODE_PIXELS:
            fig.notes.append(
                f"{w}x{h} pixels: above {MAX_DECODE_PIXELS // 1_000_000} MP, "
                "not decoded for picture codes"
            )
            return
        n = getattr(img, "n_frames", 1)
        for i, frame in enumerate(ImageSequence.Iterator(img)):
            if i >= max_pages:
                fig.notes.append(f"{n} pages: only the first {max_pages} coded")
                break
            gray = _to_gray(frame)
            scale = min(1.0, side / max(gray.size))
            if scale < 1.0:
                gray = gray.resize(
                    (max(1, round(gray.width * scale)), max(1, round(gray.height * scale))),
                    Image.Resampling.BOX,
                )
            fig.pages.append(Page(np.asarray(gray, dtype=np.uint8), i, gray.width / w))
            if img.format != "TIFF":  # GIF/WebP animations: the first frame is the figure
                break


def _to_gray(frame: Image.Image) -> Image.Image:
    """8-bit grayscale as iscc-sdk normalises (EXIF orientation, alpha on white), except that
    16-bit and float planes are rescaled by their 0.1-99.9 percentiles (Pillow clips them)."""
    orientation = (
        frame.getexif().get(0x0112, 1) if frame.format in ("JPEG", "TIFF", "WEBP", "PNG") else 1
    )
    pic = (ImageOps.exif_transpose(frame) or frame) if orientation != 1 else frame
    if pic.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(pic, dtype=np.float32)
        lo, hi = (float(v) for v in np.percentile(arr, [0.1, 99.9]))
        if hi <= lo:
            hi = lo + 1.0
        out = np.clip((arr - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
        return Image.fromarray(out)
    if pic.mode == "RGBA" and pic.getchannel("A").getextrema()[0] == 255:
        return pic.convert("L")  # opaque (matplotlib's PNGs): no composite pass over 2 MP
    if pic.mode in ("RGBA", "LA", "PA", "P") and (pic.mode != "P" or "transparency" in pic.info):
        rgba = pic.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        pic = Image.alpha_composite(white, rgba)
    return pic.convert("L")


def _svg(path: Path, side: int) -> Page:
    import io

    import cairosvg  # type: ignore[import-untyped]

    png = cairosvg.svg2png(url=str(path), output_width=side, background_color="white", unsafe=False)
    with Image.open(io.BytesIO(png)) as img:
        gray = _to_gray(img)
        if max(gray.size) > side:  # a very tall SVG: fit the long side
            gray.thumbnail((side, side), Image.Resampling.BOX)
        return Page(np.asarray(gray, dtype=np.uint8), 0, 1.0)


def _eps(path: Path, side: int, fig: Figure) -> None:
    """EPS through Pillow's EpsImagePlugin, which runs Ghostscript (``gs -dSAFER``): pdfium
    reads no PostScript. Rendered at an integer multiple of 72 dpi so that the long side is
    at least ``side``, then reduced; a bounding box too large to render at 72 dpi is skipped.
    Without Ghostscript the picture gets a note, never an error."""
    from PIL import EpsImagePlugin

    if not EpsImagePlugin.has_ghostscript():
        fig.notes.append("EPS: Ghostscript (gs) is not installed, not rendered")
        return
    with Image.open(path) as img:
        w, h = img.size  # points (1/72 inch) of the bounding box
        if w * h > MAX_DECODE_PIXELS:
            fig.notes.append(f"EPS of {w}x{h} points: too large to render for picture codes")
            return
        scale = max(1, min(8, -(-side // max(w, h, 1))))
        img.load(scale=scale, transparency=False)  # type: ignore[call-arg]
        gray = img.convert("L")
    if max(gray.size) > side:
        gray.thumbnail((side, side), Image.Resampling.BOX)
    fig.pages.append(Page(np.asarray(gray, dtype=np.uint8), 0, gray.width / max(1, w)))


def _pdf(path: Path, side: int, max_pages: int, fig: Figure) -> None:
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    doc = pdfium.PdfDocument(str(path))
    try:
        n = len(doc)
        for i in range(min(n, max_pages)):
            page = doc[i]
            w, h = page.get_size()  # points
            scale = side / max(w, h, 1.0)
            bitmap = page.render(scale=scale, grayscale=True, fill_color=(255, 255, 255, 255))
            img = bitmap.to_pil()
            fig.pages.append(Page(np.asarray(img.convert("L"), dtype=np.uint8), i, scale))
            page.close()
        if n > max_pages:
            fig.notes.append(f"{n} pages: only the first {max_pages} coded")
    finally:
        doc.close()


def trim(gray: Gray, box: Box | None = None, tol: int = TRIM_TOLERANCE) -> Box:
    """The box left after trimming uniform borders (padding, a white page margin), repeated
    while a border remains (a white pad around a grey frame); the whole box if all uniform."""
    x0, y0, x1, y1 = box or (0, 0, gray.shape[1], gray.shape[0])
    for _ in range(4):
        sub = gray[y0:y1, x0:x1]
        if sub.size == 0:
            break
        corners = np.array([sub[0, 0], sub[0, -1], sub[-1, 0], sub[-1, -1]], dtype=np.int16)
        bg = int(np.median(corners))
        ink = np.abs(sub.astype(np.int16) - bg) > tol
        rows = np.flatnonzero(ink.any(axis=1))
        cols = np.flatnonzero(ink.any(axis=0))
        if rows.size == 0:
            break
        nx0, ny0 = x0 + int(cols[0]), y0 + int(rows[0])
        nx1, ny1 = x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1
        if (nx0, ny0, nx1, ny1) == (x0, y0, x1, y1):
            break
        x0, y0, x1, y1 = nx0, ny0, nx1, ny1
    return x0, y0, x1, y1


def _gutters(gray: Gray, axis: int, min_run: int) -> list[tuple[int, int]]:
    """Runs of uniform bright lines across ``gray`` (rows for axis 0, columns for axis 1)."""
    lines = gray if axis == 0 else gray.T
    lo = lines.min(axis=1).astype(np.int16)
    hi = lines.max(axis=1).astype(np.int16)
    flat = (hi - lo <= 2 * TRIM_TOLERANCE) & (lo >= GUTTER_MIN_LEVEL)
    runs: list[tuple[int, int]] = []
    start = None
    for i, f in enumerate(flat.tolist()):
        if f and start is None:
            start = i
        elif not f and start is not None:
            if i - start >= min_run and start > 0:
                runs.append((start, i))
            start = None
    return runs


def split_tree(gray: Gray, box: Box | None = None, depth: int = 4) -> list[tuple[Box, int]]:
    """The panel tree of a figure, cut at uniform bright gutters (recursive XY-cut): nodes as
    (box, parent index) in pre-order, the trimmed whole first (parent -1). A 2x2 layout holding
    a 1x3 figure gives the layout, its four cells and the figure's three panels; pieces too
    small to be a panel (letters, labels, text lines) are dropped."""
    nodes: list[tuple[Box, int]] = []
    min_side = max(32, int(0.12 * min(gray.shape)))

    def cut(b: Box, parent: int, depth: int) -> None:
        x0, y0, x1, y1 = trim(gray, b)
        me = len(nodes)
        nodes.append(((x0, y0, x1, y1), parent))
        if depth == 0:
            return
        w, h = x1 - x0, y1 - y0
        sub = gray[y0:y1, x0:x1]
        for axis in (1, 0):  # columns first (1xN layouts), then rows
            length = w if axis == 1 else h
            if length < 2 * min_side:
                continue
            runs = _gutters(sub, axis, max(2, length // 200))
            if not runs:
                continue
            cuts = [0] + [c for r in runs for c in r] + [length]
            pieces = [
                (x0 + a, y0, x0 + e, y1) if axis == 1 else (x0, y0 + a, x1, y0 + e)
                for a, e in zip(cuts[::2], cuts[1::2], strict=True)
                if e - a >= min_side
            ]
            pieces = [p for p in pieces if min(p[2] - p[0], p[3] - p[1]) >= min_side // 2]
            if len(pieces) >= 2:
                for p in pieces:
                    cut(p, me, depth - 1)
                return
            if len(pieces) == 1 and pieces[0] != (x0, y0, x1, y1):
                # one panel among labels or text lines: descend into it as the only child
                cut(pieces[0], me, depth - 1)
                return

    cut(box or (0, 0, gray.shape[1], gray.shape[0]), -1, depth)
    return nodes


def split(gray: Gray, box: Box | None = None, depth: int = 4) -> list[Box]:
    """The leaf panels of :func:`split_tree` (the trimmed whole when there is no gutter)."""
    nodes = split_tree(gray, box, depth)
    parents = {p for _, p in nodes}
    return [b for i, (b, _) in enumerate(nodes) if i not in parents]


def _code(
    gray: Gray, box: Box | None, gap: float | None = None, page: Image.Image | None = None
) -> tuple[str, bytes] | None:
    x0, y0, x1, y1 = box or (0, 0, gray.shape[1], gray.shape[0])
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    if page is not None:  # a region of a shared page image: Pillow's crop, no numpy copies
        img = page.crop((x0, y0, x1, y1))
    else:
        img = Image.fromarray(np.ascontiguousarray(gray[y0:y1, x0:x1]))
    pixels = img.resize((32, 32), Image.Resampling.BICUBIC, reducing_gap=gap).tobytes()
    code = str(il.gen_image_code_v0(pixels, 256)["iscc"])
    body = bytes(il.iscc_decode(code)[4])
    if any(
        int.from_bytes(body[i : i + 8], "big").bit_count() < MIN_FEATURE_BITS
        for i in range(0, len(body), 8)
    ):
        return None
    return code, body


def image_code_text(gray: Gray) -> str | None:
    """The ``ISCC:`` 256-bit Image-Code of a whole page, None if featureless."""
    got = _code(gray, None)
    return got[0] if got else None


def image_code_of(gray: Gray, box: Box | None = None) -> bytes | None:
    """The 256-bit ISCC Image-Code body of a region (32x32 bicubic gray as iscc-sdk), or None
    for a featureless region (blank, uniform, a smooth gradient). Regions are first reduced by
    an integer box filter to at most 3x the 32 px (``reducing_gap``): a page, its panels and
    18 windows cost a quarter of the exact bicubic; capture and query code them alike."""
    got = _code(gray, box, REDUCING_GAP)
    return got[1] if got else None


REDUCING_GAP = 3.0  #: region codes: box-reduce to within 3x of 32 px before the bicubic


def region_codes(gray: Gray, boxes: list[Box]) -> list[bytes | None]:
    """:func:`image_code_of` of many regions of one page (the same codes), sharing one
    Pillow image of the page."""
    page = Image.fromarray(np.ascontiguousarray(gray))
    out: list[bytes | None] = []
    for box in boxes:
        got = _code(gray, box, REDUCING_GAP, page)
        out.append(got[1] if got else None)
    return out


WINDOW_SCALES = (0.75, 0.5)  #: sub-image windows (fraction of each side) coded per region


def regions(gray: Gray, windows: bool = True) -> Iterator[tuple[str, Box, int]]:
    """The regions of a page that get a code, with the index of their parent region: the
    trimmed page, every node of its panel tree, and (``windows``) sub-image windows of the
    trimmed page at ``WINDOW_SCALES`` on a 3x3 grid, so that a crop finds its original."""
    tree = split_tree(gray)
    for i, (box, parent) in enumerate(tree):
        yield ("page" if i == 0 else "panel"), box, parent
    if not windows:
        return
    x0, y0, x1, y1 = tree[0][0]
    w, h = x1 - x0, y1 - y0
    for s in WINDOW_SCALES:
        ww, wh = round(w * s), round(h * s)
        if min(ww, wh) < 32:
            continue
        for fy in (0.0, 0.5, 1.0):
            for fx in (0.0, 0.5, 1.0):
                bx, by = x0 + round((w - ww) * fx), y0 + round((h - wh) * fy)
                yield "window", (bx, by, bx + ww, by + wh), 0
