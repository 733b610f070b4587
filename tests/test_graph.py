"""Lineage as a networkx graph and as GraphML: node and edge counts, attributes, read-back."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner

from iscc_lineage import Artifact, Lineage, Recorder, Store, open_store
from iscc_lineage.cli import cli
from iscc_lineage.errors import ExportError
from iscc_lineage.export.graph import to_digraph, write_graphml
from iscc_lineage.lineage import LOCATION_PREFIX, STEP_PREFIX, impact, trace


def step_node(step_id: str) -> str:
    return STEP_PREFIX + step_id


def location_node(run: str, path: str) -> str:
    return f"{LOCATION_PREFIX}{run}:{path}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """r1: raw -> a -> b -> figure (b also reads a pipe); r2: raw -> other."""
    w = tmp_path
    for name in ("raw", "a", "b", "figure", "other"):
        (w / f"{name}.dat").write_text(f"content of {name}\n")
    st = open_store(w / "lineage.db")
    rec = Recorder(st)
    r1, r2 = rec.begin_run(workdir=w, run_id="r1"), rec.begin_run(workdir=w, run_id="r2")
    rec.record_step(
        r1, "a", inputs=[w / "raw.dat"], outputs=[w / "a.dat"], step_id="s-a", command="make a"
    )
    rec.record_step(
        r1,
        "b",
        inputs=[w / "a.dat", Artifact(str(w / "stream"), None, "pipe")],
        outputs=[w / "b.dat"],
        step_id="s-b",
    )
    rec.record_step(r1, "figure", inputs=[w / "b.dat"], outputs=[w / "figure.dat"], step_id="s-fig")
    rec.record_step(
        r2, "other", inputs=[w / "raw.dat"], outputs=[w / "other.dat"], step_id="s-other"
    )
    yield st
    st.close()


def _hash(st: Store, path: Path) -> str:
    [(_, h)] = st.observations(paths=[path.as_posix()])
    assert h is not None
    return h


def test_trace_graph_of_the_chain(store: Store, tmp_path: Path) -> None:
    fig = _hash(store, tmp_path / "figure.dat")
    g = to_digraph(trace(store, fig))
    contents = {n for n, d in g.nodes(data=True) if d["type"] == "content"}
    steps = {n for n, d in g.nodes(data=True) if d["type"] == "step"}
    expected = {_hash(store, tmp_path / f"{n}.dat") for n in ("raw", "a", "b", "figure")}
    assert contents == expected
    assert (
        steps
        == {step_node(s) for s in ("s-a", "s-b", "s-fig")}
        == {"step:s-a", "step:s-b", "step:s-fig"}
    )
    pipe = location_node("r1", (tmp_path / "stream").as_posix())
    assert g.nodes[pipe] == {
        "type": "location",
        "path": (tmp_path / "stream").as_posix(),
        "run": "r1",
        "note": "pipe",
    }
    assert g.number_of_nodes() == 4 + 3 + 1
    assert g.number_of_edges() == 7 and g.has_edge(pipe, "step:s-b")
    assert nx.is_directed_acyclic_graph(g)
    raw = _hash(store, tmp_path / "raw.dat")
    assert nx.shortest_path(g, raw, fig) == [
        raw,
        "step:s-a",
        _hash(store, tmp_path / "a.dat"),
        "step:s-b",
        _hash(store, tmp_path / "b.dat"),
        "step:s-fig",
        fig,
    ]
    assert g.edges[raw, "step:s-a"] == {"role": "used", "path": (tmp_path / "raw.dat").as_posix()}
    assert g.edges["step:s-fig", fig]["role"] == "generated"
    assert g.nodes["step:s-a"] == {
        "type": "step",
        "name": "a",
        "run": "r1",
        "command": "make a",
        "status": "finished",
    }
    assert "command" not in g.nodes["step:s-b"]  # None is left out
    node = g.nodes[fig]
    assert node["paths"] == [(tmp_path / "figure.dat").as_posix()]
    assert (node["size"], node["kind"]) == ((tmp_path / "figure.dat").stat().st_size, "file")
    assert node["iscc"].startswith("ISCC:KUA")
    assert g.graph == {"direction": "trace", "target": fig}


def test_impact_graph_across_runs(store: Store, tmp_path: Path) -> None:
    g = to_digraph(impact(store, _hash(store, tmp_path / "raw.dat")))
    steps = {d["name"]: d["run"] for _, d in g.nodes(data=True) if d["type"] == "step"}
    assert steps == {"a": "r1", "b": "r1", "figure": "r1", "other": "r2"}
    assert g.number_of_nodes() == 4 + 5 + 1 and g.number_of_edges() == 9
    assert nx.is_directed_acyclic_graph(g)


def test_a_temp_file_links_its_steps_in_the_graph(tmp_path: Path) -> None:
    (tmp_path / "raw.dat").write_text("raw\n")
    (tmp_path / "final.dat").write_text("final\n")
    gone = Artifact((tmp_path / "tmp.dat").as_posix(), None, "gone before fingerprinting (temp)")
    with open_store(tmp_path / "s.db") as st:
        rec = Recorder(st)
        run = rec.begin_run(workdir=tmp_path, run_id="r")
        rec.record_step(
            run, "make-temp", inputs=[tmp_path / "raw.dat"], outputs=[gone], step_id="t1"
        )
        rec.record_step(
            run, "use-temp", inputs=[gone], outputs=[tmp_path / "final.dat"], step_id="t2"
        )
        lin = trace(st, _hash(st, tmp_path / "final.dat"))
    g = to_digraph(lin)
    temp = location_node("r", gone.path)
    assert nx.shortest_path(g, _hash_of(lin, "raw.dat"), _hash_of(lin, "final.dat")) == [
        _hash_of(lin, "raw.dat"),
        "step:t1",
        temp,
        "step:t2",
        _hash_of(lin, "final.dat"),
    ]
    assert g.nodes[temp]["note"] == "gone before fingerprinting (temp)"


def _hash_of(lin: Lineage, name: str) -> str:
    return next(h for h, c in lin.contents.items() if any(p.endswith(name) for p in c.paths))


def test_a_lone_content_is_one_node(store: Store, tmp_path: Path) -> None:
    other = _hash(store, tmp_path / "other.dat")
    g = to_digraph(impact(store, other))
    assert list(g.nodes) == [other] and g.number_of_edges() == 0


def test_graphml_reads_back_with_the_same_nodes(store: Store, tmp_path: Path) -> None:
    lin = trace(store, _hash(store, tmp_path / "figure.dat"))
    out = tmp_path / "trace.graphml"
    write_graphml(lin, out)
    back = nx.read_graphml(out)
    g = to_digraph(lin)
    assert set(back.nodes) == set(g.nodes)
    assert set(back.edges) == set(g.edges)
    assert back.is_directed()
    for n, d in g.nodes(data=True):
        got = dict(back.nodes[n])
        if "paths" in d:
            got["paths"] = json.loads(got["paths"])  # GraphML has no lists
        assert got == d


def test_graphml_into_a_directory_is_an_export_error(store: Store, tmp_path: Path) -> None:
    lin = trace(store, _hash(store, tmp_path / "figure.dat"))
    with pytest.raises(ExportError, match="cannot write GraphML"):
        write_graphml(lin, tmp_path)


@pytest.mark.parametrize(
    "command,start,n_steps", [("trace", "figure.dat", 3), ("impact", "raw.dat", 4)]
)
def test_cli_writes_graphml(
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    start: str,
    n_steps: int,
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / f"{command}.graphml"
    res = CliRunner().invoke(
        cli, ["--store", "lineage.db", command, "--graph", str(out), "--json", start]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    back = nx.read_graphml(out)
    steps = [n for n, d in back.nodes(data=True) if d["type"] == "step"]
    assert len(steps) == n_steps == len(doc["steps"])
    assert {f"step:{s['id']}" for s in doc["steps"]} == set(steps)
    assert set(doc["contents"]) == {n for n, d in back.nodes(data=True) if d["type"] == "content"}


def test_cli_graphml_error_is_one_line(store: Store, tmp_path: Path) -> None:
    (tmp_path / "out.graphml").mkdir()
    res = CliRunner().invoke(
        cli,
        [
            "--store",
            str(tmp_path / "lineage.db"),
            "trace",
            "--graph",
            str(tmp_path / "out.graphml"),
            str(tmp_path / "figure.dat"),
        ],
    )
    assert res.exit_code == 2
    assert res.stderr.count("\n") == 1 and "cannot write GraphML" in res.stderr


def test_only_graph_imports_networkx() -> None:
    code = (
        "import sys, iscc_lineage, iscc_lineage.cli, iscc_lineage.lineage, "
        "iscc_lineage.render; print('networkx' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "suffix,head",
    [
        (".svg", "<svg"),
        (".html", "<!doctype html>"),
        (".mmd", "flowchart LR"),
        (".md", "```mermaid"),
        (".dot", "digraph lineage"),
    ],
)
def test_cli_draws_pictures_by_suffix(store: Store, tmp_path: Path, suffix: str, head: str) -> None:
    out = tmp_path / f"lineage{suffix}"
    res = CliRunner().invoke(
        cli,
        [
            "--store",
            str(tmp_path / "lineage.db"),
            "trace",
            "--graph",
            str(out),
            str(tmp_path / "figure.dat"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert out.read_text().startswith(head)


def test_cli_graph_unknown_suffix_is_usage_error(store: Store, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli,
        [
            "--store",
            str(tmp_path / "lineage.db"),
            "trace",
            "--graph",
            str(tmp_path / "x.png"),
            str(tmp_path / "figure.dat"),
        ],
    )
    assert res.exit_code == 2 and "--graph" in res.output


def _expected_from_json(doc: dict[str, Any]) -> tuple[set[str], set[tuple[str, str]]]:
    """Node keys and data-flow edges of a lineage, computed from `trace --json` alone."""
    nodes = {doc["target"]["datahash"]}
    edges = set()
    for s in doc["steps"]:
        sk = STEP_PREFIX + s["id"]
        nodes.add(sk)
        for role, side in (("used", "inputs"), ("generated", "outputs")):
            for e in s[side]:
                key = e["datahash"] or f"{LOCATION_PREFIX}{s['run']}:{e['path']}"
                nodes.add(key)
                edges.add((key, sk) if role == "used" else (sk, key))
    edges |= {(tree, member) for member, tree in doc["members"].items()}
    return nodes, edges


def _drawn(path: Path) -> tuple[set[str], set[tuple[str, str]]]:
    """Node keys and edges as each format writes them."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".graphml":
        g = nx.read_graphml(path)
        return set(g.nodes), set(g.edges)
    if path.suffix == ".dot":
        edges = {(a, b) for a, b in re.findall(r'^  "([^"]+)" -> "([^"]+)";$', text, re.M)}
        return set(re.findall(r'^  "([^"]+)" \[label=', text, re.M)), edges
    if path.suffix in (".mmd", ".md"):
        ids = dict(re.findall(r"^  %% (n\d+) = (.+)$", text, re.M))
        edges = {(ids[a], ids[b]) for a, b in re.findall(r"^  (n\d+) --> (n\d+)$", text, re.M)}
        return set(ids.values()), edges
    unescape = html.unescape  # .svg and .html carry the SVG with data- attributes
    nodes = {unescape(k) for k in re.findall(r'<g data-node="([^"]+)"', text)}
    edges = {
        (unescape(a), unescape(b))
        for a, b in re.findall(r'data-from="([^"]+)" data-to="([^"]+)"', text)
    }
    return nodes, edges


@pytest.mark.parametrize("suffix", [".svg", ".html", ".mmd", ".md", ".dot", ".graphml"])
def test_every_picture_draws_the_trace_json_graph(tmp_path: Path, suffix: str) -> None:
    """A gone temp file and a pipe in the middle: every format draws the whole upstream half
    (the old pictures stopped at the first content-less location: 2 nodes of 9)."""
    w = tmp_path
    for name, text in (
        ("raw", "raw\n"),
        ("ref", "reference\n"),
        ("final", "final\n"),
        ("log", "log of make-temp\n"),
    ):
        (w / f"{name}.dat").write_text(text)
    gone = Artifact((w / "tmp.dat").as_posix(), None, "gone before fingerprinting (temp)")
    pipe = Artifact((w / "stream").as_posix(), None, "pipe")
    db = w / "s.db"
    with open_store(db) as st:
        rec = Recorder(st)
        run = rec.begin_run(workdir=w, run_id="r")
        rec.record_step(
            run, "make-temp", inputs=[w / "raw.dat"], outputs=[gone, w / "log.dat"], step_id="t1"
        )
        rec.record_step(run, "stream", inputs=[gone], outputs=[pipe], step_id="t2")
        rec.record_step(
            run, "use", inputs=[pipe, w / "ref.dat"], outputs=[w / "final.dat"], step_id="t3"
        )
    runner = CliRunner()
    res = runner.invoke(cli, ["--store", str(db), "trace", "--json", str(w / "final.dat")])
    assert res.exit_code == 0, res.output
    want_nodes, want_edges = _expected_from_json(json.loads(res.stdout))
    assert len(want_nodes) == 9 and len(want_edges) == 8
    out = w / f"lineage{suffix}"
    res = runner.invoke(
        cli, ["--store", str(db), "trace", str(w / "final.dat"), "--graph", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert _drawn(out) == (want_nodes, want_edges)
