"""Pixel-level codes on real files of five formats: same pixels, same code; one pixel, another.

iscc-bio (the BIO-CODES reference implementation of IMAGEWALK) is the independent oracle.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pixel_data as pd
import pytest

from iscc_lineage.codes import pixel
from iscc_lineage.codes.pixel import ImageCode, pixel_codes


def _czi(tmp: Path, data: Any) -> Path:
    try:
        return pd.write_czi(tmp / "a.czi", data)
    except ImportError as exc:  # pragma: no cover - pylibCZIrw ships manylinux wheels
        pytest.skip(f"pylibCZIrw cannot be installed here: {exc}")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("px")
    data = pd.stack()
    return {
        "czi": _czi(tmp, data),
        "ome-tiff": pd.write_ome_tiff(tmp / "a.ome.tif", data, compression="zlib"),
        "zarr-0.4": pd.write_ome_zarr(tmp / "a4.ome.zarr", data, "0.4"),
        "zarr-0.5": pd.write_ome_zarr(tmp / "a5.ome.zarr", data, "0.5"),
        "tiff": pd.write_plain_tiff(tmp / "plain.tif", data),
        "changed": pd.write_ome_tiff(tmp / "changed.ome.tif", pd.changed_pixel(data)),
    }


def _one(path: Path) -> ImageCode:
    res = pixel_codes(path)
    assert res.note is None, res.note
    assert len(res.images) == 1
    return res.images[0]


def test_same_pixels_same_code_across_five_formats(files: dict[str, Path]) -> None:
    codes = {k: _one(p) for k, p in files.items()}
    group = [codes[k] for k in ("czi", "ome-tiff", "zarr-0.4", "zarr-0.5", "tiff")]
    assert len({c.pixel_id for c in group}) == 1
    assert len({c.iscc for c in group}) == 1 and group[0].iscc.startswith("ISCC:KUA")
    assert len({c.wide for c in group}) == 1 and group[0].wide.startswith("ISCC:K4A")
    # the files themselves share nothing byte-wise
    assert len({p.stat().st_size for k, p in files.items() if p.is_file()}) > 1
    # one changed pixel separates the copy
    assert codes["changed"].pixel_id != group[0].pixel_id
    assert codes["changed"].wide != group[0].wide


def test_canonical_stream_is_z_then_c_big_endian(files: dict[str, Path]) -> None:
    # Independent of our readers: hash the numpy stack in IMAGEWALK order with iscc-core.
    import io

    import iscc_core

    data = pd.stack()
    stream = b"".join(data[c, z].astype(">u2").tobytes() for z in range(pd.Z) for c in range(pd.C))
    inst = iscc_core.gen_instance_code_v0(io.BytesIO(stream), bits=256)
    assert _one(files["ome-tiff"]).datahash == inst["datahash"]


@pytest.mark.parametrize("kind", ["czi", "ome-tiff", "zarr-0.4", "zarr-0.5", "changed"])
def test_conformance_with_iscc_bio(files: dict[str, Path], kind: str) -> None:
    iscc_bio = pytest.importorskip("iscc_bio.biocode")
    from iscc_bio.imagewalk import iter_planes_bioio, iter_planes_ngff

    path = files[kind]
    planes = iter_planes_ngff(str(path)) if path.suffix == ".zarr" else iter_planes_bioio(str(path))
    theirs = iscc_bio.generate_biocode(planes)
    ours = pixel_codes(path).images
    assert [p["iscc_code"] for p in theirs] == [i.wide for i in ours]
    assert [p["units"][0] for p in theirs] == [i.data_code for i in ours]


def test_ome_metadata_is_read(files: dict[str, Path]) -> None:
    meta = _one(files["ome-tiff"]).metadata
    assert meta["dimensions"] == {"T": 1, "C": 2, "Z": 3, "Y": pd.Y, "X": pd.X}
    assert meta["pixel_type"] == "uint16"
    assert meta["acquisition_date"].startswith("2026-11-03T14:05")
    assert meta["physical_size"] == {"x": 0.1, "y": 0.1, "z": 0.5, "unit": "µm"}
    assert [c["name"] for c in meta["channels"]] == list(pd.CHANNELS)
    assert [c["excitation_wavelength"] for c in meta["channels"]] == [405.0, 488.0]
    assert meta["channels"][1]["emission_wavelength"] == 509.0
    objective = meta["instrument"]["objective"]
    assert objective["lens_na"] == 1.4 and objective["nominal_magnification"] == 63.0
    assert meta["instrument"]["microscope"]["model"] == "LSM 980"


def test_czi_and_zarr_metadata(files: dict[str, Path]) -> None:
    czi = _one(files["czi"]).metadata
    assert [c["name"] for c in czi["channels"]] == list(pd.CHANNELS)
    assert czi["physical_size"]["x"] == pytest.approx(0.1)
    assert czi["physical_size"]["z"] == pytest.approx(0.5)
    for kind in ("zarr-0.4", "zarr-0.5"):
        meta = _one(files[kind]).metadata
        assert meta["physical_size"] == {"z": 0.5, "y": 0.1, "x": 0.1, "unit": "µm"}


def test_crop_and_rescale_are_not_same_pixels(tmp_path: Path, files: dict[str, Path]) -> None:
    data = pd.stack()
    base = _one(files["ome-tiff"]).pixel_id
    import tifffile

    tifffile.imwrite(
        tmp_path / "crop.tif",
        data.transpose(1, 0, 2, 3)[:, :, 1:, :].reshape(-1, pd.Y - 1, pd.X),
        metadata=None,
    )
    tifffile.imwrite(
        tmp_path / "u8.tif",
        (data.transpose(1, 0, 2, 3) >> 4).astype(np.uint8).reshape(-1, pd.Y, pd.X),
        metadata=None,
    )
    # the same bytes as rows of another width are not the same image either
    tifffile.imwrite(
        tmp_path / "reshaped.tif",
        data.transpose(1, 0, 2, 3).reshape(-1, pd.Y // 2, pd.X * 2),
        metadata=None,
    )
    for name in ("crop.tif", "u8.tif", "reshaped.tif"):
        assert _one(tmp_path / name).pixel_id != base, name
    assert _one(tmp_path / "reshaped.tif").datahash == _one(files["tiff"]).datahash


def test_large_planes_stream_in_bands(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = {k: _one(files[k]).wide for k in ("ome-tiff", "zarr-0.5", "tiff")}
    seen: list[int] = []
    monkeypatch.setattr(pixel.stream, "BAND_BYTES", 7 * pd.X * 2)  # 7 rows per band
    for k, code in whole.items():
        seen.clear()
        res = pixel_codes(files[k], on_bytes=seen.append)
        assert res.images[0].wide == code
        assert max(seen) == 7 * pd.X * 2  # never a whole plane at once
        assert sum(seen) == pd.C * pd.Z * pd.Y * pd.X * 2


def test_uniform_image_is_flagged(tmp_path: Path) -> None:
    import tifffile

    tifffile.imwrite(
        tmp_path / "zeros.tif",
        np.zeros((3, 32, 32), np.uint16),
        metadata=None,
        photometric="minisblack",
    )
    assert _one(tmp_path / "zeros.tif").uniform
    tifffile.imwrite(
        tmp_path / "one.tif",
        np.eye(32, dtype=np.uint16)[None],
        metadata=None,
        photometric="minisblack",
    )
    assert not _one(tmp_path / "one.tif").uniform


def test_missing_reader_is_a_note(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # neither libCZI's own binding nor a bioio reader for .czi is importable
    monkeypatch.setitem(sys.modules, "pylibCZIrw", None)
    monkeypatch.setitem(pixel.EXTRAS, ".czi", ("iscc_lineage_no_such_reader", "czi"))
    res = pixel_codes(files["czi"])
    assert res.images == ()
    assert res.note == "no reader for .czi files installed (pip install 'iscc-lineage[czi]')"


def test_damaged_and_foreign_files_are_notes(tmp_path: Path) -> None:
    (tmp_path / "bad.ome.tif").write_bytes(b"II*\x00garbage" * 10)
    res = pixel_codes(tmp_path / "bad.ome.tif")
    assert res.images == ()
    assert res.note == "no image found" or (res.note or "").startswith("unreadable:")
    (tmp_path / "plain.zarr").mkdir()
    (tmp_path / "plain.zarr" / ".zgroup").write_text('{"zarr_format": 2}')
    res = pixel_codes(tmp_path / "plain.zarr")
    assert res.images == () and "not an image" in (res.note or "")


def test_image_code_round_trips(files: dict[str, Path]) -> None:
    code = _one(files["ome-tiff"])
    assert ImageCode.from_dict(code.to_dict()) == code


def test_multi_scene_ome_tiff_gives_one_code_per_scene(tmp_path: Path) -> None:
    import tifffile

    a, b = pd.stack(1), pd.stack(2)
    path = tmp_path / "two.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as tw:  # two OME Images (series) in one file
        for data in (a, b):
            tw.write(data, photometric="minisblack", metadata={"axes": "CZYX"})
    res = pixel_codes(path)
    assert [i.scene for i in res.images] == [0, 1]
    single = pixel_codes(pd.write_ome_zarr(tmp_path / "b.ome.zarr", b, "0.5")).images[0]
    assert res.images[1].pixel_id == single.pixel_id != res.images[0].pixel_id
    iscc_bio = pytest.importorskip("iscc_bio.biocode")
    from iscc_bio.imagewalk import iter_planes_bioio

    theirs = iscc_bio.generate_biocode(iter_planes_bioio(str(path)))
    assert [p["iscc_code"] for p in theirs] == [i.wide for i in res.images]


def test_multi_scene_czi_reads_every_scene(tmp_path: Path) -> None:
    pyczi = pytest.importorskip("pylibCZIrw.czi", reason="pylibCZIrw is not installed")
    a, b = pd.stack(3), pd.stack(4)
    path = tmp_path / "two.czi"
    with pyczi.create_czi(str(path), exist_ok=True) as doc:
        for scene, data, x in ((0, a, 0), (1, b, 500)):
            for c in range(pd.C):
                for z in range(pd.Z):
                    doc.write(
                        data=np.ascontiguousarray(data[c, z]),
                        plane={"C": c, "Z": z, "T": 0},
                        scene=scene,
                        location=(x, 0),
                    )
        doc.write_metadata(document_name="two", channel_names=dict(enumerate(pd.CHANNELS)))
    ours = pixel_codes(path)
    assert ours.reader == "pylibCZIrw" and len(ours.images) == 2
    single = pixel_codes(pd.write_ome_tiff(tmp_path / "b.ome.tif", b)).images[0]
    assert ours.images[1].pixel_id == single.pixel_id != ours.images[0].pixel_id
    iscc_bio = pytest.importorskip("iscc_bio.biocode")
    from iscc_bio.imagewalk import iter_planes_bioio

    # bioio-czi finds scenes in the metadata, which pylibCZIrw's writer leaves without
    # scene entries: it reads this file as one image, scene 0. That one must agree.
    theirs = iscc_bio.generate_biocode(iter_planes_bioio(str(path)))
    assert [p["iscc_code"] for p in theirs] == [ours.images[0].wide]


def test_bioio_path_agrees_with_libczi(files: dict[str, Path]) -> None:
    # ND2, LIF and colour CZI go through bioio readers: the same CZI through bioio-czi must
    # give what the direct libCZI path gives, metadata included.
    pytest.importorskip("bioio_czi", reason="bioio-czi is not installed")
    direct = pixel_codes(files["czi"])
    via = pixel.readers.code_bioio(files["czi"], "bioio_czi", "czi", None)
    assert (direct.reader, via.reader) == ("pylibCZIrw", "bioio-czi")
    assert [i.pixel_id for i in via.images] == [i.pixel_id for i in direct.images]
    assert [c["name"] for c in via.images[0].metadata["channels"]] == list(pd.CHANNELS)
