"""keys / sign / declare / verify --signatures through the CLI, on a recorded chain."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("iscc_crypto")

import iscc_crypto as icr
from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]

from iscc_lineage.cli import cli

ORCID = "0000-0002-1825-0097"
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def run(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == code, res.output
    return res.output


def validate(name: str, doc: object) -> None:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(doc)


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(tmp_path / "lineage.db"))
    monkeypatch.setenv("ISCC_LINEAGE_KEYS", str(tmp_path / "keys"))
    monkeypatch.delenv("ISCC_LINEAGE_PASSPHRASE", raising=False)
    (tmp_path / "raw.tif").write_bytes(bytes(range(256)) * 400)
    for src, dst, name in (
        ("raw.tif", "table.csv", "measure"),
        ("table.csv", "figure.png", "plot"),
    ):
        (tmp_path / dst).write_text(f"{name} from {src}\n")
        run("record", "--run", "r1", "-i", src, "-o", dst, "-n", name)
    return tmp_path


def test_keys_init_and_show(lab: Path) -> None:
    out = run("keys", "init", "--name", "Ada Lovelace", "--orcid", ORCID, "--json")
    ident = json.loads(out)
    validate("keys", ident)
    assert ident["pubkey"].startswith("z6Mk") and ident["did"] == f"did:key:{ident['pubkey']}"
    assert stat.S_IMODE((lab / "keys" / "signing.key").stat().st_mode) == 0o600
    shown = run("keys", "show")
    assert f"public key  {ident['pubkey']}" in shown and f"orcid.org/{ORCID}" in shown
    assert "exists already" in run("keys", "init", code=2)
    assert "not an ORCID" in run("keys", "init", "--force", "--orcid", "nope", code=2)


def test_missing_key_is_one_line_exit_2(lab: Path) -> None:
    for args in (("sign", "figure.png"), ("keys", "show"), ("declare", "figure.png")):
        out = run(*args, code=2)
        assert out.startswith("Error: ") and out.count("\n") == 1 and "keys init" in out


def test_sign_and_verify_signatures(lab: Path) -> None:
    run("keys", "init", "--name", "Ada Lovelace", "--orcid", ORCID)
    out = run("sign", "figure.png", "--run", "r1", "--hub-id", "5")
    assert "local ISCC-ID ISCC:MAI" in out and "not registered" in out
    signed = json.loads(run("sign", "table.csv", "--json"))
    validate("sign", signed)
    assert icr.verify_json(signed[0]["note"]).is_valid
    res = run("verify", "--signatures")
    lines = res.splitlines()
    assert len(lines) == 3
    fig = next(x for x in lines if "figure.png" in x)
    assert " signed by z6Mk" in fig and f"(Ada Lovelace, ORCID {ORCID}) on " in fig
    assert fig.endswith("content matches, lineage matches")
    # the notes name files by their absolute location: checked from any folder
    (lab / "elsewhere").mkdir()
    os.chdir(lab / "elsewhere")
    assert run("verify", "--signatures") == res
    reports = json.loads(run("verify", "--signatures", "--json"))
    validate("verify-signatures", reports)
    assert all(r["ok"] for r in reports)
    assert {r["iscc_id_scope"] for r in reports} == {"local", None}
    # nothing of the key in the store
    db = (lab / "lineage.db").read_bytes()
    assert b"PRIVATE KEY" not in db
    assert icr.key_from_secret  # the secret is only in the key folder


def test_tampering_after_signing_exits_1(lab: Path) -> None:
    run("keys", "init")
    run("sign", "figure.png", "--run", "r1")
    (lab / "figure.png").write_text("plot from table.csv, edited\n")
    out = run("verify", "--signatures", code=1)
    bad = [x for x in out.splitlines() if "figure.png" in x]
    assert len(bad) == 1 and "content differs from the signed one" in bad[0]
    (lab / "figure.png").write_text("plot from table.csv\n")
    con = sqlite3.connect(lab / "lineage.db")
    con.execute("UPDATE step SET command = 'forged' WHERE name = 'measure'")
    con.commit()
    con.close()
    out = run("verify", "--signatures", code=1)
    assert "was changed after signing" in out
    assert "edited after it was recorded" in run("verify", "--store", code=1)


def test_declare_prepares_a_fresh_payload(lab: Path) -> None:
    run("keys", "init")
    res = CliRunner().invoke(cli, ["declare", "figure.png", "--hub-id", "12"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    validate("iscc-note", payload)
    assert icr.decode_node_id(payload["nonce"]) == 12
    assert icr.verify_json(payload).is_valid
    assert "POST this to the HUB's /declaration" in res.stderr


def test_passphrase_key_signs_only_with_the_passphrase(
    lab: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISCC_LINEAGE_PASSPHRASE", "correct horse")
    assert "passphrase  yes" in run("keys", "init", "--passphrase")
    monkeypatch.delenv("ISCC_LINEAGE_PASSPHRASE")
    out = run("sign", "figure.png", code=2)  # no terminal to ask in: one line, exit 2
    assert out.startswith("Error: ") and "protected by a passphrase" in out
    assert out.count("\n") == 1
    monkeypatch.setenv("ISCC_LINEAGE_PASSPHRASE", "battery staple")
    assert "wrong passphrase" in run("sign", "figure.png", code=2)
    monkeypatch.setenv("ISCC_LINEAGE_PASSPHRASE", "correct horse")
    assert "signed figure.png" in run("sign", "figure.png")
    assert run("verify", "--signatures").count("content matches, lineage matches") == 1
