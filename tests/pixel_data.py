"""Real bioimage files for the pixel tests, each written by its own library (never mocks).

One multi-channel Z-stack (C=2, Z=3, uint16) as CZI (pylibCZIrw), OME-TIFF with OME-XML
(tifffile + ome-types: instrument, objective, channels, wavelengths, pixel sizes, date),
OME-Zarr 0.4 (Zarr v2) and 0.5 (Zarr v3) (ome-zarr-py), and a plain TIFF whose pages are the
planes in canonical order; and the same stack with one pixel changed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

C, Z, Y, X = 2, 3, 96, 80
CHANNELS = ("DAPI", "GFP")
WAVELENGTHS = ((405.0, 461.0), (488.0, 509.0))
PIXEL_UM = (0.5, 0.1, 0.1)  # z, y, x
ACQUIRED = datetime(2026, 11, 3, 14, 5, 0, tzinfo=UTC)


def stack(seed: int = 7) -> Any:
    """C, Z, Y, X uint16 with structure (not uniform), deterministic."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4096, size=(C, Z, Y, X), dtype=np.uint16)


def ome_xml(name: str = "stack") -> str:
    from ome_types import to_xml
    from ome_types.model import (
        OME,
        Channel,
        Image,
        Instrument,
        InstrumentRef,
        Microscope,
        Objective,
        ObjectiveSettings,
        Pixels,
        TiffData,
    )

    channels = [
        Channel(
            id=f"Channel:0:{i}",
            name=n,
            samples_per_pixel=1,
            excitation_wavelength=ex,
            emission_wavelength=em,
        )
        for i, (n, (ex, em)) in enumerate(zip(CHANNELS, WAVELENGTHS, strict=True))
    ]
    pixels = Pixels(
        id="Pixels:0",
        dimension_order="XYZCT",
        type="uint16",
        size_x=X,
        size_y=Y,
        size_z=Z,
        size_c=C,
        size_t=1,
        physical_size_x=PIXEL_UM[2],
        physical_size_y=PIXEL_UM[1],
        physical_size_z=PIXEL_UM[0],
        channels=channels,
        tiff_data_blocks=[TiffData(plane_count=C * Z)],
    )
    objective = Objective(
        id="Objective:0",
        model="Plan-Apochromat 63x/1.40 Oil",
        nominal_magnification=63.0,
        lens_na=1.4,
        immersion="Oil",
    )
    instrument = Instrument(
        id="Instrument:0",
        objectives=[objective],
        microscope=Microscope(manufacturer="Zeiss", model="LSM 980"),
    )
    image = Image(
        id="Image:0",
        name=name,
        acquisition_date=ACQUIRED,
        pixels=pixels,
        instrument_ref=InstrumentRef(id="Instrument:0"),
        objective_settings=ObjectiveSettings(id="Objective:0"),
    )
    return str(to_xml(OME(images=[image], instruments=[instrument])))


def write_ome_tiff(path: Path, data: Any, *, compression: str | None = None) -> Path:
    """OME-TIFF, pages in XYZCT order (C outer, Z inner), the OME-XML in the first page."""
    import tifffile

    planes = data.reshape(C * Z, Y, X)
    tifffile.imwrite(
        path,
        planes,
        description=ome_xml(path.stem),
        metadata=None,
        photometric="minisblack",
        compression=compression,
    )
    return path


def write_plain_tiff(path: Path, data: Any) -> Path:
    """A TIFF without metadata: one page per plane, Z outermost then C (canonical order)."""
    import tifffile

    planes = data.transpose(1, 0, 2, 3).reshape(C * Z, Y, X)
    tifffile.imwrite(path, planes, metadata=None, photometric="minisblack")
    return path


def write_ome_zarr(path: Path, data: Any, version: str) -> Path:
    """OME-Zarr 0.4 (Zarr v2) or 0.5 (Zarr v3) with a two-level pyramid, pixel sizes, channels."""
    import zarr
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_image

    fmt = FormatV04() if version == "0.4" else FormatV05()
    root = zarr.open_group(str(path), mode="w", zarr_format=fmt.zarr_format)
    write_image(
        data[None],
        root,
        axes="tczyx",
        fmt=fmt,
        scale_factors=[2],
        scale={"z": PIXEL_UM[0], "y": PIXEL_UM[1], "x": PIXEL_UM[2]},
        axes_units={"z": "micrometer", "y": "micrometer", "x": "micrometer"},
        metadata={
            "omero": {
                "channels": [{"label": n, "color": "FFFFFF", "active": True} for n in CHANNELS]
            }
        },
    )
    return path


def write_czi(path: Path, data: Any) -> Path:
    """CZI through Zeiss's libCZI (pylibCZIrw), channel names and scaling in its metadata."""
    from pylibCZIrw import czi as pyczi

    with pyczi.create_czi(str(path), exist_ok=True) as doc:
        for c in range(C):
            for z in range(Z):
                doc.write(data=np.ascontiguousarray(data[c, z]), plane={"C": c, "Z": z, "T": 0})
        doc.write_metadata(
            document_name=path.stem,
            channel_names=dict(enumerate(CHANNELS)),
            scale_x=PIXEL_UM[2] * 1e-6,
            scale_y=PIXEL_UM[1] * 1e-6,
            scale_z=PIXEL_UM[0] * 1e-6,
        )
    return path


def changed_pixel(data: Any) -> Any:
    out = data.copy()
    out[1, 2, 40, 33] ^= 1
    return out
