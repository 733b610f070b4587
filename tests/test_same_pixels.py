"""Same pixels, same image: trace and impact cross file formats, through the CLI and a store.

acquire -> raw/a.czi -> convert -> conv/a.ome.tif -> segment -> results/mask.tif, recorded with
``record --pixels``; the OME-Zarr copies are made outside the lineage, as a repository would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pixel_data as pd
import pytest
import tifffile
from click.testing import CliRunner, Result

from iscc_lineage.cli import cli


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _ok(*args: str) -> Result:
    res = _run(*args)
    assert res.exit_code == 0, res.output
    return res


def _json(*args: str) -> Any:
    return json.loads(_ok(*args, "--json").stdout)


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(tmp_path / "lineage.db"))
    data = pd.stack()
    for d in ("raw", "conv", "results", "deposit"):
        (tmp_path / d).mkdir()
    try:
        pd.write_czi(tmp_path / "raw" / "a.czi", data)
    except ImportError as exc:  # pragma: no cover - pylibCZIrw ships manylinux wheels
        pytest.skip(f"pylibCZIrw cannot be installed here: {exc}")
    _ok("record", "--pixels", "-o", "raw/a.czi", "-n", "acquire")
    pd.write_ome_tiff(tmp_path / "conv" / "a.ome.tif", data, compression="zlib")
    _ok("record", "--pixels", "-i", "raw/a.czi", "-o", "conv/a.ome.tif", "-n", "convert")
    mask = (data[0] > 2048).astype(np.uint8)
    tifffile.imwrite(
        tmp_path / "results" / "mask.tif", mask, metadata=None, photometric="minisblack"
    )
    _ok("record", "--pixels", "-i", "conv/a.ome.tif", "-o", "results/mask.tif", "-n", "segment")
    pd.write_ome_zarr(tmp_path / "deposit" / "a.ome.zarr", data, "0.5")  # not recorded
    return tmp_path


def _step_names(doc: dict[str, Any]) -> list[str]:
    return [s["name"] for s in doc["steps"]]


def test_trace_of_unrecorded_zarr_copy_reaches_the_acquisition(lab: Path) -> None:
    res = _ok("trace", "deposit/a.ome.zarr")
    assert "same pixels as raw/a.czi" in res.stdout and "(different file)" in res.stdout
    assert "acquire" in res.stdout
    doc = _json("trace", "deposit/a.ome.zarr")
    czi = _json("show", "raw/a.czi")["file"]["content"]
    assert doc["same_pixels"]["datahash"] == czi["datahash"]
    assert _step_names(doc) == ["acquire"]
    assert [s["datahash"] for s in doc["sources"]] == [czi["datahash"]]


def test_trace_crosses_a_recorded_copy_used_by_a_later_step(lab: Path) -> None:
    pd.write_ome_zarr(lab / "deposit" / "a4.ome.zarr", pd.stack(), "0.4")
    (lab / "report.txt").write_text("deposit checked\n")
    _ok("record", "--pixels", "-i", "deposit/a4.ome.zarr", "-o", "report.txt", "-n", "check")
    doc = _json("trace", "report.txt")
    assert _step_names(doc) == ["check", "acquire"]  # the copy's image was acquired
    czi = _json("show", "raw/a.czi")["file"]["content"]["datahash"]
    assert [s["datahash"] for s in doc["sources"]] == [czi]  # the copy itself is no source
    text = _ok("trace", "report.txt").stdout
    assert "same pixels as raw/a.czi" in text
    # and forward: the raw acquisition's impact reaches the step that read its copy
    assert "check" in _step_names(_json("impact", "raw/a.czi"))


def test_a_conversion_step_shows_between_two_representations(lab: Path) -> None:
    doc = _json("trace", "conv/a.ome.tif")
    assert _step_names(doc) == ["convert", "acquire"]
    tif = doc["target"]["datahash"]
    czi = _json("show", "raw/a.czi")["file"]["content"]["datahash"]
    assert doc["same_pixels_as"][tif] == [czi]
    # the raw file's own trace does not take its conversion for its history
    assert _step_names(_json("trace", "raw/a.czi")) == ["acquire"]
    # impact of the raw file: the conversion, then the analysis of the converted file
    assert _step_names(_json("impact", "raw/a.czi")) == ["convert", "segment"]


def test_one_changed_pixel_is_another_image(lab: Path) -> None:
    pd.write_ome_zarr(lab / "deposit" / "changed.ome.zarr", pd.changed_pixel(pd.stack()), "0.5")
    res = _run("trace", "deposit/changed.ome.zarr")
    assert res.exit_code == 1
    assert "same pixels" not in res.output


def test_crop_and_rescale_are_not_same_pixels(lab: Path) -> None:
    data = pd.stack()
    planes = data.transpose(1, 0, 2, 3).reshape(-1, pd.Y, pd.X)
    tifffile.imwrite(lab / "crop.tif", planes[:, 1:, :], metadata=None, photometric="minisblack")
    tifffile.imwrite(
        lab / "half.tif", (planes >> 1).astype(np.uint16), metadata=None, photometric="minisblack"
    )
    for name in ("crop.tif", "half.tif"):
        assert _run("trace", name).exit_code == 1, name


def test_uniform_images_never_join_lineages(lab: Path) -> None:
    # Two unrelated steps each write an all-zero mask (same pixels, different bytes).
    (lab / "a.txt").write_text("a\n")
    (lab / "b.txt").write_text("b\n")
    zeros = np.zeros((4, 32, 32), np.uint16)
    tifffile.imwrite(lab / "z1.tif", zeros, metadata=None, photometric="minisblack")
    _ok("record", "--pixels", "-i", "a.txt", "-o", "z1.tif", "-n", "empty-a")
    tifffile.imwrite(
        lab / "z2.tif", zeros, metadata=None, photometric="minisblack", compression="zlib"
    )
    _ok("record", "--pixels", "-i", "b.txt", "-o", "z2.tif", "-n", "empty-b")
    assert _step_names(_json("trace", "z2.tif")) == ["empty-b"]
    doc = _json("trace", "z2.tif")
    assert (doc["same_pixels_as"], doc["images"]) == ({}, {})  # no image node either
    assert "representations" not in _ok("trace", "z2.tif").stdout


def test_show_carries_the_acquisition_metadata(lab: Path) -> None:
    doc = _json("show", "conv/a.ome.tif")["file"]
    (img,) = doc["images"]
    meta = img["metadata"]
    assert meta["instrument"]["objective"]["lens_na"] == 1.4
    assert meta["instrument"]["objective"]["nominal_magnification"] == 63.0
    assert [c["excitation_wavelength"] for c in meta["channels"]] == [405.0, 488.0]
    assert [s["paths"] for s in doc["same_pixels"]] == [[str(lab / "raw" / "a.czi")]]
    text = _ok("show", "conv/a.ome.tif").stdout
    for expected in (
        "NA 1.4",
        "63x",
        "LSM 980",
        "DAPI ex/em 405/461 nm",
        "2026-11-03",
        "same pixels as raw/a.czi",
    ):
        assert expected in text, expected
    czi = _json("show", "raw/a.czi")["file"]["images"][0]["metadata"]
    assert [c["name"] for c in czi["channels"]] == ["DAPI", "GFP"]


def test_reindex_adds_pixel_codes_later_and_skips_changed_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(tmp_path / "lineage.db"))
    data = pd.stack()
    pd.write_ome_tiff(tmp_path / "a.ome.tif", data)
    pd.write_plain_tiff(tmp_path / "b.tif", data)
    _ok("record", "-o", "a.ome.tif", "-n", "acquire")  # no --pixels: nothing coded yet
    _ok("record", "-i", "a.ome.tif", "-o", "b.tif", "-n", "convert")
    (tmp_path / "notes.txt").write_text("x\n")
    _ok("record", "-i", "b.tif", "-o", "notes.txt", "-n", "read")
    pd.write_ome_zarr(tmp_path / "c.ome.zarr", data, "0.4")
    assert _run("trace", "c.ome.zarr").exit_code == 1  # no pixel codes in the store yet
    os.utime(tmp_path / "b.tif")
    tifffile.imwrite(tmp_path / "b.tif", pd.changed_pixel(data)[0], metadata=None)  # changed
    doc = _json("reindex", "--pixels")
    by_path = {Path(o["path"]).name: o for o in doc["outcomes"]}
    assert by_path["b.tif"]["skipped"] == "changed since it was recorded"
    assert len(by_path["a.ome.tif"]["images"]) == 1
    assert "notes.txt" not in by_path  # not a bioimage
    assert _step_names(_json("trace", "c.ome.zarr")) == ["acquire"]
    again = _json("reindex", "--pixels")  # the coded one is not redone; the skipped is retried
    assert [Path(o["path"]).name for o in again["outcomes"]] == ["b.tif"]


def test_verify_tells_recompression_from_a_real_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(tmp_path / "lineage.db"))
    data = pd.stack()
    pd.write_ome_tiff(tmp_path / "a.ome.tif", data)
    pd.write_ome_tiff(tmp_path / "b.ome.tif", data)
    _ok("record", "--pixels", "-o", "a.ome.tif", "-o", "b.ome.tif", "-n", "acquire")
    assert _ok("verify").stdout.count("OK") == 2
    pd.write_ome_tiff(tmp_path / "a.ome.tif", data, compression="zlib")  # same image
    pd.write_ome_tiff(tmp_path / "b.ome.tif", pd.changed_pixel(data))  # one pixel changed
    res = _run("verify")
    assert res.exit_code == 1
    line = {ln.split()[1]: ln for ln in res.stdout.splitlines() if ln.startswith("CHANGED")}
    assert "pixels identical, file changed" in line["a.ome.tif:"]
    assert "pixels identical" not in line["b.ome.tif:"]
    assert "the image's pixels changed" in line["b.ome.tif:"]
    doc = {Path(c["path"]).name: c for c in json.loads(_run("verify", "--json").stdout)}
    assert (doc["a.ome.tif"]["status"], doc["a.ome.tif"]["pixels"]) == ("changed", "identical")
    assert doc["b.ome.tif"]["pixels"] == "changed"


def _valid(name: str, doc: Any) -> None:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]

    root = Path(__file__).resolve().parent.parent / "schemas"
    schema = json.loads((root / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    errors = list(Draft202012Validator(schema).iter_errors(doc))
    assert not errors, f"{name}: {errors[0].message} at {list(errors[0].path)}"


def test_json_outputs_validate(lab: Path) -> None:
    _valid("trace", _json("trace", "deposit/a.ome.zarr"))
    _valid("trace", _json("trace", "results/mask.tif"))
    _valid("impact", _json("impact", "raw/a.czi"))
    _valid("show", _json("show", "conv/a.ome.tif"))
    _valid("show", _json("show", "deposit/a.ome.zarr"))
    unknown = _run("show", "deposit/nothing.tif", "--json")
    assert unknown.exit_code != 0
    pd.write_ome_zarr(lab / "deposit" / "changed.ome.zarr", pd.changed_pixel(pd.stack()), "0.5")
    res = _run("show", "deposit/changed.ome.zarr", "--json")
    assert res.exit_code == 1
    _valid("show", json.loads(res.stdout))
    (lab / "late.ome.tif").write_bytes((lab / "conv" / "a.ome.tif").read_bytes()[:-1] + b"\0")
    _ok("record", "-o", "late.ome.tif", "-n", "late")
    doc = _json("reindex", "--pixels")
    _valid("reindex", doc)
    _valid("export-omero", _json("export", "omero", "omero-out"))
    broken = _json("show", "conv/a.ome.tif")
    broken["file"]["images"][0]["wide"] = broken["file"]["images"][0]["iscc"]
    with pytest.raises(AssertionError):
        _valid("show", broken)


def test_the_plugin_codes_pixels_only_when_asked(tmp_path: Path) -> None:
    from iscc_lineage.snakemake.settings import CaptureSettings
    from snakemake_logger_plugin_iscc import LogHandlerSettings

    off = CaptureSettings.from_plugin(LogHandlerSettings(), tmp_path, [])
    on = CaptureSettings.from_plugin(LogHandlerSettings(pixels=True), tmp_path, [])
    assert (off.pixels, on.pixels) == (False, True)
    assert on.describe()["pixels"] is True  # recorded in the run's info.capture


def _four_representations(lab: Path) -> None:
    """OME-Zarr 0.4 and 0.5 copies of the stack, recorded as a check step's inputs."""
    pd.write_ome_zarr(lab / "deposit" / "a4.ome.zarr", pd.stack(), "0.4")
    (lab / "report.txt").write_text("deposit checked\n")
    _ok(
        "record",
        "--pixels",
        "-i",
        "deposit/a4.ome.zarr",
        "-i",
        "deposit/a.ome.zarr",
        "-o",
        "report.txt",
        "-n",
        "check",
    )


def test_four_representations_share_one_image_node(lab: Path) -> None:
    from iscc_lineage.lineage import graph, trace
    from iscc_lineage.store import open_store

    _four_representations(lab)
    doc = _json("trace", "report.txt")
    _valid("trace", doc)
    assert _step_names(doc) == ["check", "acquire"]  # the answer is the one it was
    ((key, node),) = doc["images"].items()  # exactly one image node
    files = [doc["contents"][h]["paths"][0] for h in node["representations"]]
    assert [Path(f).relative_to(lab).as_posix() for f in files] == [
        "raw/a.czi",
        "conv/a.ome.tif",
        "deposit/a4.ome.zarr",
        "deposit/a.ome.zarr",
    ]  # the first recorded first
    czi = _json("show", "raw/a.czi")["file"]["images"][0]
    assert key == "image:" + czi["pixel_id"]
    assert (node["pixel_id"], node["iscc"], node["wide"]) == (
        czi["pixel_id"],
        czi["iscc"],
        czi["wide"],
    )
    text = _ok("trace", "report.txt").stdout
    assert (
        f"image {czi['iscc']} in 4 representations: raw/a.czi, conv/a.ome.tif, "
        "deposit/a4.ome.zarr, deposit/a.ome.zarr"
    ) in " ".join(text.split())
    impact = _json("impact", "raw/a.czi")
    _valid("impact", impact)
    assert _step_names(impact) == ["convert", "check", "segment"]
    assert list(impact["images"]) == [key]
    assert len(impact["images"][key]["representations"]) == 4
    # the graph API: one image node, each representation points to it, no file-to-file edge
    with open_store(lab / "lineage.db") as store:
        lin = trace(store, doc["target"]["datahash"])
    lg = graph(lin)
    assert list(lg.images) == [key] and key in lg.nodes
    held = sorted(f.source for f in lg.flows if f.role == "representation_of")
    assert held == sorted(node["representations"])
    assert {f.target for f in lg.flows if f.role == "representation_of"} == {key}


def test_pictures_draw_one_image_node(lab: Path) -> None:
    import networkx as nx

    _four_representations(lab)
    key = "image:" + _json("show", "raw/a.czi")["file"]["images"][0]["pixel_id"]
    _ok("trace", "report.txt", "--graph", "g.mmd")
    mermaid = (lab / "g.mmd").read_text()
    assert mermaid.count("-. representation .-") == 4
    assert mermaid.count("{{") == 1 and f"= {key}" in mermaid
    _ok("trace", "report.txt", "--graph", "g.dot")
    dot = (lab / "g.dot").read_text()
    assert dot.count('label="representation"') == 4 and f'"{key}" [' in dot
    assert "shape=hexagon" in dot
    _ok("trace", "report.txt", "--graph", "g.svg")
    svg = (lab / "g.svg").read_text()
    assert svg.count(f'data-node="{key}"') == 1
    assert svg.count(f'data-from="{key}"') == 4  # each drawn once, none as a back loop
    _ok("trace", "report.txt", "--graph", "g.graphml")
    g = nx.read_graphml(lab / "g.graphml")
    images = [n for n, d in g.nodes(data=True) if d["type"] == "image"]
    assert images == [key]
    links = [(a, b) for a, b, d in g.edges(data=True) if d["role"] == "representation_of"]
    assert len(links) == 4 and {b for _, b in links} == {key}
    held = [a for a, _ in links]
    assert {Path(json.loads(g.nodes[a]["paths"])[0]).name for a in held} == {
        "a.czi",
        "a.ome.tif",
        "a4.ome.zarr",
        "a.ome.zarr",
    }
    assert not [1 for *_, d in g.edges(data=True) if d["role"] == "same_pixels"]
    assert nx.is_directed_acyclic_graph(g)
    # a conversion is still a step between two representations of the one image
    _ok("trace", "conv/a.ome.tif", "--graph", "c.graphml")
    c = nx.read_graphml(lab / "c.graphml")
    (convert,) = [n for n, d in c.nodes(data=True) if d.get("name") == "convert"]
    (src,) = c.predecessors(convert)
    (dst,) = c.successors(convert)
    assert set(c.successors(src)) == {convert, key}
    assert set(c.successors(dst)) == {key}


def test_a_first_record_fills_the_stat_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``record --pixels`` re-checks each file before its pixel code lands on the content;
    on a store the record creates, that check must hit the stat cache (not hash the file
    a second time), and a later ``reindex --pixels`` too."""
    import time

    from iscc_lineage.codes.fingerprint import RACY_SECONDS, stat_key
    from iscc_lineage.store import open_store

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(tmp_path / "lineage.db"))
    path = pd.write_ome_tiff(tmp_path / "a.ome.tif", pd.stack())
    time.sleep(RACY_SECONDS + 0.2)  # older than the racy window (ctime too): cacheable
    _ok("record", "-o", "a.ome.tif", "-n", "acquire")
    with open_store(tmp_path / "lineage.db") as store:
        hit = store.cache_get(stat_key(path.stat()))
    recorded = _json("show", "a.ome.tif")["file"]["content"]["datahash"]
    assert hit is not None and hit.datahash == recorded
    _ok("reindex", "--pixels")
    assert _json("show", "a.ome.tif")["file"]["images"][0]["dtype"] == "uint16"
