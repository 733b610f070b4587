"""Images in the crate: one entity per image, encoded by every file that holds its pixels.

The BioImage Archive's RO-Crate model tells an *Image* (the work) from its *representations*
(a CZI, an OME-TIFF, an OME-Zarr: items). In schema.org terms, which the RO-Crate context
carries: each ``File`` / ``Dataset`` ``encodesCreativeWork`` the image, the image lists its
``encoding``\\s. The image carries its pixel code as an ``identifier`` and the acquisition
metadata as ``exifData`` ``PropertyValue``\\s named after REMBI's image acquisition fields
(imaging instrument, objective, channels, physical pixel size, dimensions), each with the OME
data model term as its ``propertyID``; the acquisition date is its ``dateCreated``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from iscc_lineage.codes.pixel import ImageCode
from iscc_lineage.export.crate.place import Entry
from iscc_lineage.export.crate.terms import ISCC_IRI, ref, refs

__all__ = ["image_entities"]

OME = "http://www.openmicroscopy.org/Schemas/OME/2016-06#"
DATAHASH = "http://purl.org/iscc/terms/#datahash"


def image_id(image: ImageCode) -> str:
    """One id per image, whatever file holds it: the pixel stream's digest, dtype and plane."""
    digest = image.datahash.removeprefix("1e20")[:32]
    return f"#image-{digest}-{image.dtype}-{image.sizes['Y']}x{image.sizes['X']}"


def image_entities(
    entries: Sequence[Entry], images: dict[str, list[ImageCode]]
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """(extra properties per file entity, the image and value entities) for the crate."""
    patch: dict[str, dict[str, Any]] = {}
    found: dict[str, tuple[ImageCode, list[str], str]] = {}  # image id -> (image, files, name)
    for e in entries:
        if e.content is None or not e.id:
            continue
        held = images.get(e.content.datahash, [])
        if not held:
            continue
        ids = [image_id(i) for i in held]
        patch[e.id] = {"encodesCreativeWork": refs(ids)}
        for i, iid in zip(held, ids, strict=True):
            name = e.rel.rpartition("/")[2] or e.rel
            if len(held) > 1:
                name += f" [{i.name or i.scene}]"
            if iid in found:
                found[iid][1].append(e.id)
                _fill(found[iid][0].metadata, i.metadata)
            else:
                found[iid] = (replace(i, metadata=json.loads(json.dumps(i.metadata))), [e.id], name)
    out: list[dict[str, Any]] = []
    values: dict[str, dict[str, Any]] = {}
    for iid in sorted(found):
        image, files, name = found[iid]
        out.append(_image(iid, image, files, name, values))
    out.extend(values[k] for k in sorted(values))
    return patch, out


def _fill(into: dict[str, Any], more: dict[str, Any]) -> None:
    """Metadata of one image from several files: what the first lacks, the next may have
    (a CZI's channels, its OME-TIFF's objective); the first file's values win."""
    for key, value in more.items():
        if key not in into:
            into[key] = value
        elif isinstance(into[key], dict) and isinstance(value, dict):
            _fill(into[key], value)


def _image(
    iid: str, image: ImageCode, files: list[str], name: str, values: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    code = _value(
        values,
        f"#pixels-{image.iscc.removeprefix('ISCC:')}",
        ISCC_IRI,
        image.iscc,
        "ISCC-SUM of the pixels (IMAGEWALK, ISO 24138:2024)",
    )
    wide = _value(
        values,
        f"#pixels-{image.wide.removeprefix('ISCC:')}",
        ISCC_IRI,
        image.wide,
        "ISCC-CODE of the pixels, WIDE (as omero-iscc, namespace org.iscc.omero)",
    )
    digest = _value(
        values,
        f"#pixels-{image.datahash}",
        DATAHASH,
        image.datahash,
        "BLAKE3 of the canonical pixel stream",
    )
    ent: dict[str, Any] = {
        "@id": iid,
        "@type": "CreativeWork",
        "name": name,
        "description": "An image (the pixels), whatever file format holds it; the files "
        "listed under encoding hold exactly these pixels.",
        "identifier": refs([code, wide, digest]),
        "encoding": refs(files),
    }
    meta = image.metadata
    if meta.get("acquisition_date"):
        ent["dateCreated"] = str(meta["acquisition_date"])
    props = list(_acquisition(iid, image))
    ent["exifData"] = [ref(p["@id"]) for p in props]
    for p in props:
        values[p["@id"]] = p
    return ent


def _value(values: dict[str, dict[str, Any]], pid: str, prop: str, value: str, name: str) -> str:
    values.setdefault(
        pid,
        {"@id": pid, "@type": "PropertyValue", "name": name, "propertyID": prop, "value": value},
    )
    return pid


def _pv(
    iid: str, key: str, name: str, prop: str, value: Any, unit: str | None = None
) -> dict[str, Any]:
    out = {
        "@id": f"{iid}-{key}",
        "@type": "PropertyValue",
        "name": name,
        "propertyID": OME + prop,
        "value": value,
    }
    if unit:
        out["unitText"] = unit
    return out


def _acquisition(iid: str, image: ImageCode) -> Iterable[dict[str, Any]]:
    """REMBI image acquisition fields as PropertyValues (OME terms as propertyID)."""
    meta, sizes = image.metadata, image.sizes
    dims = ", ".join(f"{k} {v}" for k, v in sizes.items() if k != "S")
    yield _pv(iid, "dimensions", "image dimensions (T, C, Z, Y, X)", "Pixels", dims)
    yield _pv(iid, "pixel-type", "pixel type", "PixelType", image.dtype)
    px = meta.get("physical_size") or {}
    for axis in ("x", "y", "z"):
        if px.get(axis):
            yield _pv(
                iid,
                f"size-{axis}",
                f"physical pixel size {axis}",
                f"Pixels_PhysicalSize{axis.upper()}",
                float(px[axis]),
                px.get("unit") or "µm",
            )
    inst = meta.get("instrument") or {}
    scope = inst.get("microscope") or {}
    if scope:
        yield _pv(
            iid,
            "instrument",
            "imaging instrument description",
            "Microscope",
            " ".join(str(v) for v in scope.values()),
        )
    obj = inst.get("objective") or {}
    for key, name, prop in (
        ("model", "objective", "Objective_Model"),
        ("nominal_magnification", "objective magnification", "Objective_NominalMagnification"),
        ("lens_na", "objective numerical aperture", "Objective_LensNA"),
        ("immersion", "objective immersion", "Objective_Immersion"),
    ):
        if obj.get(key) is not None:
            yield _pv(iid, f"objective-{key.replace('_', '-')}", name, prop, obj[key])
    for n, ch in enumerate(meta.get("channels") or []):
        if ch.get("name"):
            yield _pv(iid, f"channel-{n}", f"channel {n}", "Channel_Name", str(ch["name"]))
        for key, label, prop in (
            ("excitation_wavelength", "excitation wavelength", "Channel_ExcitationWavelength"),
            ("emission_wavelength", "emission wavelength", "Channel_EmissionWavelength"),
        ):
            if ch.get(key):
                yield _pv(
                    iid,
                    f"channel-{n}-{key.split('_')[0]}",
                    f"channel {n} {label}",
                    prop,
                    float(ch[key]),
                    ch.get("wavelength_unit") or "nm",
                )
