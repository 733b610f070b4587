"""The capture's store writer: the helper's logic in-process, and the client with a real helper.

Real SQLite stores, a real second process holding ``BEGIN IMMEDIATE``, a real SIGKILL of the
helper process; no mocks.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from iscc_lineage.codes import fingerprint_path
from iscc_lineage.model import Artifact, Run, Step
from iscc_lineage.snakemake import writer
from iscc_lineage.snakemake.writer import KILLED, StoreClient, _Helper
from iscc_lineage.store import Store
from iscc_lineage.store.spool import encode, flush_spools

LOCKER = (
    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
    "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.read()"
)


def _run(tmp_path: Path, rid: str = "r1", pid: int | None = None) -> Run:
    info = {"engine": "snakemake", **({"pid": pid} if pid else {})}
    return Run(
        rid,
        None,
        tmp_path.as_posix(),
        "2026-01-01T00:00:00.000+00:00",
        None,
        "running",
        host=os.uname().nodename,
        info=info,
    )


def _step(tmp_path: Path, rid: str = "r1") -> tuple[Step, list[Artifact]]:
    f = tmp_path / f"out-{uuid.uuid4().hex[:6]}.txt"
    f.write_text(f.name)
    return (
        Step(uuid.uuid4().hex, rid, "make", ended="2026-01-01T00:00:01.000+00:00"),
        [Artifact(str(f), fingerprint_path(f))],
    )


def _said(out: io.BytesIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_helper_writes_answers_reads_and_checks_the_store_at_close(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    out = io.BytesIO()
    h = _Helper(out)
    h.open({"id": 1, "path": str(db)})
    h.write(encode("insert_run", _run(tmp_path)))
    step, arts = _step(tmp_path)
    h.write(encode("insert_step", step, [], arts, None, "generated"))
    assert arts[0].fingerprint is not None
    h.write(encode("cache_put", [("key", arts[0].fingerprint)]))
    h.reads.put({"id": 2, "call": "cache_get", "key": "key"})
    h.reads.put({"id": 3, "call": "has_code", "hashes": ["x"], "scheme": "image"})
    h.reads.put(None)
    h.serve_reads()
    answers = {m["id"]: m for m in _said(out) if "id" in m}
    assert answers[1]["ok"] and answers[3]["result"] == []
    result = answers[2]["result"]
    assert isinstance(result, dict) and result["datahash"] == arts[0].fingerprint.datahash
    h.write(encode("update_run", "r1", status="finished", ended=None, info={}))
    assert h.close(1.0, "r1") == {"notices": [], "spooled": 0}
    with Store(str(db), create=False) as s:
        assert s.run("r1").status == "finished" and s.run("r1").steps == 1


def test_helper_spools_while_locked_and_replays_when_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "LOCK_WAIT", 0.2)
    db = tmp_path / "s.db"
    Store(str(db)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    out = io.BytesIO()
    h = _Helper(out)
    h.open({"id": 1, "path": str(db)})
    t0 = time.monotonic()
    h.write(encode("insert_run", _run(tmp_path)))
    for _ in range(5):
        step, arts = _step(tmp_path)
        h.write(encode("insert_step", step, [], arts, None, "generated"))
    assert time.monotonic() - t0 < 2.0  # one lock wait, then straight to the spool
    notices = [m["notice"] for m in _said(out) if "notice" in m]
    assert len(notices) == 1 and "locked by another process" in str(notices[0])
    assert h.spooling and h.spool is not None and h.spool.lines == 6
    h.retry()  # still locked: kept
    assert h.spooling
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(10)
    h.retry()
    assert not h.spooling
    with Store(str(db), create=False) as s:
        assert s.run("r1").steps == 5
    h.close(1.0, "r1")


def test_helper_settles_its_run_when_snakemake_vanishes(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    h = _Helper(io.BytesIO())
    h.open({"id": 1, "path": str(db)})
    h.write(encode("insert_run", _run(tmp_path, pid=_dead_pid())))
    step, arts = _step(tmp_path)
    h.write(encode("insert_step", step, [], arts, None, "generated"))
    h.ended_without_close()
    with Store(str(db), create=False) as s:
        run = s.run("r1")
        assert run.status == "incomplete" and run.info["settled"] == KILLED
        assert run.ended == step.ended  # the last step's end, as for any stale run


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_helper_says_when_the_store_went_away(tmp_path: Path, how: str) -> None:
    db = tmp_path / "s.db"
    h = _Helper(io.BytesIO())
    h.open({"id": 1, "path": str(db)})
    h.write(encode("insert_run", _run(tmp_path)))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if how == "replaced":
        Store(str(db)).close()
    [notice] = h.close(1.0, "r1")["notices"]
    assert how in notice and "r1" in notice


def test_client_with_a_real_helper_and_a_killed_helper_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    client = StoreClient(str(db))
    client.insert_run(_run(tmp_path))
    step, arts = _step(tmp_path)
    client.insert_step(step, [], arts)
    assert arts[0].fingerprint is not None
    client.cache_put([("k1", arts[0].fingerprint)])
    deadline = time.monotonic() + 20
    while client.cache_get("k1") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    got = client.cache_get("k1")
    assert got is not None and got.datahash == arts[0].fingerprint.datahash
    os.kill(client._proc.pid, signal.SIGKILL)  # what a SIGBUS in the helper would do
    client._proc.wait(10)
    deadline = time.monotonic() + 10
    while not client._dead and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client._dead
    step2, arts2 = _step(tmp_path)
    client.insert_step(step2, [], arts2)  # written to the client's own spool
    client.update_run("r1", status="finished", ended=None)
    assert client.cache_get("k1") is None  # no helper: a cache miss, no wait
    client.close(1.0)
    with Store(str(db), create=False) as s:
        files, _ = flush_spools(s)
        assert files == 1
        run = s.run("r1")
        assert run.status == "finished" and run.steps == 2
