"""Image-Code similarity on real picture files: edited copies of a figure trace back."""

from __future__ import annotations

import json
from pathlib import Path

import iscc_core
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from iscc_lineage.cli import cli
from iscc_lineage.codes import hamming
from iscc_lineage.codes.image import image_code


def _figure(path: Path, seed: int) -> None:
    """A line plot with axes, ticks and a legend box, like a matplotlib figure."""
    img = Image.new("RGB", (800, 600), "white")
    d = ImageDraw.Draw(img)
    d.line([(80, 40), (80, 540), (760, 540)], fill="black", width=3)
    for i in range(9):
        d.line([(80 + 80 * i, 540), (80 + 80 * i, 550)], fill="black", width=2)
    pts = [
        (80 + x, 540 - int(250 + 200 * ((x * seed) % 97) / 97 * (x / 680)))
        for x in range(0, 680, 20)
    ]
    d.line(pts, fill=(31, 119, 180), width=4)
    d.rectangle([560 - 40 * seed % 300, 60, 740, 140], outline="black", fill=(255, 240, 200))
    img.save(path)


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(tmp_path / "lineage.db"))
    (tmp_path / "table.csv").write_text("x,y\n1,2\n")
    _figure(tmp_path / "figure.png", 3)
    _figure(tmp_path / "other.png", 11)
    for out in ("figure.png", "other.png"):
        res = CliRunner().invoke(cli, ["record", "-i", "table.csv", "-o", out, "-n", out])
        assert res.exit_code == 0, res.output
    return tmp_path


def test_image_code_matches_iscc_core_for_same_pixels(tmp_path: Path) -> None:
    # Independent oracle: iscc-core's Image-Code over the same normalised 32x32 pixels.
    _figure(tmp_path / "f.png", 5)
    pixels = list(
        Image.open(tmp_path / "f.png")
        .convert("L")
        .resize((32, 32), Image.Resampling.BICUBIC)
        .tobytes()
    )
    assert image_code(tmp_path / "f.png") == iscc_core.gen_image_code_v0(pixels, 256)["iscc"]


def test_16_bit_image_is_rescaled_not_clipped(tmp_path: Path) -> None:
    # Fluorescence data use a small part of the 16-bit range; Pillow's own "L" conversion
    # would clip everything above 255 to white, erasing the structure.
    img = Image.new("I;16", (64, 64))
    img.putdata([1000 + 40 * ((x // 8 + y // 8) % 2) * x for y in range(64) for x in range(64)])
    img.save(tmp_path / "raw16.tif")
    code = image_code(tmp_path / "raw16.tif")
    assert code is not None
    clipped = list(
        Image.open(tmp_path / "raw16.tif")
        .convert("L")
        .resize((32, 32), Image.Resampling.BICUBIC)
        .tobytes()
    )
    assert set(clipped) == {255}  # what we avoid
    assert code != iscc_core.gen_image_code_v0(clipped, 256)["iscc"]


def test_blank_image_has_no_code(tmp_path: Path) -> None:
    Image.new("RGB", (100, 100), "white").save(tmp_path / "blank.png")
    assert image_code(tmp_path / "blank.png") is None


@pytest.mark.parametrize("variant", ["jpeg", "resize", "resave"])
def test_trace_similar_follows_edited_copy(recorded: Path, variant: str) -> None:
    fig = Image.open(recorded / "figure.png")
    target = recorded / f"paper-{variant}.{'jpg' if variant == 'jpeg' else 'png'}"
    if variant == "jpeg":
        fig.save(target, quality=60)
    elif variant == "resize":
        fig.resize((400, 300)).save(target)
    else:
        fig.save(target, compress_level=1)
    assert CliRunner().invoke(cli, ["trace", str(target)]).exit_code == 1  # not exact
    res = CliRunner().invoke(cli, ["trace", "--similar", "--json", str(target)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["match"]["method"] == "keypoints+ransac"  # a picture: verified by keypoints
    assert doc["match"]["paths"] == [str(recorded / "figure.png")]
    assert doc["match"]["inliers"] >= 10 and doc["match"]["distance"] <= 48  # of 256 bits
    assert [s["name"] for s in doc["steps"]] == ["figure.png"]


def test_trace_similar_refuses_unrelated_picture(recorded: Path) -> None:
    img = Image.new("RGB", (800, 600), "white")
    d = ImageDraw.Draw(img)
    for i in range(0, 800, 50):
        d.ellipse([i, (i * 7) % 500, i + 60, (i * 7) % 500 + 60], fill=(200, 30, 30))
    img.save(recorded / "unrelated.png")
    res = CliRunner().invoke(cli, ["trace", "--similar", "--json", "unrelated.png"])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["known"] is False
    assert all(c["distance"] > 12 for c in doc["candidates"])


def test_annotation_moves_few_bits_compared_to_unrelated(recorded: Path) -> None:
    fig = Image.open(recorded / "figure.png").convert("RGB")
    ImageDraw.Draw(fig).text((20, 10), "B", fill="black")  # a panel letter
    fig.save(recorded / "lettered.png")
    base = image_code(recorded / "figure.png")
    lettered = image_code(recorded / "lettered.png")
    other = image_code(recorded / "other.png")
    assert base and lettered and other
    assert hamming(base, lettered, 64)[0] < hamming(base, other, 64)[0]
