"""Opening a store never runs its SQL: unknown views, triggers, tables or indexes refuse it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hostile_helpers import cli, one_line, snapshot


@pytest.fixture
def store(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("a\n")
    proc = cli(
        "--store",
        "s.db",
        "record",
        "-i",
        "a.txt",
        "-o",
        "b.txt",
        "--",
        "sh",
        "-c",
        "cp a.txt b.txt",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "s.db"


CRAFTED = {
    "trigger": "CREATE TRIGGER evil AFTER INSERT ON observation BEGIN UPDATE observation "
    "SET path='/FORGED/'||new.path WHERE id=new.id; END",
    "view replacing a table": "ALTER TABLE run RENAME TO run_old; CREATE VIEW run AS "
    "WITH RECURSIVE x(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM x) "
    "SELECT * FROM run_old, x",
    "changed view": "DROP VIEW used; CREATE VIEW used AS SELECT step_id, content_id, path "
    "FROM observation",
    "extra table": "CREATE TABLE extra (x)",
    "extra index": "CREATE INDEX extra_idx ON run (status)",
}


@pytest.mark.parametrize("sql", CRAFTED.values(), ids=CRAFTED.keys())
@pytest.mark.parametrize(
    "args", [["runs"], ["record", "-i", "a.txt", "-o", "c.txt", "--", "sh", "-c", "cp a.txt c.txt"]]
)
def test_crafted_schema_is_refused_before_any_sql(store: Path, sql: str, args: list[str]) -> None:
    db = sqlite3.connect(store)
    db.executescript(sql)
    db.close()
    before = snapshot(store.parent)
    line = one_line(cli("--store", str(store), *args, cwd=store.parent, timeout=20))
    assert "not an iscc-lineage store (unexpected schema object" in line, line
    after = snapshot(store.parent)
    after.pop("c.txt", None)  # the recorded command may have run; the store must not change
    assert after == before


def test_a_clean_store_still_opens(store: Path) -> None:
    assert cli("--store", str(store), "runs", cwd=store.parent).returncode == 0
