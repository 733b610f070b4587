"""Lineage pictures: valid SVG/HTML, every node drawn, data flowing one way."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from iscc_lineage import Recorder, identify, impact, open_store, trace
from iscc_lineage.export.diagram import to_dot, to_html, to_mermaid, to_svg
from iscc_lineage.model import Lineage

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def fan_in(tmp_path: Path) -> tuple[Lineage, Lineage]:
    """Two samples: correct -> segment, measure(corrected, labels) -> one summary figure."""
    store = open_store(tmp_path / "l.db")
    rec = Recorder(store)
    run = rec.begin_run()

    def step(name: str, ins: list[str], out: str) -> None:
        (tmp_path / out).write_text(f"{name}:{','.join(ins)}")
        rec.record_step(run, name, inputs=[tmp_path / i for i in ins], outputs=[tmp_path / out])

    csvs = []
    for s in ("a", "b"):
        (tmp_path / f"{s}.tif").write_text(f"raw {s}")
        step("correct", [f"{s}.tif"], f"{s}.corr")
        step("segment", [f"{s}.corr"], f"{s}.labels")
        step("measure", [f"{s}.corr", f"{s}.labels"], f"{s}.csv")
        csvs.append(f"{s}.csv")
    step("summary", csvs, "summary.png")
    back = trace(store, identify(store, tmp_path / "summary.png")[0].datahash)
    forward = impact(store, identify(store, tmp_path / "a.tif")[0].datahash)
    return back, forward


def _boxes(svg: str) -> dict[str, tuple[float, float]]:
    root = ET.fromstring(svg)
    out = {}
    for g in root.iter(SVG + "g"):
        rect = g.find(SVG + "rect")
        text = g.find(SVG + "text")
        assert rect is not None and text is not None
        out[f"{text.text}@{rect.get('y')}@{rect.get('x')}"] = (
            float(rect.get("x", 0)), float(rect.get("width", 0)))
    return out


def test_svg_draws_every_content_and_step(fan_in: tuple[Lineage, Lineage]) -> None:
    back, _ = fan_in
    boxes = _boxes(to_svg(back))
    assert len(boxes) == len(back.contents) + len(back.steps) == 9 + 7


def test_svg_edges_all_point_right(fan_in: tuple[Lineage, Lineage]) -> None:
    for lin in fan_in:
        root = ET.fromstring(to_svg(lin))
        paths = [p.get("d", "") for p in root.iter(SVG + "path") if p.get("marker-end")]
        assert paths
        for d in paths:
            xs = [float(x) for x in re.findall(r"[MC ](-?[\d.]+),", d)]
            assert xs[-1] >= xs[0], d  # data flows left to right


def test_source_left_target_right(fan_in: tuple[Lineage, Lineage]) -> None:
    back, _ = fan_in
    boxes = _boxes(to_svg(back))
    x = {k.split("@")[0]: v[0] for k, v in boxes.items()}
    assert x["a.tif"] < x["a.corr"] < x["a.labels"] < x["a.csv"] < x["summary.png"]


def test_mermaid_and_dot_name_every_node(fan_in: tuple[Lineage, Lineage]) -> None:
    back, _ = fan_in
    mmd = to_mermaid(back)
    assert mmd.startswith("flowchart LR")
    assert mmd.count(" --> ") == to_dot(back).count(" -> ")
    for c in back.contents.values():
        assert c.iscc in mmd and c.iscc in to_dot(back)


def test_html_lists_contents_with_iscc(fan_in: tuple[Lineage, Lineage]) -> None:
    back, _ = fan_in
    page = to_html(back, "summary.png")
    assert page.startswith("<!doctype html>") and "<svg" in page
    assert all(c.iscc in page for c in back.contents.values())
