"""The issue's acceptance chain through the CLI: raw -> a -> b -> figure, raw reused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from iscc_lineage.cli import cli


@pytest.fixture
def chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_location: str) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISCC_LINEAGE_STORE", store_location)  # SQLite and PostgreSQL
    runner = CliRunner()
    (tmp_path / "raw.tif").write_bytes(bytes(range(256)) * 400)
    steps = [
        ("r1", "raw.tif", "a.tif", "a"),
        ("r1", "a.tif", "b.csv", "b"),
        ("r1", "b.csv", "figure.png", "figure"),
        ("r2", "raw.tif", "other.txt", "other"),
    ]
    for run, src, dst, text in steps:
        (tmp_path / dst).write_text(f"{text} from {src}\n")
        res = runner.invoke(cli, ["record", "--run", run, "-i", src, "-o", dst, "-n", text])
        assert res.exit_code == 0, res.output
    return tmp_path


def test_trace_reaches_raw_from_figure(chain: Path) -> None:
    res = CliRunner().invoke(cli, ["trace", "--json", "figure.png"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert [s["name"] for s in doc["steps"]] == ["figure", "b", "a"]
    assert [s["paths"] for s in doc["sources"]] == [[str(chain / "raw.tif")]]


def test_impact_reaches_figure_across_runs(chain: Path) -> None:
    res = CliRunner().invoke(cli, ["impact", "--json", "raw.tif"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert {s["name"] for s in doc["steps"]} == {"a", "b", "figure", "other"}
    assert {s["run"] for s in doc["steps"]} == {"r1", "r2"}
    assert sorted(p for c in doc["derived"] for p in c["paths"]) == [
        str(chain / "figure.png"),
        str(chain / "other.txt"),
    ]


def test_verify_flags_one_byte_change(chain: Path) -> None:
    assert CliRunner().invoke(cli, ["verify"]).exit_code == 0
    data = bytearray((chain / "raw.tif").read_bytes())
    data[5000] ^= 0xFF
    (chain / "raw.tif").write_bytes(bytes(data))
    res = CliRunner().invoke(cli, ["verify", "--json"])
    assert res.exit_code == 1
    changed = [c for c in json.loads(res.output) if c["status"] != "ok"]
    assert [c["path"] for c in changed] == [str(chain / "raw.tif")]
    assert changed[0]["status"] == "changed"


def test_unknown_content_exits_1(chain: Path) -> None:
    (chain / "new.txt").write_text("never recorded")
    assert CliRunner().invoke(cli, ["trace", "new.txt"]).exit_code == 1


def test_outputs_of_an_acquisition_step_are_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A step that reads no content (an instrument export, a simulator) made the raw data.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(tmp_path / "lineage.db"))
    runner = CliRunner()
    (tmp_path / "raw.tif").write_bytes(b"photons" * 100)
    assert runner.invoke(cli, ["record", "-o", "raw.tif", "-n", "acquire"]).exit_code == 0
    (tmp_path / "fig.png").write_bytes(b"figure" * 100)
    assert runner.invoke(cli, ["record", "-i", "raw.tif", "-o", "fig.png"]).exit_code == 0
    doc = json.loads(runner.invoke(cli, ["trace", "--json", "fig.png"]).output)
    assert [s["name"] for s in doc["steps"]] == ["manual step", "acquire"]
    assert [c["paths"] for c in doc["sources"]] == [[str(tmp_path / "raw.tif")]]
