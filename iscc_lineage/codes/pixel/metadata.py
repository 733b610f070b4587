"""Acquisition metadata of an image from OME-XML and Zeiss CZI XML (REMBI-aligned fields)."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from typing import Any

__all__ = ["base_metadata", "from_czi_xml", "from_ome", "local_name", "ome_model"]

log = logging.getLogger(__name__)


def base_metadata(sizes: dict[str, int], dtype: Any) -> dict[str, Any]:
    return {"dimensions": dict(sizes), "pixel_type": str(dtype.name)}


def ome_model(xml: str) -> ET.Element | None:
    """The OME-XML root, parsed with the standard library: tolerant of the vendor quirks
    (empty enumerations) that make a strict model reject a whole document."""
    try:
        return ET.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    except ET.ParseError:
        log.debug("OME-XML not parsed", exc_info=True)
        return None


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kids(el: ET.Element, name: str) -> list[ET.Element]:
    return [k for k in el if local_name(k.tag) == name]


def _kid(el: ET.Element | None, name: str) -> ET.Element | None:
    return next(iter(_kids(el, name)), None) if el is not None else None


def _num(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def from_ome(ome: ET.Element, index: int) -> dict[str, Any]:
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
    phys = {
        k: v for k in ("x", "y", "z") if (v := _num(px.get(f"PhysicalSize{k.upper()}"))) is not None
    }
    if phys:
        out["physical_size"] = {**phys, "unit": px.get("PhysicalSizeXUnit") or "µm"}
    channels = []
    for ch in _kids(px, "Channel"):
        entry: dict[str, Any] = {"name": ch.get("Name")}
        for key, attr in (
            ("excitation_wavelength", "ExcitationWavelength"),
            ("emission_wavelength", "EmissionWavelength"),
        ):
            value = _num(ch.get(attr))
            if value is not None:
                entry[key] = value
                entry["wavelength_unit"] = ch.get(attr + "Unit") or "nm"
        for key, attr in (
            ("fluor", "Fluor"),
            ("acquisition_mode", "AcquisitionMode"),
            ("contrast_method", "ContrastMethod"),
            ("illumination_type", "IlluminationType"),
        ):
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
    inst = next(
        (i for i in instruments if ref is not None and i.get("ID") == ref.get("ID")),
        instruments[0] if len(instruments) == 1 else None,
    )
    if inst is None:
        return {}
    out: dict[str, Any] = {}
    scope = _kid(inst, "Microscope")
    if scope is not None:
        fields = {
            k: scope.get(a)
            for k, a in (("manufacturer", "Manufacturer"), ("model", "Model"), ("type", "Type"))
        }
        if any(fields.values()):
            out["microscope"] = {k: v for k, v in fields.items() if v}
    settings = _kid(image, "ObjectiveSettings")
    objectives = _kids(inst, "Objective")
    obj = next(
        (o for o in objectives if settings is not None and o.get("ID") == settings.get("ID")),
        objectives[0] if len(objectives) == 1 else None,
    )
    if obj is not None:
        objective: dict[str, Any] = {}
        for key, attr in (
            ("model", "Model"),
            ("manufacturer", "Manufacturer"),
            ("nominal_magnification", "NominalMagnification"),
            ("lens_na", "LensNA"),
            ("immersion", "Immersion"),
            ("correction", "Correction"),
        ):
            value = obj.get(attr)
            if value:
                objective[key] = (
                    _num(value) if key in ("nominal_magnification", "lens_na") else value
                )
        if objective:
            out["objective"] = objective
    detectors = [
        {k: v for k, a in (("model", "Model"), ("type", "Type")) if (v := d.get(a))}
        for d in _kids(inst, "Detector")
    ]
    if any(detectors):
        out["detectors"] = [d for d in detectors if d]
    return out


def from_czi_xml(root: Any) -> dict[str, Any]:
    """Channels, pixel sizes, objective and acquisition date from Zeiss's own metadata XML."""
    if not isinstance(root, ET.Element):
        return {}
    out: dict[str, Any] = {}
    names = [
        c.get("Name") for c in root.iterfind(".//Information/Image/Dimensions/Channels/Channel")
    ]
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
        for key, tag in (
            ("model", "Manufacturer/Model"),
            ("nominal_magnification", "NominalMagnification"),
            ("lens_na", "LensNA"),
            ("immersion", "Immersion"),
        ):
            text = obj.findtext(tag)
            if text:
                objective[key] = _number(text)
        if objective:
            out["instrument"] = {"objective": objective}
    return out


def _number(text: str) -> Any:
    return float(text) if re.fullmatch(r"-?\d+(\.\d+)?", text.strip()) else text
