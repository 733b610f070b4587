"""Lineage pictures: valid SVG/HTML, every node drawn, data flowing one way."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from iscc_lineage import Recorder, identify, impact, open_store, trace
from iscc_lineage.export.diagram import to_dot, to_mermaid
from iscc_lineage.export.svg import to_html, to_svg
from iscc_lineage.lineage import graph
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
            float(rect.get("x", 0)),
            float(rect.get("width", 0)),
        )
    return out


def test_svg_draws_every_content_and_step(fan_in: tuple[Lineage, Lineage]) -> None:
    back, _ = fan_in
    boxes = _boxes(to_svg(back, max_width=1e9))
    assert len(boxes) == len(back.contents) + len(back.steps) == 9 + 7


def test_svg_edges_all_point_right(fan_in: tuple[Lineage, Lineage]) -> None:
    for lin in fan_in:
        root = ET.fromstring(to_svg(lin, max_width=1e9))
        paths = [p.get("d", "") for p in root.iter(SVG + "path") if p.get("marker-end")]
        assert paths
        for d in paths:
            xs = [float(x) for x in re.findall(r"[MC ](-?[\d.]+),", d)]
            assert xs[-1] >= xs[0], d  # data flows left to right


def test_source_left_target_right(fan_in: tuple[Lineage, Lineage]) -> None:
    back, _ = fan_in
    boxes = _boxes(to_svg(back, max_width=1e9))
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


@pytest.fixture
def demo_like(tmp_path: Path) -> Lineage:
    """The demo's panel: three samples whose raw images and labels all feed one panel, so
    edges skip columns (raw -> panel) past other samples' steps."""
    store = open_store(tmp_path / "l.db")
    rec = Recorder(store)
    run = rec.begin_run()

    def step(name: str, ins: list[str], out: str, sample: str | None = None) -> None:
        (tmp_path / out).write_text(f"{name}:{','.join(ins)}")
        rec.record_step(
            run,
            name,
            inputs=[tmp_path / i for i in ins],
            outputs=[tmp_path / out],
            info={"wildcards": {"sample": sample}} if sample else None,
        )

    for s in ("s01", "s02", "s03"):
        step("acquire", [], f"{s}.tif", s)
        step("correct", [f"{s}.tif"], f"{s}.corr", s)
        step("segment", [f"{s}.corr"], f"{s}.labels", s)
        step("measure", [f"{s}.corr", f"{s}.labels"], f"{s}.csv", s)
    step(
        "panel", [f"{s}.{k}" for s in ("s01", "s02", "s03") for k in ("tif", "labels")], "panel.png"
    )
    return trace(store, identify(store, tmp_path / "panel.png")[0].datahash)


def _segments(d: str) -> list[tuple[float, float]]:
    """Points along an SVG path of M, C and L commands (cubic curves sampled)."""
    tokens = re.findall(r"[MCL]|-?[\d.]+,-?[\d.]+", d)
    pts: list[tuple[float, float]] = []
    here = (0.0, 0.0)
    i = 0
    while i < len(tokens):
        cmd = tokens[i]
        if cmd in ("M", "L"):
            nxt = tuple(map(float, tokens[i + 1].split(",")))
            if cmd == "L":
                pts += [
                    (here[0] + (nxt[0] - here[0]) * t / 20, here[1] + (nxt[1] - here[1]) * t / 20)
                    for t in range(21)
                ]
            here = (nxt[0], nxt[1])
            i += 2
        else:  # C: three points
            p1, p2, p3 = (tuple(map(float, tokens[i + k].split(","))) for k in (1, 2, 3))
            for t in (k / 40 for k in range(41)):
                u = 1 - t
                pts.append(
                    tuple(
                        u**3 * a + 3 * u * u * t * b + 3 * u * t * t * c + t**3 * e
                        for a, b, c, e in zip(here, p1, p2, p3, strict=True)
                    )
                )
            here = (p3[0], p3[1])
            i += 4
    return pts


@pytest.mark.parametrize("max_width", [1e9, 400])  # left to right, and top to bottom
def test_no_edge_passes_through_a_node_it_does_not_touch(
    demo_like: Lineage, max_width: float
) -> None:
    root = ET.fromstring(to_svg(demo_like, max_width=max_width))
    boxes = {}
    for g in root.iter(SVG + "g"):
        r = g.find(SVG + "rect")
        assert r is not None
        boxes[g.get("data-node")] = (
            float(r.get("x", 0)),
            float(r.get("y", 0)),
            float(r.get("width", 0)),
            float(r.get("height", 0)),
        )
    edges = [p for p in root.iter(SVG + "path") if p.get("data-from")]
    assert len(edges) == len({(f.source, f.target) for f in graph(demo_like).flows}) > 15
    for p in edges:
        ends = {p.get("data-from"), p.get("data-to")}
        for x, y in _segments(p.get("d", "")):
            for key, (bx, by, bw, bh) in boxes.items():
                if key in ends:
                    continue
                inside = bx + 1 < x < bx + bw - 1 and by + 1 < y < by + bh - 1
                assert not inside, f"{p.get('data-from')} -> {p.get('data-to')} crosses {key}"


def test_steps_are_labelled_with_their_wildcards(demo_like: Lineage) -> None:
    svg = to_svg(demo_like)
    assert ">correct sample=s02<" in svg and ">acquire sample=s03<" in svg
