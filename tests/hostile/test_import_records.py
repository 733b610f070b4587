"""``import`` survives hostile or wrongly typed ``.snakemake`` records and special files:
one line per bad record, the good ones imported, no traceback, nothing half-written."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from pathlib import Path

import pytest
from hostile_helpers import cli

GOOD = {
    "rule": "copy",
    "input": ["in.txt"],
    "log": [],
    "params": [],
    "shellcmd": "cp",
    "incomplete": False,
    "job_hash": 1,
    "input_checksums": {},
    "code": None,
}

#: field -> hostile value (D14's catalogue); every one used to be a traceback or a crash
BAD_FIELDS: dict[str, object] = {
    "input": 5,
    "input ints": [1, 2],
    "starttime": "abc",
    "endtime": 1e308,
    "endtime negative": -1e18,
    "job_hash": [1],
    "code": {},
    "input_checksums": [1, 2],
    "params": 5,
    "params nested": [[1]],
    "log": [1, 2],
    "shellcmd": ["x"],
    "rule": 7,
    "incomplete": "maybe",
    "conda_env": 5,
}
BAD_DOCS = {
    "a list": "[1,2,3]",
    "a string": '"text"',
    "a number": "5",
    "nested 200000 deep": "[" * 200_000 + "]" * 200_000,
    "NaN start": json.dumps({**GOOD, "starttime": float("nan"), "endtime": 1.0}),
}


def _write(meta: Path, output: str, text: str) -> None:
    (meta / base64.urlsafe_b64encode(output.encode()).decode()).write_text(text)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    w = tmp_path / "w"
    meta = w / ".snakemake" / "metadata"
    meta.mkdir(parents=True)
    (w / "in.txt").write_text("in\n")
    (w / "good.txt").write_text("out\n")
    t = os.stat(w / "good.txt").st_mtime
    _write(meta, "good.txt", json.dumps({**GOOD, "starttime": t - 1, "endtime": t}))
    for i, (field, value) in enumerate(BAD_FIELDS.items()):
        key = field.split()[0]
        (w / f"bad{i}.txt").write_text(f"{i}\n")
        _write(
            meta,
            f"bad{i}.txt",
            json.dumps({**GOOD, "starttime": t - 1, "endtime": t, "job_hash": 100 + i, key: value}),
        )
    for i, text in enumerate(BAD_DOCS.values()):
        (w / f"doc{i}.txt").write_text(f"doc {i}\n")
        _write(meta, f"doc{i}.txt", text)
    return w


def test_bad_records_are_named_and_the_good_one_imported(workdir: Path) -> None:
    proc = cli("--store", "s.db", "import", "-q", str(workdir), cwd=workdir.parent, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    skipped = [ln for ln in proc.stderr.splitlines() if ln.startswith("skipped ")]
    assert len(skipped) == len(BAD_FIELDS) + len(BAD_DOCS), proc.stderr
    assert "Imported 1 steps" in proc.stdout, proc.stdout
    db = sqlite3.connect(workdir.parent / "s.db")
    assert db.execute("SELECT count(*) FROM step").fetchone()[0] == 1
    trace = cli("--store", "s.db", "trace", "w/good.txt", cwd=workdir.parent)
    assert trace.returncode == 0 and "copy" in trace.stdout, trace.stdout + trace.stderr


@pytest.mark.parametrize("special", ["fifo", "devzero", "huge"])
def test_special_run_logs_are_skipped_not_read(workdir: Path, special: str) -> None:
    logs = workdir / ".snakemake" / "log"
    logs.mkdir()
    target = logs / "2026-01-01T000000.000000.snakemake.log"
    if special == "fifo":
        os.mkfifo(target)
    elif special == "devzero":
        target.symlink_to("/dev/zero")
    else:
        with open(target, "wb") as f:
            f.truncate(2 << 30)  # sparse: 2 GiB of NULs, above the cap
    proc = cli("--store", "s.db", "import", "-q", str(workdir), cwd=workdir.parent, timeout=60)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert any(
        "2026-01-01T000000.000000.snakemake.log" in ln and "skipped" in ln
        for ln in proc.stderr.splitlines()
    ), proc.stderr


def test_a_metadata_db_view_is_not_run(workdir: Path) -> None:
    db = sqlite3.connect(workdir / ".snakemake" / "metadata.db")
    db.execute(
        "CREATE VIEW snakemake_metadata AS WITH RECURSIVE x(n) AS (SELECT 1 UNION ALL "
        "SELECT n+1 FROM x) SELECT n AS target FROM x"
    )
    db.close()
    proc = cli("--store", "s.db", "import", "-q", str(workdir), cwd=workdir.parent, timeout=60)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "metadata.db" in proc.stderr
