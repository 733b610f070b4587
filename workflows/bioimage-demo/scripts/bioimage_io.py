"""I/O helpers shared by the demo scripts.

Every writer here is byte-deterministic: TIFFs carry no timestamp or software tag, and the
OME-Zarr container (Zarr v2 layout, OME-NGFF 0.4 metadata) is written by hand with sorted
JSON keys and zlib-compressed chunks, so equal arrays always give equal files.
"""

import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

ZLIB_LEVEL = 1


def read_tiff(path: str | Path) -> np.ndarray:
    """Read a single-page TIFF into a NumPy array."""
    return np.asarray(tifffile.imread(path))


def write_tiff(path: str | Path, data: np.ndarray) -> None:
    """Write ``data`` as a single-page grayscale TIFF without any time-dependent tags."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(
        path, data, photometric="minisblack", metadata=None, datetime=False, software=False
    )


def _write_json(path: Path, obj: dict[str, Any]) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_zarr_array(path: Path, data: np.ndarray, chunk: int) -> None:
    """Write a 2-D array as a Zarr v2 array with square ``chunk``-sized, zlib-compressed chunks."""
    path.mkdir(parents=True, exist_ok=True)
    data = np.ascontiguousarray(data, dtype=data.dtype.newbyteorder("<"))
    _write_json(
        path / ".zarray",
        {
            "zarr_format": 2,
            "shape": list(data.shape),
            "chunks": [chunk, chunk],
            "dtype": data.dtype.str,
            "compressor": {"id": "zlib", "level": ZLIB_LEVEL},
            "fill_value": 0,
            "order": "C",
            "filters": None,
            "dimension_separator": ".",
        },
    )
    for iy in range(-(-data.shape[0] // chunk)):
        for ix in range(-(-data.shape[1] // chunk)):
            block = np.zeros((chunk, chunk), dtype=data.dtype)  # edge chunks are padded
            tile = data[iy * chunk : (iy + 1) * chunk, ix * chunk : (ix + 1) * chunk]
            block[: tile.shape[0], : tile.shape[1]] = tile
            (path / f"{iy}.{ix}").write_bytes(zlib.compress(block.tobytes(), ZLIB_LEVEL))


def read_zarr_array(path: str | Path) -> np.ndarray:
    """Read a 2-D Zarr v2 array written by :func:`write_zarr_array`."""
    path = Path(path)
    meta = json.loads((path / ".zarray").read_text())
    (height, width), (cy, cx) = meta["shape"], meta["chunks"]
    dtype = np.dtype(meta["dtype"])
    out = np.zeros((-(-height // cy) * cy, -(-width // cx) * cx), dtype=dtype)
    for iy in range(out.shape[0] // cy):
        for ix in range(out.shape[1] // cx):
            raw = zlib.decompress((path / f"{iy}.{ix}").read_bytes())
            out[iy * cy : (iy + 1) * cy, ix * cx : (ix + 1) * cx] = np.frombuffer(
                raw, dtype=dtype
            ).reshape(cy, cx)
    return out[:height, :width]


def multiscales(name: str, pixel_size_um: float) -> list[dict[str, Any]]:
    """OME-NGFF 0.4 ``multiscales`` block for a single-resolution 2-D (y, x) image."""
    return [
        {
            "version": "0.4",
            "name": name,
            "axes": [
                {"name": "y", "type": "space", "unit": "micrometer"},
                {"name": "x", "type": "space", "unit": "micrometer"},
            ],
            "datasets": [
                {
                    "path": "0",
                    "coordinateTransformations": [
                        {"type": "scale", "scale": [pixel_size_um, pixel_size_um]}
                    ],
                }
            ],
        }
    ]


def write_ome_zarr(
    root: str | Path,
    name: str,
    image: np.ndarray,
    labels: np.ndarray,
    pixel_size_um: float,
    chunk: int,
) -> None:
    """Write the OME-Zarr image group ``name`` with the label image ``labels/nuclei`` in it."""
    root = Path(root)
    nuclei = root / "labels" / "nuclei"
    for group in (root, root / "labels", nuclei):
        group.mkdir(parents=True, exist_ok=True)
        _write_json(group / ".zgroup", {"zarr_format": 2})
    _write_json(root / ".zattrs", {"multiscales": multiscales(name, pixel_size_um)})
    _write_json(root / "labels" / ".zattrs", {"labels": ["nuclei"]})
    _write_json(
        nuclei / ".zattrs",
        {
            "multiscales": multiscales("nuclei", pixel_size_um),
            "image-label": {"version": "0.4", "source": {"image": "../../"}},
        },
    )
    write_zarr_array(root / "0", image, chunk)
    write_zarr_array(nuclei / "0", labels, chunk)
