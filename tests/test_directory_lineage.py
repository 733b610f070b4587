"""Lineage through directory contents: a file read from inside a generated directory.

Checkpoints and directory() outputs are often consumed one member file at a time; the step
that made the directory made the file, so trace must not stop at the file as a "source".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from iscc_lineage import Recorder, Store, identify, impact, open_store, trace
from iscc_lineage.export.svg import to_svg


@pytest.fixture
def store(tmp_path: Path, store_location: str) -> Store:
    """raw -> split (directory chunks/ with a.txt, b.txt) -> count(chunks/a.txt) -> n.txt.

    On both backends (SQLite and PostgreSQL, see ``store_location``)."""
    st = open_store(store_location)
    rec = Recorder(st)
    run = rec.begin_run()
    (tmp_path / "raw.txt").write_text("alpha\nbeta\n")
    (tmp_path / "chunks").mkdir()
    (tmp_path / "chunks" / "a.txt").write_text("alpha\n")
    (tmp_path / "chunks" / "b.txt").write_text("beta\n")
    rec.record_step(run, "split", inputs=[tmp_path / "raw.txt"], outputs=[tmp_path / "chunks"])
    (tmp_path / "n.txt").write_text("1\n")
    rec.record_step(
        run, "count", inputs=[tmp_path / "chunks" / "a.txt"], outputs=[tmp_path / "n.txt"]
    )
    return st


def test_trace_crosses_from_member_file_to_directory_maker(store: Store, tmp_path: Path) -> None:
    lin = trace(store, identify(store, tmp_path / "n.txt")[0].datahash)
    assert [s.name for s in lin.steps] == ["count", "split"]
    assert [c.paths for c in lin.ends] == [(str(tmp_path / "raw.txt"),)]


def test_impact_crosses_from_directory_to_member_users(store: Store, tmp_path: Path) -> None:
    lin = impact(store, identify(store, tmp_path / "raw.txt")[0].datahash)
    assert [s.name for s in lin.steps] == ["split", "count"]
    assert [c.paths for c in lin.ends] == [(str(tmp_path / "n.txt"),)]


def test_trace_of_member_file_itself_reaches_directory_maker(store: Store, tmp_path: Path) -> None:
    lin = trace(store, identify(store, tmp_path / "chunks" / "a.txt")[0].datahash)
    assert [s.name for s in lin.steps] == ["split"]


def test_unrelated_member_is_not_linked(store: Store, tmp_path: Path) -> None:
    # b.txt was never used: n.txt's lineage holds the directory and a.txt, never b.txt.
    lin = trace(store, identify(store, tmp_path / "n.txt")[0].datahash)
    b = identify(store, tmp_path / "chunks" / "b.txt")[0].datahash
    assert b not in lin.contents and b not in lin.containers


def test_picture_links_member_to_directory_maker(store: Store, tmp_path: Path) -> None:
    lin = trace(store, identify(store, tmp_path / "n.txt")[0].datahash)
    svg = to_svg(lin)
    # raw.txt -> split -> chunks/ -> chunks/a.txt -> count -> n.txt: a member edge joins the
    # file read from inside the directory to the directory its maker wrote
    assert svg.count("<rect") == 6 and svg.count('marker-end="url(#arrow)"') == 5
    chunks = identify(store, tmp_path / "chunks")[0].datahash
    a = identify(store, tmp_path / "chunks" / "a.txt")[0].datahash
    assert f'data-from="{chunks}" data-to="{a}"' in svg
    assert ">split<" in svg and ">chunks/a.txt<" in svg and ">raw.txt<" in svg
