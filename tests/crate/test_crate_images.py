"""Images in the RO-Crate: one entity per image, encoded by every file holding its pixels,
with the acquisition metadata; the crate stays valid under rocrate-validator (REQUIRED)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from crate_helpers import Validate, failures, invoke

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import pixel_data as pd


@pytest.fixture
def imaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """acquire -> raw/a.czi -> convert -> conv/a.ome.tif, recorded with --pixels."""
    proj = tmp_path / "proj"
    (proj / "raw").mkdir(parents=True)
    (proj / "conv").mkdir()
    monkeypatch.chdir(proj)
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(tmp_path / "lineage.db"))
    data = pd.stack()
    try:
        pd.write_czi(proj / "raw" / "a.czi", data)
    except ImportError as exc:  # pragma: no cover - pylibCZIrw ships manylinux wheels
        pytest.skip(f"pylibCZIrw cannot be installed here: {exc}")
    invoke("record", "--run", "r1", "--pixels", "-n", "acquire", "-o", "raw/a.czi")
    pd.write_ome_tiff(proj / "conv" / "a.ome.tif", data)
    invoke(
        "record",
        "--run",
        "r1",
        "--pixels",
        "-n",
        "convert",
        "-i",
        "raw/a.czi",
        "-o",
        "conv/a.ome.tif",
    )
    return tmp_path


def _graph(crate: Path) -> dict[str, dict[str, Any]]:
    doc = json.loads((crate / "ro-crate-metadata.json").read_text())
    return {e["@id"]: e for e in doc["@graph"]}


def test_one_image_entity_for_two_formats_with_metadata(imaged: Path, validate: Validate) -> None:
    out = imaged / "crate"
    invoke(
        "--store",
        str(imaged / "lineage.db"),
        "export",
        "crate",
        str(out),
        "--data",
        "all",
        "--license",
        "CC-BY-4.0",
        "--author",
        "0000-0002-1825-0097",
    )
    g = _graph(out)
    czi, tif = g["raw/a.czi"], g["conv/a.ome.tif"]
    assert czi["encodesCreativeWork"] == tif["encodesCreativeWork"]
    image = g[czi["encodesCreativeWork"]["@id"]]
    assert {r["@id"] for r in image["encoding"]} == {"raw/a.czi", "conv/a.ome.tif"}
    values = {g[r["@id"]]["name"]: g[r["@id"]]["value"] for r in image["exifData"]}
    assert values["objective numerical aperture"] == 1.4  # from the OME-TIFF's OME-XML
    assert values["channel 1"] == "GFP"  # the CZI's own channel names
    assert values["physical pixel size x"] == pytest.approx(0.1)
    assert values["channel 0 excitation wavelength"] == 405.0
    assert image["dateCreated"].startswith("2026-11-03")
    ids = [g[r["@id"]]["value"] for r in image["identifier"]]
    assert any(v.startswith("ISCC:KUA") for v in ids) and any(v.startswith("ISCC:K4A") for v in ids)
    report = validate(out)
    assert report["passed"], failures(report)
