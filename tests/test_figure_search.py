"""Figure search on real files through the real CLI: what a paper does to a figure.

Originals are scikit-image's bundled pictures and matplotlib figures written to disk, recorded
with ``iscc-lineage record``; queries are edits written by Pillow / matplotlib (a crop, white
padding, a panel letter, a 1x3 layout, a paper PDF page); near-identical siblings must give
"ambiguous", never a silent guess. Every ``--json`` document validates against its schema.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result
from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]
from PIL import Image, ImageDraw

from iscc_lineage.cli import cli
from iscc_lineage.codes import figure
from iscc_lineage.codes.figcodes import figure_codes

SCHEMA = json.loads(
    (Path(__file__).resolve().parent.parent / "schemas" / "trace.schema.json").read_text()
)


def _data(name: str) -> np.ndarray:
    import skimage.data

    a: np.ndarray = getattr(skimage.data, name)()
    return a


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def trace_json(path: Path, code: int = 0) -> dict[str, Any]:
    res = run("trace", "--similar", "--json", str(path))
    assert res.exit_code == code, res.output
    doc: dict[str, Any] = json.loads(res.stdout)
    Draft202012Validator(SCHEMA).validate(doc)
    return doc


def _plot(path: Path, seed: int, *, dpi: int = 100) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.5), layout="constrained")
    a.imshow(_data("coins")[:200, :200], cmap="magma")
    a.set_axis_off()
    b.hist(rng.gamma(4, 20, 200), bins=15, histtype="step", linewidth=2)
    b.set(title=f"Nucleus size distribution {seed}", xlabel="area (µm²)")
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """camera.png, coins.png, astronaut.png (from raw TIFFs), two frames of a time-lapse that
    differ only by sensor noise, and a figure recorded as SVG."""
    work = tmp_path_factory.mktemp("figs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ISCC_LINEAGE_STORE", str(work / "lineage.db"))
        mp.chdir(work)
        for name in ("camera", "coins", "astronaut"):
            Image.fromarray(_data(name)).save(work / f"{name}.raw.tif")
            Image.fromarray(_data(name)).save(work / f"{name}.png")
            res = run("record", "-i", f"{name}.raw.tif", "-o", f"{name}.png", "--name", "plot")
            assert res.exit_code == 0, res.output
        base = _data("moon").astype(float)
        for t, seed in (("t2", 1), ("t3", 2)):
            noisy = base + np.random.default_rng(seed).normal(0, 1.0, base.shape)
            Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(work / f"{t}.png")
            assert run("record", "-o", f"{t}.png", "--name", "acquire").exit_code == 0
        _plot(work / "plot.svg", 3)
        assert run("record", "-o", "plot.svg", "--name", "summary").exit_code == 0
        yield work


def test_crop_pad_letter_found_with_box_and_scale(recorded: Path) -> None:
    cam = Image.open(recorded / "camera.png")
    q = recorded / "q"
    q.mkdir(exist_ok=True)
    crop = cam.crop((100, 60, 484, 444))  # 25 % off, off-centre
    padded = Image.new("L", (crop.width + 80, crop.height + 80), 255)
    padded.paste(crop, (40, 40))
    lettered = padded.convert("RGB")
    ImageDraw.Draw(lettered).text((50, 45), "B", fill=(255, 255, 255))
    lettered.resize((lettered.width // 2, lettered.height // 2)).save(q / "edit.jpg", quality=80)
    doc = trace_json(q / "edit.jpg")
    m = doc["match"]
    assert m["paths"][0].endswith("camera.png")
    assert m["method"] == "keypoints+ransac" and m["inliers"] >= 10
    assert abs(m["scale"] - 2.0) < 0.1  # the query is at half size
    x0, y0, x1, y1 = m["box_in_original"]
    assert abs(x0 - 100) < 8 and abs(y0 - 60) < 8 and abs(x1 - 484) < 8 and abs(y1 - 444) < 8
    assert doc["sources"][0]["paths"][0].endswith("camera.raw.tif")


def test_unrelated_picture_is_not_matched(recorded: Path) -> None:
    Image.fromarray(_data("brick")).save(recorded / "brick.png")
    res = run("trace", "--similar", str(recorded / "brick.png"))
    assert res.exit_code == 1, res.output
    assert "not in the lineage store" in res.output


def test_time_lapse_frames_that_only_noise_separates_are_ambiguous_or_right(recorded: Path) -> None:
    """An edited copy of frame t3 never names t2: right frame, or ambiguous listing both."""
    t3 = Image.open(recorded / "t3.png")
    t3.save(recorded / "t3_copy.jpg", quality=70)
    res = run("trace", "--similar", "--json", str(recorded / "t3_copy.jpg"))
    doc = json.loads(res.stdout)
    Draft202012Validator(SCHEMA).validate(doc)
    if res.exit_code == 0:
        assert doc["match"]["paths"][0].endswith("t3.png")
    else:
        assert res.exit_code == 1 and doc["ambiguous"] is True
        assert {Path(c["paths"][0]).name for c in doc["candidates"]} == {"t2.png", "t3.png"}


def test_identical_pixels_in_two_files_are_ambiguous(recorded: Path) -> None:
    """Two recorded files with the same pixels, neither made from the other: no evidence can
    choose; exit 1, both listed."""
    Image.open(recorded / "coins.png").save(recorded / "coins_copy.webp", lossless=True)
    assert run("record", "-o", "coins_copy.webp", "--name", "export").exit_code == 0
    Image.open(recorded / "coins.png").save(recorded / "coins_q.jpg", quality=85)
    res = run("trace", "--similar", str(recorded / "coins_q.jpg"))
    assert res.exit_code == 1, res.output
    assert "ambiguous: 2 figures within the margin" in res.output
    assert "coins.png" in res.output and "coins_copy.webp" in res.output
    assert "coins.raw.tif" not in res.output  # the PNG was made from it: its lineage has it


def _cairo() -> bool:
    try:
        import cairosvg  # type: ignore[import-untyped]  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


@pytest.mark.skipif(not _cairo(), reason="cairosvg needs the cairo library (apt libcairo2)")
def test_svg_original_found_from_png_export(recorded: Path) -> None:
    _plot(recorded / "plot_export.png", 3, dpi=130)  # Agg, not cairo: another renderer
    doc = trace_json(recorded / "plot_export.png")
    assert doc["match"]["paths"][0].endswith("plot.svg")


def test_paper_pdf_one_line_per_panel(recorded: Path) -> None:
    """A paper page holding two recorded figures (one cropped) and text: one line per panel
    with the raw acquisition; the JSON names both."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(8.27, 11.69))
    for i in range(8):
        fig.text(0.1, 0.95 - i * 0.02, "lorem ipsum dolor sit amet " * 4, fontsize=8)
    ax = fig.add_axes((0.1, 0.45, 0.38, 0.3))
    ax.imshow(np.asarray(Image.open(recorded / "astronaut.png")))
    ax.set_axis_off()
    ax = fig.add_axes((0.55, 0.45, 0.38, 0.3))
    ax.imshow(_data("camera")[50:450, 60:460], cmap="gray")
    ax.set_axis_off()
    fig.text(0.1, 0.4, "Figure 1. (a) astronaut (b) camera, cropped.", fontsize=9)
    fig.savefig(recorded / "paper.pdf")
    plt.close(fig)
    res = run("trace", "--similar", str(recorded / "paper.pdf"))
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("page 1")]
    named = [ln for ln in lines if "inliers" in ln]
    assert any("astronaut.png" in ln and "astronaut.raw.tif" in ln for ln in named), lines
    assert any("camera.png" in ln and "camera.raw.tif" in ln for ln in named), lines
    doc = trace_json(recorded / "paper.pdf")
    got = {Path(p["match"]["paths"][0]).name for p in doc["panels"] if p["match"]}
    assert {"astronaut.png", "camera.png"} <= got


def test_multipage_tiff_codes_every_page(tmp_path: Path) -> None:
    pages = [
        Image.fromarray(_data(n)).convert("L").resize((256, 256))
        for n in ("camera", "coins", "moon")
    ]
    pages[0].save(tmp_path / "stack.tif", save_all=True, append_images=pages[1:])
    codes = figure_codes(tmp_path / "stack.tif")
    assert {v.page for v in codes.views if v.kind == "page"} == {0, 1, 2}
    assert len({v.code for v in codes.views if v.kind == "page"}) == 3


def test_split_tree_finds_panels_of_a_layout() -> None:
    canvas = np.full((500, 760), 255, np.uint8)
    cam = np.asarray(Image.fromarray(_data("camera")).resize((200, 200)))
    for r in range(2):
        for c in range(3):
            canvas[30 + r * 230 : 230 + r * 230, 20 + c * 245 : 220 + c * 245] = cam
    leaves = figure.split(canvas)
    assert len(leaves) == 6
    cells = {(20 + c * 245, 30 + r * 230) for r in range(2) for c in range(3)}
    for x0, y0, x1, y1 in leaves:  # each leaf inside one cell, covering most of it
        cell = next((cx, cy) for cx, cy in cells if cx <= x0 < cx + 200 and cy <= y0 < cy + 200)
        assert x1 <= cell[0] + 200 and y1 <= cell[1] + 200
        assert (x1 - x0) * (y1 - y0) >= 0.8 * 200 * 200


def test_huge_png_is_not_decoded(tmp_path: Path) -> None:
    """A 13000 x 13000 PNG is skipped with a note, in a process that stays small."""
    big = tmp_path / "big.png"
    Image.new("1", (13000, 13000), 1).save(big)
    # VmHWM is this process's own peak: ru_maxrss would carry over the forking pytest's
    # high-water mark across exec (Linux keeps signal->maxrss), hundreds of MB late in a run
    code = (
        "import re, sys\n"
        "from pathlib import Path\n"
        "from iscc_lineage.codes.figcodes import figure_codes\n"
        "fc = figure_codes(Path(sys.argv[1]))\n"
        "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
        "print(fc.notes, len(fc.views), hwm)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(big)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    ).stdout
    assert "not decoded" in out and " 0 " in out, out
    assert int(out.split()[-1]) < 400_000, out  # KiB: far below the 169 MB of the pixels


def test_huge_jpeg_is_decoded_downscaled(tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    Image.fromarray(_data("camera")).resize((8000, 8000)).save(big, quality=70)
    fig = figure.load(big)
    assert fig.pages and max(fig.pages[0].gray.shape) <= figure.CODE_SIDE


def test_reindex_codes_pictures_recorded_before(recorded: Path, tmp_path: Path) -> None:
    """Pictures recorded without figure codes (an older store) are coded by ``reindex``."""
    store = tmp_path / "old.db"
    Image.fromarray(_data("chelsea")).save(tmp_path / "cat.png")
    assert run("--store", str(store), "record", "-o", str(tmp_path / "cat.png")).exit_code == 0
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM content_code WHERE scheme LIKE 'figure-%'")
        db.execute("DELETE FROM content_blob WHERE scheme LIKE 'figure-%'")
    res = run("--store", str(store), "reindex", "--figures")
    assert res.exit_code == 0 and "coded 1 of 1" in res.output, res.output
    Image.open(tmp_path / "cat.png").crop((30, 30, 400, 280)).save(tmp_path / "cat_crop.png")
    res = run("--store", str(store), "trace", "--similar", str(tmp_path / "cat_crop.png"))
    assert res.exit_code == 0, res.output
    assert run("--store", str(store), "reindex", "--figures").output.startswith("coded 0 of 0")


def test_export_crate_similar_records_the_evidence(recorded: Path, tmp_path: Path) -> None:
    """A paper's crop of a recorded figure exports that figure's lineage, and the crate says
    how it was matched."""
    import zipfile

    Image.open(recorded / "astronaut.png").crop((60, 40, 460, 440)).save(
        tmp_path / "fig1a.jpg", quality=85
    )
    out = tmp_path / "crate.zip"
    res = run(
        "export", "crate", str(out), "--zip", "--similar", "--for", str(tmp_path / "fig1a.jpg")
    )
    assert res.exit_code == 0, res.output
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        matches = json.loads(z.read("figure-matches.json"))
        meta = json.loads(z.read("ro-crate-metadata.json"))
    assert {"astronaut.png", "astronaut.raw.tif"} <= names
    m = matches[0]["match"]
    assert m["paths"][0].endswith("astronaut.png") and m["inliers"] >= 10
    assert m["box_in_original"][0] == pytest.approx(60, abs=8)
    assert any(e.get("@id") == "figure-matches.json" for e in meta["@graph"])
    res = run(
        "export", "crate", str(tmp_path / "no.zip"), "--zip", "--for", str(tmp_path / "fig1a.jpg")
    )
    assert res.exit_code != 0 and "not in the lineage store" in res.output


# --- near-identical siblings: told apart at the query's resolution, never guessed ----------


def _siblings_of(a: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """What a pipeline records next to a picture: the next time-lapse frame (3 px drift and
    a smooth local change), a parameter neighbour (gamma 1.15) and a re-run on another seed
    (new sensor noise)."""
    from scipy import ndimage

    f = a.astype(float)
    rng = np.random.default_rng(seed)
    drift = ndimage.shift(f, (3, -2), order=1, mode="nearest")
    drift += ndimage.gaussian_filter(rng.normal(0, 14, f.shape), 3)
    return {
        "drift": drift,
        "param": 255 * (f / 255) ** 1.15,
        "seed": f + rng.normal(0, 6, f.shape),
    }


def _agg_plot(path: Path, seed: int, tweak: float = 0.0, dpi: int = 100) -> None:
    """A demo-style summary: a histogram and a bar chart (matplotlib; the suffix picks the
    backend: .pdf is vector, .png is Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.2), layout="constrained")
    for k in range(3):
        a.hist(rng.gamma(3 + k, 25, 150) * (1 + tweak), bins=12, histtype="step", linewidth=2)
    a.set(title="Nucleus size distribution", xlabel="nucleus area (µm²)", ylabel="nuclei")
    counts = rng.integers(60, 150, 3) * (1 + tweak)
    b.bar(["s0", "s1", "s2"], counts, color=["C0", "C1", "C2"])
    b.set(title="Nuclei per sample", ylabel="segmented nuclei")
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """chelsea (grey) and its three siblings, a summary plot recorded as PDF with a PNG
    parameter neighbour (+4 % areas, rendered by Agg) and a PNG run on another seed."""
    work = tmp_path_factory.mktemp("sweep")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ISCC_LINEAGE_STORE", str(work / "lineage.db"))
        mp.chdir(work)
        cat = np.asarray(Image.fromarray(_data("chelsea")).convert("L"))
        Image.fromarray(cat).save(work / "cat.png")
        names = ["cat.png"]
        for tag, a in _siblings_of(cat, 5).items():
            Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(work / f"cat~{tag}.png")
            names.append(f"cat~{tag}.png")
        _agg_plot(work / "summary.pdf", 11)
        _agg_plot(work / "summary~param.png", 11, tweak=0.04)
        _agg_plot(work / "summary~seed.png", 111)
        names += ["summary.pdf", "summary~param.png", "summary~seed.png"]
        for n in names:
            assert run("record", "-o", n, "--name", "make").exit_code == 0, n
        yield work


def _named(doc: dict[str, Any]) -> str:
    return Path(doc["match"]["paths"][0]).name


def test_drift_gamma_and_seed_siblings_named_right_at_full_resolution(sweep: Path) -> None:
    """A JPEG and a 25 % crop at 0.6 scale of the recorded frame: the frame is named, not its
    drifted neighbour, its gamma neighbour or its re-run on another seed (all verify)."""
    cat = Image.open(sweep / "cat.png")
    cat.save(sweep / "q_cat.jpg", quality=75)
    w, h = cat.size
    crop = cat.crop((w // 8, h // 10, w // 8 + 3 * w // 4, h // 10 + 3 * h // 4))
    crop.resize((round(crop.width * 0.6), round(crop.height * 0.6))).save(sweep / "q_crop.png")
    for q in ("q_cat.jpg", "q_crop.png"):
        doc = trace_json(sweep / q)
        assert _named(doc) == "cat.png", q
        m = doc["match"]
        assert m["resolution"] == "file" and m["pixels"]["unexplained_pixels"] < 0.06
        listed = {Path(c["paths"][0]).name for c in doc["candidates"]}
        assert listed & {"cat~drift.png", "cat~param.png", "cat~seed.png"}  # they did verify


def _named_or_ambiguous(query: Path, right: str, sibling: str) -> dict[str, Any]:
    res = run("trace", "--similar", "--json", str(query))
    doc: dict[str, Any] = json.loads(res.stdout)
    Draft202012Validator(SCHEMA).validate(doc)
    if res.exit_code == 0:
        assert _named(doc) == right, res.output
    else:
        assert res.exit_code == 1 and doc["ambiguous"] is True, res.output
        assert {Path(c["paths"][0]).name for c in doc["candidates"]} == {right, sibling}
    return doc


def test_vector_original_never_loses_to_an_agg_rendered_sibling(sweep: Path) -> None:
    """The paper's PNG of a PDF figure is rendered by Agg like the recorded PNG parameter
    neighbour: pixels of two renderers differ by anti-aliasing and by how embedded images are
    resampled, which must not decide. Named or ambiguous (both listed), never the sibling."""
    from benchmarks.figures_corpus import _save_fig, panel_figure

    _agg_plot(sweep / "q_summary.png", 11, dpi=150)
    _named_or_ambiguous(sweep / "q_summary.png", "summary.pdf", "summary~param.png")
    _save_fig(panel_figure(21, 1), sweep / "panels.pdf")
    _save_fig(panel_figure(21, 1, 0.6), sweep / "panels~param.png")
    for n in ("panels.pdf", "panels~param.png"):
        res = run("record", "-o", str(sweep / n), "--name", "make")
        assert res.exit_code == 0, res.output
    _save_fig(panel_figure(21, 1), sweep / "q_panels.png", dpi=150)
    _named_or_ambiguous(sweep / "q_panels.png", "panels.pdf", "panels~param.png")
    panels = Image.open(sweep / "q_panels.png")  # the middle panel alone: same data in both
    w, h = panels.size
    panels.crop((w // 3 + 10, 0, 2 * w // 3 - 10, h)).save(sweep / "q_middle.png")
    _named_or_ambiguous(sweep / "q_middle.png", "panels.pdf", "panels~param.png")


def test_same_style_plot_crop_is_refused(sweep: Path) -> None:
    """A 25 % crop of another plot in exactly the same style (axes, labels, legend): its data
    is not explained by any recorded plot, so nothing is named."""
    _agg_plot(sweep / "other.png", 404)
    other = Image.open(sweep / "other.png")
    w, h = other.size
    other.crop((0, 0, 3 * w // 4, 3 * h // 4)).save(sweep / "q_other.png")
    res = run("trace", "--similar", "--json", str(sweep / "q_other.png"))
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    Draft202012Validator(SCHEMA).validate(doc)
    assert doc.get("match") is None


def test_siblings_ambiguous_when_the_recorded_files_are_gone(
    sweep: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the recorded files (moved away, or changed: content decides, not mtime) only
    the stored thumbnails are left; a re-run with slightly different sensor noise, which they
    cannot separate, makes the answer ambiguous (both listed), never a guess."""
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(tmp_path / "lineage.db"))
    monkeypatch.chdir(tmp_path)
    cat = np.asarray(Image.open(sweep / "cat.png"))
    rerun = cat + np.random.default_rng(8).normal(0, 4, cat.shape)
    Image.fromarray(cat).save(tmp_path / "cat.png")
    Image.fromarray(np.clip(rerun, 0, 255).astype(np.uint8)).save(tmp_path / "cat~rerun.png")
    for n in ("cat.png", "cat~rerun.png"):
        assert run("record", "-o", n, "--name", "make").exit_code == 0
    Image.open(tmp_path / "cat.png").save(tmp_path / "q.jpg", quality=75)
    assert _named(trace_json(tmp_path / "q.jpg")) == "cat.png"  # files there: told apart
    (tmp_path / "cat~rerun.png").unlink()
    with Image.open(tmp_path / "cat.png") as img:  # same pixels, other bytes: not the content
        img.save(tmp_path / "cat.png", compress_level=0)
    res = run("trace", "--similar", "--json", str(tmp_path / "q.jpg"))
    doc = json.loads(res.stdout)
    Draft202012Validator(SCHEMA).validate(doc)
    assert res.exit_code == 1, res.output
    assert doc["ambiguous"] is True
    assert {Path(c["paths"][0]).name for c in doc["candidates"]} == {"cat.png", "cat~rerun.png"}
    assert {c["resolution"] for c in doc["candidates"]} == {"thumbnail"}


def test_a_sibling_the_index_offers_never_stands_in_for_the_original_it_missed(
    sweep: Path,
) -> None:
    """The codes of a noisy picture need not find its original (a seed sibling of a noisy
    micrograph measured 124 of 256 bits from it, as far as unrelated pictures): with an index
    that offers the siblings but not cat.png, the search still compares cat.png, because the
    same rule ("make") recorded it, and names it, never the sibling that verified first."""
    from iscc_lineage.codes.figcodes import CodeIndex, FigureCodes, query_views, split_codes
    from iscc_lineage.codes.pictures import CODES_SCHEME, DETAIL_SCHEME, INDEX_SCHEME
    from iscc_lineage.similar import collect, findings
    from iscc_lineage.similar.evidence import RIVALS
    from iscc_lineage.similar.separate import store_separator
    from iscc_lineage.store import open_store

    Image.open(sweep / "cat.png").save(sweep / "q_missed.jpg", quality=80)
    with open_store(str(sweep / "lineage.db")) as st:
        [(cat, _, _)] = st.recorded_at(str(sweep / "cat.png"))
        cat_id = cat.id
        index = CodeIndex([(i, v) for i, v in st.blob_values(INDEX_SCHEME) if i != cat_id])

        def details(ids: Any) -> dict[int, FigureCodes]:
            rows = st.blob_values_of(ids, DETAIL_SCHEME).items()
            return {i: FigureCodes.from_detail_value(v) for i, v in rows}

        def full(ids: Any) -> dict[int, list[bytes]]:
            return {i: split_codes(v) for i, v in st.blob_values_of(ids, CODES_SCHEME).items()}

        def rivals(ids: Any) -> list[int]:
            return st.blob_rivals(ids, CODES_SCHEME, RIVALS)

        views = query_views(sweep / "q_missed.jpg")
        blind = collect(views, index, details, full)
        assert cat_id not in {e.content_id for ev in blind.evidence.values() for e in ev}
        seen = collect(views, index, details, full, rivals)
        found = findings(seen, separator=store_separator(st, sweep / "q_missed.jpg", seen))
    named = [f.match.content_id for f in found if f.match is not None]
    assert named == [cat_id], [(f.status, [e.content_id for e in f.candidates]) for f in found]
