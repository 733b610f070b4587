"""What capture stores for a picture and what a store of an older version becomes; EPS figures;
a whole paper's lineage as one graph. Real files, the real CLI, real SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from iscc_lineage import open_store
from iscc_lineage.cli import cli
from iscc_lineage.codes.figcodes import FigureCodes, figure_codes
from iscc_lineage.codes.pictures import CODES_SCHEME, DETAIL_SCHEME, INDEX_SCHEME, SKIP_SCHEME
from iscc_lineage.similar.search import CHECKED_SUFFIX, INDEX_CACHE_SUFFIX
from iscc_lineage.store.spool import apply, encode

FIGURE_SCHEMES = (INDEX_SCHEME, CODES_SCHEME, DETAIL_SCHEME)
ROOT = Path(__file__).resolve().parent.parent


def _data(name: str) -> np.ndarray:
    import skimage.data

    a: np.ndarray = getattr(skimage.data, name)()
    return a


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _record_pair(work: Path, store: str, name: str) -> None:
    """``name``.raw.tif -> ``name``.png, recorded as one step."""
    Image.fromarray(_data(name)).save(work / f"{name}.raw.tif")
    Image.fromarray(_data(name)).save(work / f"{name}.png")
    res = run(
        "--store",
        store,
        "record",
        "-i",
        str(work / f"{name}.raw.tif"),
        "-o",
        str(work / f"{name}.png"),
        "--name",
        "plot",
    )
    assert res.exit_code == 0, res.output


def _panel_figure(path: Path, seed: int, **save: object) -> None:
    """A 2x3 matplotlib figure: image panels and plots with white gutters."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(2, 3, figsize=(12, 7))
    pics = ("coins", "camera", "moon")
    for i, ax in enumerate(axes[0]):
        ax.imshow(_data(pics[i])[:300, :300], cmap="gray")
        ax.set_axis_off()
    for ax in axes[1]:
        ax.hist(rng.gamma(4, 20, 300), bins=20)
        ax.set(xlabel="area", ylabel="count")
    fig.savefig(path, **save)  # type: ignore[arg-type]
    plt.close(fig)


def test_capture_stores_compact_binary_codes(store_location: str, tmp_path: Path) -> None:
    """A recorded multi-panel figure gets its figure codes as bytes in content_blob (not text
    in content_code), a detail far smaller than one PNG thumbnail per panel, and is found from
    one of its panels; on SQLite and on PostgreSQL."""
    fig = tmp_path / "fig.png"
    _panel_figure(fig, 1, dpi=120)
    assert run("--store", store_location, "record", "-o", str(fig)).exit_code == 0
    with open_store(store_location, create=False) as st:
        [cid] = [c.id for c in st.contents_by_id(range(1, 10)).values()]
        blobs = {s: st.blob_values_of([cid], s).get(cid) for s in FIGURE_SCHEMES}
        assert all(isinstance(v, bytes) and v for v in blobs.values()), blobs.keys()
        text = st._query("SELECT scheme FROM content_code WHERE content_id = ?", (cid,))
        assert {r[0] for r in text} & set(FIGURE_SCHEMES) == set()
    detail = blobs[DETAIL_SCHEME]
    assert detail is not None
    assert len(detail) < 96 * 1024, len(detail)  # version 1 stored ~800 KiB for such a figure
    views = FigureCodes.from_detail_value(detail).views
    panels = [v for v in views if v.kind == "panel" and v.detail is not None]
    assert len(panels) >= 6 and all(len(v.detail.xy) >= 40 for v in panels if v.detail)
    with Image.open(fig) as img:  # the middle top panel alone, as a paper would show it
        w, h = img.size
        img.crop((int(w * 0.38), 0, int(w * 0.65), int(h * 0.5))).save(tmp_path / "panel.png")
    res = run(
        "--store", store_location, "trace", "--similar", "--json", str(tmp_path / "panel.png")
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["match"]["paths"][0].endswith("fig.png")


def _downgrade_to_v3(location: str, cam: Path) -> dict[tuple[int, str], str]:
    """Turn a current store into what schema 3 wrote: figure codes as base64 text in
    content_code (detail version 1: keypoints and a PNG thumbnail per view), no content_blob.
    Both recorded contents (the raw TIFF and its PNG) hold the pixels of ``cam``."""
    old = figure_codes(cam)
    old.pages = []  # no shared page details: version 1, as the code of schema 3 stored it
    v1 = {
        INDEX_SCHEME: old.index_value(),
        CODES_SCHEME: old.codes_value(),
        DETAIL_SCHEME: old.detail_value(),
    }
    values: dict[tuple[int, str], str] = {}
    pg = location.startswith("postgresql")
    with open_store(location) as st, st.transaction() as db:
        ids = [r[0] for r in db.execute("SELECT DISTINCT content_id FROM content_blob")]
        assert len(ids) == 2  # camera.raw.tif and camera.png
        db.execute("DROP TABLE content_blob")
        # on PostgreSQL schema 3 could not hold them (a detail is larger than the 8 KiB a
        # row of the content_code (scheme, value) index may be): that store has none
        for cid in [] if pg else ids:
            for scheme, raw in v1.items():
                values[(cid, scheme)] = base64.b64encode(raw).decode()
                db.execute(
                    "INSERT INTO content_code (content_id, scheme, value) VALUES (?, ?, ?)",
                    (cid, scheme, values[(cid, scheme)]),
                )
    if pg:
        with open_store(location) as st, st.transaction() as db:
            db.execute("UPDATE iscc_lineage_meta SET value = '3' WHERE key = 'schema_version'")
    else:
        with sqlite3.connect(location) as db:
            db.execute("PRAGMA user_version = 3")
    return values


def test_older_store_keeps_its_figure_codes_as_bytes(store_location: str, tmp_path: Path) -> None:
    """A store of schema 3 (figure codes as base64 text, detail version 1) is upgraded on open:
    the same codes move to content_blob as bytes, nothing is re-coded or lost, and a crop is
    still found through them (PostgreSQL: schema 3 held none; they are coded lazily)."""
    _record_pair(tmp_path, store_location, "camera")
    values = _downgrade_to_v3(store_location, tmp_path / "camera.png")
    with open_store(store_location, create=False) as st:
        moved = {(cid, s): v for s in FIGURE_SCHEMES for cid, v in st.blob_values(s)}
        assert moved == {k: base64.b64decode(v) for k, v in values.items()}
        left = st._query("SELECT scheme FROM content_code")
        assert {r[0] for r in left} & set(FIGURE_SCHEMES) == set()
        lacking = st.contents_lacking([CODES_SCHEME, SKIP_SCHEME], [".png"])
        assert len(lacking) == (0 if values else 1)  # the PNG (the TIFF is not a .png)
    Image.open(tmp_path / "camera.png").crop((100, 60, 484, 444)).save(tmp_path / "crop.jpg")
    res = run("--store", store_location, "trace", "--similar", "--json", str(tmp_path / "crop.jpg"))
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["match"]["paths"][0].endswith("camera.png")
    if values:  # found through the moved codes, not by coding again
        assert "coded" not in res.stderr
    else:  # coded on the first search
        assert "coded 2 recorded picture(s)" in res.stderr, res.stderr


def test_index_cache_follows_new_recordings(tmp_path: Path) -> None:
    """The coarse index cached next to a SQLite store is rebuilt once a picture is recorded
    after it was written, and a picture recorded without codes after the last check for such
    pictures is still coded before the search: the new picture is found."""
    store = str(tmp_path / "lineage.db")
    _record_pair(tmp_path, store, "camera")
    Image.open(tmp_path / "camera.png").crop((60, 60, 460, 460)).save(tmp_path / "c1.png")
    assert run("--store", store, "trace", "--similar", str(tmp_path / "c1.png")).exit_code == 0
    cache = Path(store + INDEX_CACHE_SUFFIX)
    assert cache.is_file()
    cache.write_bytes(b"FIGIDX01" + bytes(40) + b"damaged")  # a cut or foreign file: rebuilt
    assert run("--store", store, "trace", "--similar", str(tmp_path / "c1.png")).exit_code == 0
    assert Path(store + CHECKED_SUFFIX).is_file()  # no picture waits for codes
    _record_pair(tmp_path, store, "coins")
    with sqlite3.connect(store) as db:  # as an iscc-lineage without figure codes records it
        db.execute(
            "DELETE FROM content_blob WHERE content_id ="
            " (SELECT content_id FROM observation WHERE path LIKE '%coins.png')"
        )
    Image.open(tmp_path / "coins.png").crop((40, 20, 340, 280)).save(tmp_path / "c2.png")
    res = run("--store", store, "trace", "--similar", "--json", str(tmp_path / "c2.png"))
    assert res.exit_code == 0, res.output
    assert "coded 1 recorded picture(s)" in res.stderr  # seen although checked before
    assert json.loads(res.stdout)["match"]["paths"][0].endswith("coins.png")


def test_binary_codes_survive_the_plugin_spool(tmp_path: Path) -> None:
    """The plugin's writes travel as JSON (spool, writer process): bytes arrive as bytes."""
    store = str(tmp_path / "lineage.db")
    _record_pair(tmp_path, store, "coins")
    raw = bytes(range(256)) * 3
    with open_store(store) as st:
        [h] = [c.datahash for c in st.contents_by_id([1]).values()]
        rec = json.loads(json.dumps(encode("add_codes", [(h, "test-blob", raw)])))
        apply(st, rec)
        assert st.blob_values("test-blob") == [(1, raw)]


needs_gs = pytest.mark.skipif(
    shutil.which("gs") is None,
    reason="EPS needs Ghostscript (apt ghostscript; .ci/run installs it)",
)


@needs_gs
def test_eps_figure_traced_from_its_png_export(tmp_path: Path) -> None:
    """An EPS figure (rendered by Ghostscript at capture) is the match for a cropped PNG
    export of the same figure."""
    store = str(tmp_path / "lineage.db")
    _panel_figure(tmp_path / "fig.eps", 2)
    assert run("--store", store, "record", "-o", str(tmp_path / "fig.eps")).exit_code == 0
    with open_store(store, create=False) as st:
        assert st.blob_values(DETAIL_SCHEME), "the EPS got no figure codes"
    _panel_figure(tmp_path / "export.png", 2, dpi=110)
    with Image.open(tmp_path / "export.png") as img:
        w, h = img.size
        img.crop((0, 0, int(w * 0.7), h)).save(tmp_path / "export_crop.png")
    res = run("--store", store, "trace", "--similar", "--json", str(tmp_path / "export_crop.png"))
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["match"]["paths"][0].endswith("fig.eps")


def test_eps_without_ghostscript_is_a_note_not_a_failure(tmp_path: Path) -> None:
    """Without Ghostscript on PATH, recording an EPS succeeds and notes why it has no codes."""
    eps = tmp_path / "fig.eps"
    _panel_figure(eps, 3)
    store = tmp_path / "lineage.db"
    env = {**os.environ, "PATH": str(tmp_path / "empty"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "iscc_lineage", "--store", str(store), "record", "-o", str(eps)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    with sqlite3.connect(store) as db:
        notes = db.execute("SELECT value FROM content_code WHERE scheme = ?", (SKIP_SCHEME,))
        assert any("Ghostscript" in n for (n,) in notes.fetchall())


def test_paper_graph_holds_every_panels_lineage(tmp_path: Path) -> None:
    """``trace --similar paper.pdf --graph``: one graph with the paper, both figures it shows
    and the raw acquisitions each was made from (Mermaid and SVG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    store = str(tmp_path / "lineage.db")
    for name in ("astronaut", "camera"):
        _record_pair(tmp_path, store, name)
    fig = plt.figure(figsize=(8.27, 11.69))
    for i in range(6):
        fig.text(0.1, 0.95 - i * 0.02, "lorem ipsum dolor sit amet " * 4, fontsize=8)
    ax = fig.add_axes((0.1, 0.45, 0.38, 0.3))
    ax.imshow(np.asarray(Image.open(tmp_path / "astronaut.png")))
    ax.set_axis_off()
    ax = fig.add_axes((0.55, 0.45, 0.38, 0.3))
    ax.imshow(_data("camera")[50:450, 60:460], cmap="gray")
    ax.set_axis_off()
    fig.savefig(tmp_path / "paper.pdf")
    plt.close(fig)
    paper = str(tmp_path / "paper.pdf")
    for out in ("paper.mmd", "paper.svg"):
        res = run("--store", store, "trace", "--similar", paper, "--graph", str(tmp_path / out))
        assert res.exit_code == 0, res.output
        text = (tmp_path / out).read_text()
        for name in ("paper.pdf", "astronaut.png", "astronaut.raw.tif", "camera.png"):
            assert name in text, (out, name)
        assert "camera.raw.tif" in text and "figure search" in text, out


def test_rivals_are_the_rules_other_outputs_and_what_shared_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_location: str
) -> None:
    """A figure search compares a hit with its recorded siblings: the other pictures of its
    rule (a step of the same name, in any run) and what was recorded at the same path;
    never a picture of another rule. The same answer on SQLite and PostgreSQL."""
    monkeypatch.setenv("ISCC_LINEAGE_STORE", store_location)
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(3)

    def picture(name: str) -> Path:
        Image.fromarray(rng.integers(0, 255, (96, 128), dtype=np.uint8)).save(tmp_path / name)
        return tmp_path / name

    for name, rule in (("a.png", "plot"), ("b.png", "plot"), ("c.png", "other")):
        picture(name)
        assert CliRunner().invoke(cli, ["record", "-o", name, "--name", rule]).exit_code == 0
    first = {p: _content_id(store_location, tmp_path / p) for p in ("a.png", "b.png", "c.png")}
    picture("a.png")  # a later run writes another picture at a's path
    assert CliRunner().invoke(cli, ["record", "-o", "a.png", "--name", "redo"]).exit_code == 0
    again = _content_id(store_location, tmp_path / "a.png")
    assert again != first["a.png"]
    with open_store(store_location) as st:
        assert st.blob_rivals([first["a.png"]], CODES_SCHEME, 10) == [again, first["b.png"]]
        assert st.blob_rivals([first["c.png"]], CODES_SCHEME, 10) == []
        assert st.blob_rivals([first["a.png"]], CODES_SCHEME, 1) == [again]


def _content_id(store: str, path: Path) -> int:
    with open_store(store) as st:
        return st.recorded_at(str(path))[0][0].id
