"""Pixel-level codes of bioimages: one ISCC-SUM per image (scene / series) over its pixels.

The IMAGEWALK order of iscc-bio (``docs/imagewalk.md``), which also reproduces OMERO's pixel
digest: scenes in file order; per scene the 2-D planes with **Z outermost, then C, then T**;
each plane row-major (Y then X) as **big-endian bytes of its native dtype**; the stream goes
into a Data-Code and an Instance-Code (BLAKE3). Container, compression, chunking and pyramid
levels do not enter the code (full resolution only), so a CZI, its OME-TIFF and its OME-Zarr
copies share it; a crop, a rescale or a changed dtype does not.

We read with tifffile (TIFF, OME-TIFF) and zarr (OME-Zarr 0.4 on Zarr v2, 0.5 on Zarr v3,
bioformats2raw layout, HCS plates) ourselves, one plane at a time; grayscale CZI through
Zeiss's libCZI (pylibCZIrw); colour CZI, ND2 and LIF through bioio readers (optional
extras). iscc-bio itself reads every format through bioio with the readers' default chunks,
which decode a whole Z-stack per plane: ~9-22x slower and 5-8x the memory on an OME-TIFF,
~10x slower on a CZI (``benchmarks/bench_pixels.py``). Its output is the test oracle
(``tests/test_pixel_codes.py``).

Identity is the 256-bit BLAKE3 of the canonical stream **plus dtype and plane size**: equal
bytes read as different rows are not the same image. This package is the only importer of
pixel libraries (tifffile, zarr, bioio, ome-types); all of them load at first use. Its modules:
``stream`` (result types, canonical order, hashing), ``readers`` (one per format) and
``metadata`` (OME-XML and CZI acquisition metadata).
"""

from __future__ import annotations

import logging
from pathlib import Path

from iscc_lineage.codes.pixel.readers import (
    EXTRAS,
    TIFF_SUFFIXES,
    code_bioio,
    code_czi,
    is_zarr,
    tiff_images,
    zarr_images,
)
from iscc_lineage.codes.pixel.stream import (
    BAND_BYTES,
    PIXELS_SCHEME,
    ImageCode,
    NoReader,
    OnBytes,
    PixelResult,
    code_all,
)

__all__ = [
    "BAND_BYTES",
    "EXTRAS",
    "PIXELS_SCHEME",
    "ImageCode",
    "PixelResult",
    "is_bioimage",
    "pixel_codes",
]

log = logging.getLogger(__name__)


def is_bioimage(path: Path) -> bool:
    """Whether a path looks like a bioimage we would pixel-code (by name; a directory counts
    when it is an OME-Zarr)."""
    name = path.name.lower()
    if name.endswith(".zarr"):
        return True
    return name.endswith(TIFF_SUFFIXES) or any(name.endswith(s) for s in EXTRAS)


def pixel_codes(path: Path, *, on_bytes: OnBytes | None = None) -> PixelResult:
    """Pixel codes of every image in ``path``; never raises for a file it cannot read.

    A missing reader, a non-image file or a damaged one gives a result with ``note`` and no
    images: a note for the user, not a failure of the run.
    """
    name = path.name.lower()
    try:
        if name.endswith(".zarr") or (path.is_dir() and is_zarr(path)):
            return code_all("zarr", zarr_images(path), on_bytes)
        if name.endswith(TIFF_SUFFIXES):
            return code_all("tifffile", tiff_images(path), on_bytes)
        if name.endswith(".czi") and (direct := code_czi(path, on_bytes)) is not None:
            return direct
        for suffix, (module, extra) in EXTRAS.items():
            if name.endswith(suffix):
                return code_bioio(path, module, extra, on_bytes)
    except NoReader as exc:
        return PixelResult(note=str(exc))
    except ModuleNotFoundError as exc:  # installed without the pixels extra
        return PixelResult(
            note=f"no reader installed ({exc.name} is missing: pip install 'iscc-lineage[pixels]')"
        )
    except Exception as exc:  # a damaged or unusual file is a note, never a failed run
        log.debug("%s: pixels not coded", path, exc_info=True)
        return PixelResult(note=f"unreadable: {type(exc).__name__}: {_first_line(exc)}")
    return PixelResult(note="not a bioimage format we read")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]
