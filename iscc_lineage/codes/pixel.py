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
bytes read as different rows are not the same image. The only module that imports pixel
libraries (tifffile, zarr, bioio, ome-types); all of them load at first use.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import iscc_lib as il

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

PIXELS_SCHEME = "pixels-v0"  #: content_code row saying the content was pixel-coded (or why not)
BAND_BYTES = 64 << 20  #: a plane larger than this is read in bands of rows (bounded memory)
TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8")
#: suffix -> (bioio plugin module, extra of iscc-lineage that installs it)
EXTRAS: dict[str, tuple[str, str]] = {
    ".czi": ("bioio_czi", "czi"),
    ".nd2": ("bioio_nd2", "nd2"),
    ".lif": ("bioio_lif", "lif"),
}
_CANONICAL = ("Z", "C", "T")  #: outer -> inner


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
        return {"scene": self.scene, "name": self.name, "iscc": self.iscc, "wide": self.wide,
                "data_code": self.data_code, "datahash": self.datahash, "dtype": self.dtype,
                "sizes": self.sizes, "uniform": self.uniform, "pixel_id": self.pixel_id,
                "metadata": self.metadata}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImageCode:
        return cls(int(d["scene"]), d.get("name"), d["iscc"], d["wide"], d["data_code"],
                   d["datahash"], d["dtype"], {k: int(v) for k, v in d["sizes"].items()},
                   bool(d["uniform"]), d.get("metadata") or {})


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
        if name.endswith(".zarr") or (path.is_dir() and _is_zarr(path)):
            return _code_all("zarr", _zarr_images(path), on_bytes)
        if name.endswith(TIFF_SUFFIXES):
            return _code_all("tifffile", _tiff_images(path), on_bytes)
        if name.endswith(".czi") and (direct := _code_czi(path, on_bytes)) is not None:
            return direct
        for suffix, (module, extra) in EXTRAS.items():
            if name.endswith(suffix):
                return _code_bioio(path, module, extra, on_bytes)
    except _NoReader as exc:
        return PixelResult(note=str(exc))
    except ModuleNotFoundError as exc:  # installed without the pixels extra
        return PixelResult(note=f"no reader installed ({exc.name} is missing: "
                                "pip install 'iscc-lineage[pixels]')")
    except Exception as exc:  # a damaged or unusual file is a note, never a failed run
        log.debug("%s: pixels not coded", path, exc_info=True)
        return PixelResult(note=f"unreadable: {type(exc).__name__}: {_first_line(exc)}")
    return PixelResult(note="not a bioimage format we read")


# -- the canonical stream ---------------------------------------------------------------------


class _NoReader(Exception):
    pass


@dataclass
class _Image:
    """One image to code: its sizes and a plane reader yielding row bands in canonical order."""

    name: str | None
    dtype: Any  # numpy dtype
    sizes: dict[str, int]
    bands: Callable[[], Iterator[Any]]  # yields 2-D numpy arrays (rows of a plane), in order
    metadata: Callable[[], dict[str, Any]]


class _StreamHasher:
    """Data-Code on a background thread (the slower half; iscc-lib releases the GIL), BLAKE3
    on the caller's thread, as fingerprint.py does for large files."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.data = il.DataHasher()
        self.instance = il.InstanceHasher()
        self._pool = pool
        self._pending: Future[None] | None = None

    def update(self, chunk: bytes) -> None:
        if self._pending is not None:
            self._pending.result()
        self._pending = self._pool.submit(self.data.update, chunk)
        self.instance.update(chunk)

    def finish(self) -> tuple[str, str, str, str]:
        if self._pending is not None:
            self._pending.result()
        d256 = self.data.finalize(256)["iscc"]
        inst = self.instance.finalize(256)
        units = [d256, inst["iscc"]]
        narrow = il.gen_iscc_code_v0(units)["iscc"]
        wide = il.gen_iscc_code_v0(units, wide=True)["iscc"]
        return narrow, wide, d256, inst["datahash"]


def _code_all(reader: str, images: Iterator[_Image], on_bytes: OnBytes | None) -> PixelResult:
    out = []
    with ThreadPoolExecutor(1, thread_name_prefix="iscc-lineage-pixels") as pool:
        for scene, img in enumerate(images):
            out.append(_code_one(scene, img, pool, on_bytes))
    if not out:
        return PixelResult(reader=reader, note="no image found")
    return PixelResult(tuple(out), reader)


def _code_one(scene: int, img: _Image, pool: ThreadPoolExecutor,
              on_bytes: OnBytes | None) -> ImageCode:
    import numpy as np

    big = np.dtype(img.dtype).newbyteorder(">")
    hasher = _StreamHasher(pool)
    first: Any = None
    uniform = True
    for band in img.bands():
        if uniform:
            lo, hi = band.min(), band.max()
            first = lo if first is None else first
            uniform = bool(lo == hi == first)
        chunk = band.astype(big, order="C", copy=False).tobytes()  # swap and copy once
        hasher.update(chunk)
        if on_bytes is not None:
            on_bytes(len(chunk))
    narrow, wide, d256, datahash = hasher.finish()
    meta = _base_metadata(img.sizes, np.dtype(img.dtype))
    try:
        meta.update(img.metadata())
    except Exception:  # metadata is a bonus; the pixel code stands without it
        log.debug("metadata of %s not read", img.name, exc_info=True)
    return ImageCode(scene, img.name, narrow, wide, d256, datahash, np.dtype(img.dtype).name,
                     dict(img.sizes), uniform, meta)


def _plane_order(axes: str, shape: tuple[int, ...]) -> tuple[list[str], list[str]]:
    """(plane axes in file order, the same in canonical order): unknown axes (tifffile's
    I, Q, … of a plain TIFF) outermost in file order, then Z, C, T."""
    plane_axes = [a for a in axes if a not in "YXS"]
    unknown = [a for a in plane_axes if a not in _CANONICAL]
    return plane_axes, unknown + [a for a in _CANONICAL if a in plane_axes]


def _sizes(axes: str, shape: tuple[int, ...]) -> dict[str, int]:
    dims = dict(zip(axes, shape, strict=True))
    other = math.prod(n for a, n in dims.items() if a not in "TCZYXS")
    out = {"T": dims.get("T", 1), "C": dims.get("C", 1) * dims.get("S", 1),
           "Z": dims.get("Z", 1) * other, "Y": dims["Y"], "X": dims["X"]}
    if dims.get("S", 1) > 1:
        out["S"] = dims["S"]
    return out


def _bands(read: Callable[[int, int], Any], rows: int, row_bytes: int) -> Iterator[Any]:
    """A plane as bands of rows of at most :data:`BAND_BYTES` (one band when it fits)."""
    step = max(1, BAND_BYTES // max(1, row_bytes))
    for y in range(0, rows, step):
        yield read(y, min(rows, y + step))


# -- TIFF and OME-TIFF (tifffile) -------------------------------------------------------------


def _tiff_images(path: Path) -> Iterator[_Image]:
    import tifffile

    with tifffile.TiffFile(path) as tf:
        ome = _ome_model(tf.ome_metadata) if tf.is_ome and tf.ome_metadata else None
        for index, series in enumerate(tf.series):
            yield _tiff_image(tf, series, index, ome)


def _tiff_image(tf: Any, series: Any, index: int, ome: Any) -> _Image:
    import numpy as np

    axes, shape = series.axes, tuple(series.shape)
    if "Y" not in axes or "X" not in axes:
        raise ValueError(f"series {index} has axes {axes}, no Y and X")
    file_axes, canon = _plane_order(axes, shape)
    dims = dict(zip(axes, shape, strict=True))
    samples = dims.get("S", 1)
    plane_shape = [dims[a] for a in file_axes]
    pages = series.pages
    dtype = np.dtype(series.dtype)
    rows, width = dims["Y"], dims["X"]

    def page_bands(page_index: int, sample: int) -> Iterator[Any]:
        page = pages[page_index]
        if page is None:
            raise ValueError(f"series {index}: plane {page_index} is missing")
        page_axes = page.axes
        if rows * width * dtype.itemsize * samples <= BAND_BYTES:
            yield _pick_sample(page.asarray(), page_axes, sample)
            return
        import zarr

        arr: Any = zarr.open(page.aszarr(), mode="r")

        def read(y0: int, y1: int) -> Any:
            idx = tuple(slice(y0, y1) if a == "Y" else sample if a == "S" else slice(None)
                        for a in page_axes)
            return arr[idx]
        yield from _bands(read, rows, width * dtype.itemsize)

    def bands() -> Iterator[Any]:
        ranges = [range(dims[a]) for a in canon]
        for pos in itertools.product(*ranges):
            at = dict(zip(canon, pos, strict=True))
            for s in range(samples):  # samples (RGB) fold into channels, as OMERO does
                idx = int(np.ravel_multi_index([at[a] for a in file_axes], plane_shape)
                          ) if file_axes else 0
                yield from page_bands(idx, s)

    def metadata() -> dict[str, Any]:
        base = _base_metadata(_sizes(axes, shape), dtype)
        return {**base, **_from_ome(ome, index)} if ome is not None else base

    return _Image(getattr(series, "name", None) or None, dtype, _sizes(axes, shape), bands,
                  metadata)


def _pick_sample(arr: Any, page_axes: str, sample: int) -> Any:
    if "S" not in page_axes:
        return arr.reshape(arr.shape[-2:]) if arr.ndim > 2 else arr
    return arr.take(sample, axis=page_axes.index("S"))


# -- OME-Zarr (zarr v2 and v3) ------------------------------------------------------------------


def _is_zarr(path: Path) -> bool:
    return any((path / n).is_file() for n in (".zattrs", ".zgroup", "zarr.json"))


def _ome_attrs(group: Any) -> dict[str, Any]:
    attrs = dict(group.attrs)
    return dict(attrs.get("ome") or attrs)  # 0.5 nests under "ome"


def _zarr_images(path: Path) -> Iterator[_Image]:
    import zarr

    root = zarr.open_group(str(path), mode="r")
    attrs = _ome_attrs(root)
    ome = None
    if "bioformats2raw.layout" in attrs:
        xml = path / "OME" / "METADATA.ome.xml"
        ome = _ome_model(xml.read_text(encoding="utf-8")) if xml.is_file() else None
        keys = sorted((k for k in root.group_keys() if k.isdigit()), key=int)
        for i, key in enumerate(keys):
            yield _zarr_image(root[key], ome, i)
    elif "plate" in attrs:
        for well in attrs["plate"].get("wells", []):
            wg = root[well["path"]]
            for field_ in _ome_attrs(wg).get("well", {}).get("images", []):
                yield _zarr_image(wg[field_["path"]], None, None)
    elif "multiscales" in attrs:
        yield _zarr_image(root, None, None)
    else:
        raise _NoReader("a Zarr store without OME-Zarr multiscales: not an image")


def _zarr_image(group: Any, ome: Any, ome_index: int | None) -> _Image:
    import numpy as np

    attrs = _ome_attrs(group)
    ms = attrs["multiscales"][0]
    axes = "".join(_axis_name(a) for a in ms.get("axes") or ["t", "c", "z", "y", "x"])
    datasets = ms["datasets"]
    arr = group[datasets[0]["path"]]
    shape = tuple(arr.shape)
    if len(axes) != len(shape):
        raise ValueError(f"axes {axes} do not match shape {shape}")
    _file_axes, canon = _plane_order(axes, shape)
    dims = dict(zip(axes, shape, strict=True))
    dtype = np.dtype(arr.dtype)
    row_bytes = dims["X"] * dtype.itemsize

    def bands() -> Iterator[Any]:
        for pos in itertools.product(*[range(dims[a]) for a in canon]):
            at = dict(zip(canon, pos, strict=True))

            def read(y0: int, y1: int, at: dict[str, int] = at) -> Any:
                idx = tuple(slice(y0, y1) if a == "Y" else slice(None) if a == "X" else at[a]
                            for a in axes)
                return np.asarray(arr[idx])
            yield from _bands(read, dims["Y"], row_bytes)

    def metadata() -> dict[str, Any]:
        meta = _base_metadata(_sizes(axes, shape), dtype)
        meta.update(_ngff_metadata(ms, attrs, axes))
        if ome is not None and ome_index is not None:
            meta.update(_from_ome(ome, ome_index))
        return meta

    return _Image(ms.get("name") or None, dtype, _sizes(axes, shape), bands, metadata)


def _axis_name(axis: Any) -> str:
    name = str(axis.get("name") if isinstance(axis, dict) else axis).upper()
    return name if name in "TCZYX" and len(name) == 1 else "Q"


def _ngff_metadata(ms: dict[str, Any], attrs: dict[str, Any], axes: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    scale = [1.0] * len(axes)
    for t in ms["datasets"][0].get("coordinateTransformations", []):
        if t.get("type") == "scale":
            scale = [a * b for a, b in zip(scale, t["scale"], strict=False)]
    for t in ms.get("coordinateTransformations", []):
        if t.get("type") == "scale":
            scale = [a * b for a, b in zip(scale, t["scale"], strict=False)]
    units = {_axis_name(a): a.get("unit") for a in ms.get("axes", []) if isinstance(a, dict)}
    phys = {a.lower(): s for a, s in zip(axes, scale, strict=False) if a in "ZYX"}
    if phys:
        unit = units.get("X") or units.get("Y")
        out["physical_size"] = {**phys, "unit": _unit(unit) if unit else None}
    channels = (attrs.get("omero") or {}).get("channels")
    if channels:
        out["channels"] = [{"name": c.get("label")} for c in channels]
    return out


def _unit(unit: str) -> str:
    return {"micrometer": "µm", "nanometer": "nm", "millimeter": "mm"}.get(unit, unit)


# -- CZI directly through Zeiss's libCZI (pylibCZIrw, which the czi extra brings) -------------

_CZI_TYPES = {"Gray8": "uint8", "Gray16": "uint16", "Gray32Float": "float32"}


def _code_czi(path: Path, on_bytes: OnBytes | None) -> PixelResult | None:
    """Grayscale CZI planes straight from libCZI: ~50x faster than through bioio's dask
    chunks (64 MiB: 0.2 s against 10 s). None (use bioio) for colour pixel types, or when
    pylibCZIrw is not installed."""
    try:
        from pylibCZIrw import czi as pyczi  # type: ignore[import-untyped]
    except ImportError:
        return None
    with pyczi.open_czi(str(path)) as doc:
        types = set(doc.pixel_types.values())
        if len(types) != 1 or next(iter(types)) not in _CZI_TYPES:
            return None
        return _code_all("pylibCZIrw", _czi_images(doc, _CZI_TYPES[types.pop()]), on_bytes)


def _czi_images(doc: Any, dtype_name: str) -> Iterator[_Image]:
    import numpy as np

    dtype = np.dtype(dtype_name)
    box = doc.total_bounding_box
    scenes = doc.scenes_bounding_rectangle or {None: None}
    meta = _from_czi_xml(_ome_model(doc.raw_metadata))
    for scene, rect in sorted(scenes.items(), key=lambda kv: -1 if kv[0] is None else kv[0]):
        if rect is None:
            x0, y0 = box["X"][0], box["Y"][0]
            w, h = box["X"][1] - x0, box["Y"][1] - y0
        else:
            x0, y0, w, h = rect.x, rect.y, rect.w, rect.h
        dims = {a: box[a][1] - box[a][0] for a in "TCZ" if a in box}
        axes = "".join(a for a in "TCZ" if a in dims) + "YX"
        shape = (*(dims[a] for a in axes[:-2]), h, w)

        def bands(scene: int | None = scene, x0: int = x0, y0: int = y0, w: int = w,
                  h: int = h, dims: dict[str, int] = dims) -> Iterator[Any]:
            canon = [a for a in _CANONICAL if a in dims]
            for pos in itertools.product(*[range(dims[a]) for a in canon]):
                plane = {a: box[a][0] + p for a, p in zip(canon, pos, strict=True)}

                def read(r0: int, r1: int, plane: dict[str, int] = plane) -> Any:
                    out = doc.read(roi=(x0, y0 + r0, w, r1 - r0), plane=plane, scene=scene)
                    return out[..., 0] if out.ndim == 3 else out
                yield from _bands(read, h, w * dtype.itemsize)

        def metadata() -> dict[str, Any]:
            return dict(meta)

        yield _Image(None if scene is None else f"Scene {scene}", dtype, _sizes(axes, shape),
                     bands, metadata)


# -- CZI, ND2, LIF (bioio readers, optional extras) --------------------------------------------


def _code_bioio(path: Path, module: str, extra: str, on_bytes: OnBytes | None) -> PixelResult:
    import importlib

    try:
        plugin = importlib.import_module(module)
        from bioio import BioImage
    except ImportError:
        raise _NoReader(f"no reader for {path.suffix} files installed "
                        f"(pip install 'iscc-lineage[{extra}]')") from None
    img = BioImage(path, reader=plugin.Reader)
    name = module.replace("_", "-")
    return _code_all(name, (_bioio_image(img, i) for i in range(len(img.scenes))), on_bytes)


def _bioio_image(img: Any, scene: int) -> _Image:
    import numpy as np

    img.set_scene(scene)
    order = img.dims.order
    shape = tuple(img.dims.shape)
    axes = "".join(a if a in "TCZYXS" else "Q" for a in order)
    _file_axes, canon = _plane_order(axes, shape)
    dims = dict(zip(axes, shape, strict=True))
    dtype = np.dtype(img.dtype)
    samples = dims.get("S", 1)

    def bands() -> Iterator[Any]:
        img.set_scene(scene)
        for pos in itertools.product(*[range(dims[a]) for a in canon]):
            at = {a: p for a, p in zip(canon, pos, strict=True) if a in "TCZ"}
            out = "YXS" if samples > 1 else "YX"
            plane = np.asarray(img.get_image_dask_data(out, **at).compute())
            for s in range(samples):
                yield plane[..., s] if samples > 1 else plane

    def metadata() -> dict[str, Any]:
        img.set_scene(scene)
        meta = _base_metadata(_sizes(axes, shape), dtype)
        pps = img.physical_pixel_sizes
        phys = {k: v for k, v in (("z", pps.Z), ("y", pps.Y), ("x", pps.X)) if v}
        if phys:
            meta["physical_size"] = {**phys, "unit": "µm"}
        names = [str(c) for c in (img.channel_names or [])]
        if names:
            meta["channels"] = [{"name": n} for n in names]
        raw = img.metadata
        if isinstance(raw, ET.Element) and _local(raw.tag) == "OME":
            meta.update(_from_ome(raw, scene))
        elif isinstance(raw, str) and "<OME" in raw[:2000] and (ome := _ome_model(raw)):
            meta.update(_from_ome(ome, scene))
        else:
            meta.update(_from_czi_xml(raw))
        return meta

    return _Image(str(img.scenes[scene]), dtype, _sizes(axes, shape), bands, metadata)


# -- acquisition metadata -----------------------------------------------------------------------


def _base_metadata(sizes: dict[str, int], dtype: Any) -> dict[str, Any]:
    return {"dimensions": dict(sizes), "pixel_type": str(dtype.name)}


def _ome_model(xml: str) -> ET.Element | None:
    """The OME-XML root, parsed with the standard library: tolerant of the vendor quirks
    (empty enumerations) that make a strict model reject a whole document."""
    try:
        return ET.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    except ET.ParseError:
        log.debug("OME-XML not parsed", exc_info=True)
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kids(el: ET.Element, name: str) -> list[ET.Element]:
    return [k for k in el if _local(k.tag) == name]


def _kid(el: ET.Element | None, name: str) -> ET.Element | None:
    return next(iter(_kids(el, name)), None) if el is not None else None


def _num(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _from_ome(ome: ET.Element, index: int) -> dict[str, Any]:
    """REMBI-aligned fields of one OME Image: instrument, objective, channels, pixel sizes."""
    images = _kids(ome, "Image")
    if index >= len(images):
        return {}
    image = images[index]
    px = _kid(image, "Pixels")
    out: dict[str, Any] = {}
    if image.get("Name"):
        out["name"] = image.get("Name")
    when = _kid(image, "AcquisitionDate")
    date = (when.text or "") if when is not None else ""
    if date.strip():
        out["acquisition_date"] = date.strip()
    if px is None:
        return out
    phys = {k: v for k in ("x", "y", "z")
            if (v := _num(px.get(f"PhysicalSize{k.upper()}"))) is not None}
    if phys:
        out["physical_size"] = {**phys, "unit": px.get("PhysicalSizeXUnit") or "µm"}
    channels = []
    for ch in _kids(px, "Channel"):
        entry: dict[str, Any] = {"name": ch.get("Name")}
        for key, attr in (("excitation_wavelength", "ExcitationWavelength"),
                          ("emission_wavelength", "EmissionWavelength")):
            value = _num(ch.get(attr))
            if value is not None:
                entry[key] = value
                entry["wavelength_unit"] = ch.get(attr + "Unit") or "nm"
        for key, attr in (("fluor", "Fluor"), ("acquisition_mode", "AcquisitionMode"),
                          ("contrast_method", "ContrastMethod"),
                          ("illumination_type", "IlluminationType")):
            if ch.get(attr):
                entry[key] = ch.get(attr)
        channels.append(entry)
    if channels:
        out["channels"] = channels
    instrument = _instrument(ome, image)
    if instrument:
        out["instrument"] = instrument
    return out


def _instrument(ome: ET.Element, image: ET.Element) -> dict[str, Any]:
    instruments = _kids(ome, "Instrument")
    ref = _kid(image, "InstrumentRef")
    inst = next((i for i in instruments if ref is not None and i.get("ID") == ref.get("ID")),
                instruments[0] if len(instruments) == 1 else None)
    if inst is None:
        return {}
    out: dict[str, Any] = {}
    scope = _kid(inst, "Microscope")
    if scope is not None:
        fields = {k: scope.get(a) for k, a in (("manufacturer", "Manufacturer"),
                                               ("model", "Model"), ("type", "Type"))}
        if any(fields.values()):
            out["microscope"] = {k: v for k, v in fields.items() if v}
    settings = _kid(image, "ObjectiveSettings")
    objectives = _kids(inst, "Objective")
    obj = next((o for o in objectives if settings is not None
                and o.get("ID") == settings.get("ID")),
               objectives[0] if len(objectives) == 1 else None)
    if obj is not None:
        objective: dict[str, Any] = {}
        for key, attr in (("model", "Model"), ("manufacturer", "Manufacturer"),
                          ("nominal_magnification", "NominalMagnification"),
                          ("lens_na", "LensNA"), ("immersion", "Immersion"),
                          ("correction", "Correction")):
            value = obj.get(attr)
            if value:
                objective[key] = _num(value) if key in ("nominal_magnification", "lens_na") \
                    else value
        if objective:
            out["objective"] = objective
    detectors = [{k: v for k, a in (("model", "Model"), ("type", "Type"))
                  if (v := d.get(a))} for d in _kids(inst, "Detector")]
    if any(detectors):
        out["detectors"] = [d for d in detectors if d]
    return out


def _from_czi_xml(root: Any) -> dict[str, Any]:
    """Channels, pixel sizes, objective and acquisition date from Zeiss's own metadata XML."""
    if not isinstance(root, ET.Element):
        return {}
    out: dict[str, Any] = {}
    names = [c.get("Name") for c in root.iterfind(".//Information/Image/Dimensions/Channels/"
                                                    "Channel")]
    if names:
        out["channels"] = [{"name": n} for n in names]
    sizes = {}
    for d in root.iterfind(".//Scaling/Items/Distance"):
        value = _num(d.findtext("Value"))
        if d.get("Id") in ("X", "Y", "Z") and value:
            sizes[str(d.get("Id")).lower()] = round(value * 1e6, 9)  # metres -> µm
    if sizes:
        out["physical_size"] = {**sizes, "unit": "µm"}
    date = root.findtext(".//Information/Image/AcquisitionDateAndTime")
    if date:
        out["acquisition_date"] = date
    obj = root.find(".//Information/Instrument/Objectives/Objective")
    if obj is not None:
        objective = {}
        for key, tag in (("model", "Manufacturer/Model"), ("nominal_magnification",
                         "NominalMagnification"), ("lens_na", "LensNA"), ("immersion",
                         "Immersion")):
            text = obj.findtext(tag)
            if text:
                objective[key] = _number(text)
        if objective:
            out["instrument"] = {"objective": objective}
    return out


def _number(text: str) -> Any:
    return float(text) if re.fullmatch(r"-?\d+(\.\d+)?", text.strip()) else text


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]

