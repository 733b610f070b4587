"""Signed crates: the reviewer's path (only the crate, offline) and every tamper case, each a
one-line reason and exit 1; the notes pass iscc-crypto and the real rocrate-validator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from crate_helpers import Demo, Project, Validate, failures

from iscc_lineage.cli import cli

pytest.importorskip("iscc_crypto")
import iscc_crypto as icr

ORCID = "0000-0001-5109-3700"
DEPOSIT = ("--license", "CC-BY-4.0", "--author", "Jane Doe <0000-0002-1825-0097>")


def run(*args: str, code: int | None = 0) -> str:
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if code is not None:
        assert res.exit_code == code, res.output
    return res.output


@pytest.fixture
def signed(recorded: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ISCC_LINEAGE_KEYS", str(tmp_path / "keys"))
    run("keys", "init", "--name", "Ada Lovelace", "--orcid", ORCID)
    out = tmp_path / "crate"
    run("export", "crate", str(out), *DEPOSIT, "--sign")
    return out


def _reviewer(crate: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A second person: the crate alone, copied elsewhere, no store, no keys."""
    elsewhere = tmp_path / "reviewer" / "crate"
    shutil.copytree(crate, elsewhere)
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(tmp_path / "reviewer" / "none.db"))
    monkeypatch.setenv("ISCC_LINEAGE_KEYS", str(tmp_path / "reviewer" / "nokeys"))
    monkeypatch.chdir(tmp_path / "reviewer")
    return elsewhere


def test_reviewer_verifies_a_signed_crate_offline(
    signed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crate = _reviewer(signed, monkeypatch, tmp_path)
    out = run("verify", "--crate", str(crate))
    lines = [x for x in out.splitlines() if "signed by" in x]
    assert any(
        x.startswith("results/figure.png: signed by z6Mk")
        and f"ORCID {ORCID}" in x
        and x.endswith("content matches, lineage matches")
        for x in lines
    ), out
    assert any(x.startswith("run r1: signed by z6Mk") for x in lines), out
    assert not (tmp_path / "reviewer" / "none.db").exists()  # nothing written
    reports = json.loads(run("verify", "--crate", str(crate), "--signatures", "--json"))
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]

    schema = Path(__file__).resolve().parents[2] / "schemas" / "verify-signatures.schema.json"
    Draft202012Validator(json.loads(schema.read_text())).validate(reports)
    assert all(r["ok"] and r["content_ok"] for r in reports) and len(reports) == len(lines)
    # iscc-crypto, independently, accepts every note file
    notes = sorted((crate / "notes").glob("*.json"))
    assert notes
    for p in notes:
        if not p.name.endswith(".lineage.json"):
            assert icr.verify_json(json.loads(p.read_text())).is_valid, p


@pytest.mark.e2e
def test_signed_crate_is_valid(signed: Path, validate: Validate) -> None:
    pytest.importorskip("rocrate_validator")
    report = validate(signed)
    assert report["passed"], failures(report)
    graph = {
        e["@id"]: e for e in json.loads((signed / "ro-crate-metadata.json").read_text())["@graph"]
    }
    note = graph["notes/results__figure.png.json"]
    assert note["about"] == {"@id": "results/figure.png"}
    assert graph[note["author"]["@id"]]["@type"] == "Person"
    root = graph["./"]
    parts = {p["@id"] for p in root["hasPart"]}
    assert {
        "notes/results__figure.png.json",
        "notes/results__figure.png.lineage.json",
        "notes/run-r1.json",
    } <= parts
    text = (signed / "ro-crate-metadata.json").read_text()
    assert "BEGIN PRIVATE KEY" not in text and "secret" not in text.lower()


def _edit_note(crate: Path, name: str, change: Any) -> None:
    p = crate / "notes" / name
    note = json.loads(p.read_text())
    change(note)
    p.write_text(json.dumps(note))


def _one_failure(crate: Path, subject: str) -> str:
    out = run("verify", "--crate", str(crate), code=1)
    bad = [x for x in out.splitlines() if x.startswith(f"{subject}: ") and "signed by" not in x]
    assert len(bad) == 1, out
    return bad[0]


def test_edited_byte_in_figure(
    signed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crate = _reviewer(signed, monkeypatch, tmp_path)
    fig = crate / "results" / "figure.png"
    data = bytearray(fig.read_bytes())
    data[-20] ^= 0xFF
    fig.write_bytes(bytes(data))
    assert "content differs from the signed one" in _one_failure(crate, "results/figure.png")


def test_edited_note_field(signed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crate = _reviewer(signed, monkeypatch, tmp_path)
    _edit_note(
        crate, "results__figure.png.json", lambda n: n.update(timestamp="2020-01-01T00:00:00.000Z")
    )
    assert "signature does not verify" in _one_failure(crate, "results/figure.png")


def test_swapped_public_key(signed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crate = _reviewer(signed, monkeypatch, tmp_path)
    other = icr.key_generate().public_key
    _edit_note(crate, "results__figure.png.json", lambda n: n["signature"].update(pubkey=other))
    line = _one_failure(crate, "results/figure.png")
    assert f"signature does not verify under the embedded key {other}" in line


def test_note_of_another_figure(
    signed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crate = _reviewer(signed, monkeypatch, tmp_path)
    notes = crate / "notes"
    shutil.copy(notes / "results__table.csv.json", notes / "results__figure.png.json")
    shutil.copy(
        notes / "results__table.csv.lineage.json", notes / "results__figure.png.lineage.json"
    )
    assert "content differs from the signed one" in _one_failure(crate, "results/figure.png")


def test_edited_lineage(signed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crate = _reviewer(signed, monkeypatch, tmp_path)
    # the lineage document itself edited: the metahash no longer matches
    p = crate / "notes" / "results__figure.png.lineage.json"
    p.write_bytes(p.read_bytes().replace(b'"plot"', b'"plo7"'))
    assert "lineage document differs" in _one_failure(crate, "results/figure.png")


def test_crate_actions_edited_against_the_signed_lineage(
    signed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crate = _reviewer(signed, monkeypatch, tmp_path)
    meta = crate / "ro-crate-metadata.json"
    doc = json.loads(meta.read_text())
    for ent in doc["@graph"]:  # the plot job now claims another input
        if ent["@id"].startswith("#job-") and ent.get("name") == "plot":
            ent["object"] = {"@id": "results/figure-annotated.png"}
    meta.write_text(json.dumps(doc))
    line = _one_failure(crate, "results/figure.png")
    assert "does not use" in line and "table.csv as signed" in line


@pytest.mark.e2e
def test_demo_figure_signed_crate_valid_and_verified_elsewhere(
    demo: Demo, tmp_path: Path, validate: Validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's path: keys init, sign the demo figure, export a signed crate; a second
    person with only the crate verifies it offline."""
    monkeypatch.setenv("ISCC_LINEAGE_KEYS", str(tmp_path / "keys"))
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(demo.store))
    monkeypatch.chdir(demo.workdir)
    run("keys", "init", "--name", "Ada Lovelace", "--orcid", ORCID)
    assert "signed results/figures/panel.png" in run("sign", "results/figures/panel.png")
    out = tmp_path / "crate.zip"
    run(
        "export",
        "crate",
        str(out),
        "--zip",
        *DEPOSIT,
        "--sign",
        "--for",
        "results/figures/panel.png",
    )
    report = validate(out)
    assert report["passed"], failures(report)
    reviewer = tmp_path / "reviewer"
    reviewer.mkdir()
    shutil.copy(out, reviewer / "crate.zip")
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(reviewer / "none.db"))
    monkeypatch.chdir(reviewer)
    text = run("verify", "--crate", "crate.zip", "--signatures")
    panel = [x for x in text.splitlines() if x.startswith("results/figures/panel.png: ")]
    assert len(panel) == 1 and f"(Ada Lovelace, ORCID {ORCID}) on " in panel[0]
    assert panel[0].endswith("content matches, lineage matches")
