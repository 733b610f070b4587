"""Spool files: writes kept while the store is locked, replayed once, torn lines ignored."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from iscc_lineage.codes import fingerprint_path
from iscc_lineage.errors import StoreError
from iscc_lineage.model import Artifact, Run, Step
from iscc_lineage.store import Store
from iscc_lineage.store.spool import SpoolFile, apply, encode, flush_spools, spool_dir


def _records(tmp_path: Path) -> list[dict[str, object]]:
    f = tmp_path / "f.txt"
    f.write_text("content\n")
    fp = fingerprint_path(f)
    run = Run("r1", None, tmp_path.as_posix(), "2026-01-01T00:00:00.000+00:00", None, "running")
    step = Step(uuid.uuid4().hex, "r1", "make", ended="2026-01-01T00:00:01.000+00:00")
    return [
        encode("insert_run", run),
        encode("insert_step", step, [], [Artifact(str(f), fp)], None, "generated"),
        encode("cache_put", [("k", fp)]),
        encode(
            "update_run",
            "r1",
            status="finished",
            ended="2026-01-01T00:00:02.000+00:00",
            info={"x": 1},
        ),
    ]


def test_spooled_writes_replay_once_into_the_store(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    Store(str(db)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], "
            "isolation_level=None); c.execute('BEGIN IMMEDIATE'); print('ok', flush=True); "
            "sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
    with Store(str(db), busy_timeout_ms=100) as store:
        with pytest.raises(StoreError, match="locked"):
            apply(store, _records(tmp_path)[0])
        spool = SpoolFile(str(db), "r1-1")
        for rec in _records(tmp_path):
            spool.append(rec)
        spool.close()
        # a writer killed mid-line leaves a torn last line: ignored
        with spool.path.open("ab") as fh:
            fh.write(b'{"op": "insert_run", "run": {"id": "torn"')
        with pytest.raises(StoreError, match="locked"):
            flush_spools(store)  # still locked: the spool is kept for later
        assert spool.path.exists()
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)
        assert flush_spools(store) == (1, 4)
        assert not spool.path.exists()
        run = store.run("r1")
        assert run.status == "finished" and run.steps == 1 and run.info == {"x": 1}
        # replay is idempotent: the same records again change nothing
        for rec in _records(tmp_path)[:2]:
            apply(store, rec)
        assert store.stats()["step"] == 2  # a new step id was made by _records: only that one
        assert [r.id for r in store.runs()] == ["r1"]


def test_a_locked_spool_belongs_to_a_live_writer_and_is_not_flushed(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Store(str(db)) as store:
        spool = SpoolFile(str(db), "live")
        spool.append(_records(tmp_path)[0])
        assert flush_spools(store) == (0, 0)  # its writer holds the flock
        assert spool_dir(db) == tmp_path / "spool"
        spool.close()
        assert flush_spools(store) == (1, 1)
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from run").fetchone()[0] == 1
