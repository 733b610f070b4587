"""The PostgreSQL server goes away during a Snakemake run: nothing lost, the run not hurt.

A private server (not the session's: this one is stopped and started) and a three-job
workflow whose middle jobs wait for a signal file, so the server can be stopped while a job
runs. The writer then spools to the working directory's ``.iscc-lineage/spool/`` (never a
``postgresql:`` folder), and the records arrive when the server is back: replayed by the
writer itself during the run, or afterwards by ``iscc-lineage import`` (the README's command).
Expected contents are the files' own BLAKE3 (iscc-core's datahash), not hard-coded.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import iscc_core as ic  # type: ignore[import-untyped]
import pytest
from services import PostgresServer, start_postgres

from iscc_lineage import open_store

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WAIT = "n=0; while [ ! -e {flag} ] && [ $n -lt 1800 ]; do sleep 0.1; n=$((n+1)); done"
JOB = "touch {name}.started; " + WAIT + "; cat {{input}} > {{output}}; echo {name} >> {{output}}"
SNAKEFILE = f"""
rule all:
    input: "c.txt"

rule a:
    output: "a.txt"
    shell: "echo a > {{output}}"

rule b:
    input: "a.txt"
    output: "b.txt"
    shell: "{JOB.format(name="b", flag="go1")}"

rule c:
    input: "b.txt"
    output: "c.txt"
    shell: "{JOB.format(name="c", flag="go2")}"
"""


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    """A server of this module's own: the tests stop and start it."""
    s = start_postgres()
    try:
        yield s
    finally:
        s.stop()


def until(check: object, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def start_run(tmp_path: Path, url: str) -> tuple[Path, subprocess.Popen[str]]:
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    env = {k: v for k, v in os.environ.items() if k != "ISCC_LINEAGE_STORE"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--logger",
            "iscc",
            "--logger-iscc-store",
            url,
            "-s",
            str(tmp_path / "Snakefile"),
            "-c1",
            "--directory",
            str(work),
        ],
        cwd=tmp_path,  # the launch folder is not the working directory
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return work, proc


def steps_in(server: PostgresServer, db: str) -> int:
    try:
        return int(server.psql("SELECT count(*) FROM step", db=db))
    except RuntimeError:
        return 0  # the table is not there yet


def ensure_up(server: PostgresServer) -> None:
    """The module's server runs again (a failed test must not leave it stopped)."""
    if not (server.root / "data" / "postmaster.pid").exists():
        server.resume()


def spool_files(work: Path) -> list[Path]:
    return sorted((work / ".iscc-lineage" / "spool").glob("*.jsonl"))


def check_lineage(url: str, work: Path) -> None:
    """One finished run whose three jobs are recorded with their outputs' real content."""
    with open_store(url, create=False) as store:
        runs = store.runs()
        assert [r.status for r in runs] == ["finished"]
        steps = store.steps_of_run(runs[0].id)
        assert sorted(s.name for s in steps) == ["a", "b", "c"]
        for s in steps:
            (out,) = s.outputs
            data = (work / f"{s.name}.txt").read_bytes()
            want = ic.gen_instance_code_v0(io.BytesIO(data), bits=256)["datahash"]
            assert out.datahash == want


def no_url_folder(tmp_path: Path) -> None:
    """No folder named after the URL (``postgresql:``), in the run's folders or here."""
    found = [p for p in tmp_path.rglob("*") if p.name.startswith(("postgresql:", "postgres:"))]
    assert found == []
    assert not any(Path.cwd().glob("postgres*:"))


def test_server_back_during_the_run_gets_every_record(
    server: PostgresServer, tmp_path: Path
) -> None:
    db = server.new_database("spool")
    url = server.url(db)
    work, proc = start_run(tmp_path, url)
    try:
        until(lambda: (work / "b.started").exists(), "job b")
        until(lambda: steps_in(server, db) >= 1, "job a recorded")
        server.pause()
        (work / "go1").touch()  # b ends while the server is away: its step is spooled
        until(lambda: (work / "c.started").exists(), "job c")
        until(lambda: bool(spool_files(work)), "a spool file in the working directory")
        text = spool_files(work)[0].read_text()
        assert '"insert_step"' in text and server.password not in text
        server.resume()
        time.sleep(3)  # the writer retries every 2 s
        (work / "go2").touch()
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        (work / "go1").touch()
        (work / "go2").touch()
        ensure_up(server)
    assert proc.returncode == 0, out[-3000:]
    check_lineage(url, work)
    assert spool_files(work) == []  # replayed and removed
    no_url_folder(tmp_path)


def test_server_still_away_at_the_end_then_import_replays(
    server: PostgresServer, tmp_path: Path
) -> None:
    db = server.new_database("spool")
    url = server.url(db)
    work, proc = start_run(tmp_path, url)
    try:
        until(lambda: (work / "b.started").exists(), "job b")
        until(lambda: steps_in(server, db) >= 1, "job a recorded")
        server.pause()
        (work / "go1").touch()
        (work / "go2").touch()
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        ensure_up(server)
    assert proc.returncode == 0, out[-3000:]  # the run is not hurt
    assert "iscc-lineage" in out  # one warning said it
    assert spool_files(work), out[-3000:]
    assert all(server.password not in p.read_text() for p in spool_files(work))
    assert steps_in(server, db) == 1  # only a, before the server went away
    env = {k: v for k, v in os.environ.items() if k != "ISCC_LINEAGE_STORE"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "iscc_lineage", "--store", url, "import", "-q", str(work)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    check_lineage(url, work)
    assert spool_files(work) == []
    no_url_folder(tmp_path)
