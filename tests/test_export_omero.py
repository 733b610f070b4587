"""``export omero``: the bulk-annotation CSV and bulkmap YAML that ``omero metadata`` imports.

No OMERO server runs here: the files are read back the way omero-metadata's populate reads
them (csv module, the ``# header`` row split as it splits it) and their shape is checked.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pixel_data as pd
import pytest
import yaml
from click.testing import CliRunner

from iscc_lineage.cli import cli
from iscc_lineage.codes.pixel import pixel_codes
from iscc_lineage.export.omero import NAMESPACE

OMERO_TYPES = {"plate", "well", "image", "dataset", "roi", "d", "l", "s", "b"}


def _ok(*args: str) -> str:
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.stdout


@pytest.fixture
def exported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(tmp_path / "lineage.db"))
    data = pd.stack()
    pd.write_ome_tiff(tmp_path / "a.ome.tif", data)
    pd.write_ome_zarr(tmp_path / "a.ome.zarr", data, "0.4")
    pd.write_ome_tiff(tmp_path / "b.ome.tif", pd.changed_pixel(data))
    (tmp_path / "notes.txt").write_text("not an image\n")
    _ok(
        "record",
        "--pixels",
        "-o",
        "a.ome.tif",
        "-o",
        "a.ome.zarr",
        "-o",
        "b.ome.tif",
        "-o",
        "notes.txt",
        "-n",
        "acquire",
    )
    _ok("export", "omero", "omero")
    return tmp_path


def test_csv_has_one_row_per_image_in_omero_populate_shape(exported: Path) -> None:
    with open(exported / "omero" / "iscc-omero.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header_types, names, body = rows[0], rows[1], rows[2:]
    assert "# header" in header_types[0]  # what populate's HeaderResolver looks for
    types = [re.sub(r"# header ", "", header_types[0]), *header_types[1:]]
    assert len(types) == len(names) and set(types) <= OMERO_TYPES
    assert names[0] == "Image Name" and "ISCC-CODE" in names
    assert len(body) == 3 and all(len(r) == len(names) for r in body)
    by_name = {r[0]: dict(zip(names, r, strict=True)) for r in body}
    assert set(by_name) == {"a.ome.tif", "a.ome.zarr", "b.ome.tif"}
    # ISCC-CODE is the WIDE pixel code: equal for the two formats of one image
    assert by_name["a.ome.tif"]["ISCC-CODE"] == by_name["a.ome.zarr"]["ISCC-CODE"]
    assert by_name["b.ome.tif"]["ISCC-CODE"] != by_name["a.ome.tif"]["ISCC-CODE"]
    assert by_name["a.ome.tif"]["ISCC-CODE"] == pixel_codes(exported / "a.ome.tif").images[0].wide
    assert by_name["a.ome.tif"]["ISCC-FILE"] != by_name["a.ome.zarr"]["ISCC-FILE"]


def test_bulkmap_maps_every_iscc_column_into_the_namespace(exported: Path) -> None:
    cfg = yaml.safe_load((exported / "omero" / "iscc-omero-bulkmap.yml").read_text())
    assert cfg["version"] == 2
    (group,) = [c["group"] for c in cfg["columns"] if "group" in c]
    assert group["namespace"] == NAMESPACE == "org.iscc.omero"
    with open(exported / "omero" / "iscc-omero.csv", newline="", encoding="utf-8") as f:
        names = list(csv.reader(f))[1]
    mapped = [c["name"] for c in group["columns"] if c["include"]]
    assert mapped == names[1:]  # every column but the image's name, in order
    assert all(c["clientname"] == c["name"] for c in group["columns"])


def test_nothing_to_export_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(tmp_path / "lineage.db"))
    (tmp_path / "x.txt").write_text("x\n")
    _ok("record", "-o", "x.txt", "-n", "s")
    res = CliRunner().invoke(cli, ["export", "omero", "out"])
    assert res.exit_code == 2 and "no pixel-coded images" in res.output
    assert not (tmp_path / "out").exists()
