"""The store's chain through the CLI: intact after real recording (4 concurrent writers too);
an edited, deleted, inserted or reordered record is named by ``verify --store`` (exit 1)."""

from __future__ import annotations

import itertools
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from iscc_lineage import open_store
from iscc_lineage.cli import cli

HELPER = Path(__file__).resolve().parents[1] / "helpers_store.py"


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "lineage.db"
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(db))
    (tmp_path / "raw.tif").write_bytes(bytes(range(256)) * 400)
    runner = CliRunner()
    for src, dst, name in (
        ("raw.tif", "a.tif", "a"),
        ("a.tif", "b.csv", "b"),
        ("b.csv", "figure.png", "figure"),
    ):
        (tmp_path / dst).write_text(f"{name} from {src}\n")
        res = runner.invoke(cli, ["record", "--run", "r1", "-i", src, "-o", dst, "-n", name])
        assert res.exit_code == 0, res.output
    return db


def _verify(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["verify", "--store", *args])
    return res.exit_code, res.output


def _tamper(db: Path, *sql: str) -> None:
    """What someone with the sqlite3 shell can do: drop the guards, change rows."""
    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER IF EXISTS chain_no_update")
    con.execute("DROP TRIGGER IF EXISTS chain_no_delete")
    for s in sql:
        con.execute(s)
    con.commit()
    con.close()


def _step_uid(db: Path, name: str) -> str:
    con = sqlite3.connect(db)
    uid = con.execute("SELECT uid FROM step WHERE name = ?", (name,)).fetchone()[0]
    con.close()
    return str(uid)


def test_recorded_store_verifies(recorded: Path) -> None:
    code, out = _verify()
    assert code == 0, out
    assert "store chain intact" in out
    with open_store(recorded) as st:
        head = st.chain_head()
        findings, n = st.check_chain()
    assert findings == [] and head is not None and head[0] == n
    assert n >= 4  # a run and three steps at least (run updates append too)
    code, out = _verify("--json")
    doc = json.loads(out)
    _schema(doc)
    assert code == 0 and doc["ok"] and doc["entries"] == n


def _schema(doc: object) -> None:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]

    path = Path(__file__).resolve().parents[2] / "schemas" / "verify-store.schema.json"
    Draft202012Validator(json.loads(path.read_text())).validate(doc)


def test_the_chain_table_refuses_edits(recorded: Path) -> None:
    con = sqlite3.connect(recorded)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE chain SET uid = 'x' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM chain WHERE seq = 1")
    con.close()


def test_edited_step_is_named(recorded: Path) -> None:
    uid = _step_uid(recorded, "b")
    _tamper(recorded, "UPDATE step SET command = 'rm -rf /' WHERE name = 'b'")
    code, out = _verify()
    assert code == 1
    assert out.splitlines()[0] == f"store chain: step {uid} was edited after it was recorded"


def test_edited_edge_is_named(recorded: Path) -> None:
    uid = _step_uid(recorded, "figure")
    _tamper(
        recorded,
        "UPDATE observation SET path = '/elsewhere.png' WHERE role = 'generated'"
        " AND step_id = (SELECT id FROM step WHERE name = 'figure')",
    )
    code, out = _verify()
    assert code == 1 and f"step {uid} was edited" in out.splitlines()[0]


def test_deleted_step_is_named(recorded: Path) -> None:
    uid = _step_uid(recorded, "a")
    _tamper(
        recorded,
        "DELETE FROM observation WHERE step_id = (SELECT id FROM step WHERE name = 'a')",
        "DELETE FROM step WHERE name = 'a'",
    )
    code, out = _verify()
    assert code == 1 and out.splitlines()[0] == (
        f"store chain: step {uid} was deleted after it was recorded"
    )
    # and deleting its chain entry too breaks the links right there
    _tamper(recorded, f"DELETE FROM chain WHERE uid = '{uid}'")
    code, out = _verify()
    assert code == 1 and "are gone" in out.splitlines()[0]


def test_reordered_chain_is_named(recorded: Path) -> None:
    _tamper(
        recorded,
        "UPDATE chain SET seq = -2 WHERE seq = 2",
        "UPDATE chain SET seq = 2 WHERE seq = 3",
        "UPDATE chain SET seq = 3 WHERE seq = -2",
    )
    code, out = _verify("--json")
    assert code == 1
    _schema(json.loads(out))
    first = json.loads(out)["findings"][0]
    assert first["problem"] == "reordered" and first["seq"] == 2


def test_inserted_step_is_named(recorded: Path) -> None:
    _tamper(
        recorded,
        "INSERT INTO step (uid, run_id, name, status) VALUES"
        " ('forged', (SELECT id FROM run), 'forged', 'finished')",
    )
    code, out = _verify()
    assert code == 1 and "step forged is not in the chain" in out


#: a writer that says it is ready (imports done: seconds on a loaded machine) and starts
#: recording when the file GO appears, so all four start together
_WRITER = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[5])
import helpers_store
go = Path(sys.argv[6])
Path(sys.argv[7]).touch()
while not go.exists():
    time.sleep(0.005)
helpers_store.write(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
"""


def test_four_concurrent_writers_keep_one_valid_chain(tmp_path: Path) -> None:
    db = tmp_path / "lineage.db"
    open_store(db).close()
    go = tmp_path / "GO"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WRITER,
                str(db),
                str(tmp_path / f"w{i}"),
                f"run{i}",
                "40",
                str(HELPER.parent),
                str(go),
                str(tmp_path / f"ready{i}"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    # A fixed pause is not enough: under load one interpreter may still be importing when the
    # others have written all their steps, and the writers would not overlap at all.
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready{i}").exists() for i in range(4)):
        assert time.monotonic() < deadline, "the writers did not start within 120 s"
        assert all(p.poll() is None for p in procs), "a writer died before it was ready"
        time.sleep(0.01)
    go.touch()
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0
        assert len(out.split()) == 40
    with open_store(db) as st:
        findings, n = st.check_chain()
        entries = st.chain_entries()
    assert findings == []
    assert [e.seq for e in entries] == list(range(1, n + 1))
    steps = [e for e in entries if e.kind == "step"]
    assert len(steps) == 160 and len({e.uid for e in steps}) == 160
    # the writers interleaved (one chain, not four in a row): more than 3 changes of writer
    owners = [e.uid.split("-")[0] for e in steps]
    assert sum(a != b for a, b in itertools.pairwise(owners)) > 3


def test_store_of_schema_v1_is_sealed_on_upgrade(recorded: Path) -> None:
    """A store written before the chain existed (schema v1) gets its records chained."""
    con = sqlite3.connect(recorded)
    for stmt in (
        "DROP TABLE note",
        "DROP TABLE chain",
        "DROP VIEW twin",
        "DROP TABLE image",
        "DROP TABLE content_blob",
        "PRAGMA user_version = 1",
    ):  # what migrations 2 (chain), 3 (images) and 4 (binary figure codes) add
        con.execute(stmt)
    con.commit()
    con.close()
    with open_store(recorded) as st:
        findings, n = st.check_chain()
        stats = st.stats()
    assert findings == [] and n == stats["run"] + stats["step"]
    assert _verify()[0] == 0
