"""The plugin never hurts a run: real snakemake runs under a locked store, a truncated -shm,
Ctrl-C, a deleted store, kill -9 and a second run in the same folder (issue 9).

Every fault is real: another process holds ``BEGIN IMMEDIATE``, the ``-shm`` file is truncated
with ``os.truncate``, SIGINT and SIGKILL are sent to snakemake's process group.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from iscc_lineage.store import Store

pytestmark = pytest.mark.e2e

SNAKEFILE = """
rule all:
    input: expand("out/{i}.txt", i=range(%d))
rule one:
    output: "out/{i}.txt"
    shell: "sleep %s; echo {wildcards.i} > {output}"
"""


def workflow(root: Path, sleep: float = 0.3, n: int = 10) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Snakefile").write_text(SNAKEFILE % (n, sleep))
    return root


def start(work: Path, *args: str, plugin: bool = True, cores: int = 2) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "ISCC_LINEAGE_STORE"}
    logger = ["--logger", "iscc"] if plugin else []
    return subprocess.Popen(
        [sys.executable, "-m", "snakemake", *args, f"-c{cores}", *logger],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def ours(stderr: str) -> list[str]:
    """Our lines but the closing one, found anywhere in a line: the writer process shares
    Snakemake's stderr, so its line can land after a partial one of Snakemake's."""
    return re.findall(r"iscc-lineage: (?!recorded )[^\n]*", stderr)


def steps_in(db: Path) -> int:
    try:  # closed at once: this process must hold no mapping of the -shm it truncates
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as con:
            return int(con.execute("SELECT count(*) FROM step").fetchone()[0])
    except sqlite3.Error:
        return 0


def wait_for(cond: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.05)
    pytest.fail("condition never met")


@contextmanager
def write_lock(db: Path) -> Iterator[None]:
    """Another process holds the store's write lock (a DB browser with an open edit)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], "
            "isolation_level=None); c.execute('BEGIN IMMEDIATE'); print('locked', flush=True);"
            " sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)


def iscc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iscc_lineage", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_a_store_locked_mid_run_stalls_nothing_and_import_flushes_the_spool(tmp_path: Path) -> None:
    work = workflow(tmp_path / "w")
    db = tmp_path / "s.db"
    proc = start(work, "--logger-iscc-store", str(db))
    wait_for(lambda: steps_in(db) >= 2)
    with write_lock(db):
        t0 = time.monotonic()
        _, err = proc.communicate(timeout=90)  # today: (steps left + 1) x 60 s
        after_lock = time.monotonic() - t0
    assert proc.returncode == 0, err[-2000:]
    assert after_lock < 20, after_lock
    lines = ours(err)
    assert len(lines) == 1 and "locked" in lines[0], err[-2000:]
    spools = list((tmp_path / "spool").glob("*.jsonl"))
    assert spools, "the records that could not be written are kept"
    res = iscc("--store", str(db), "import", "-q", str(work))
    assert res.returncode == 0, res.stderr
    with Store(str(db), create=False) as s:
        [run] = [r for r in s.runs() if not r.info.get("imported")]
        assert run.status == "finished"
        assert len(s.steps_of_run(run.id)) == 10
    assert not list((tmp_path / "spool").glob("*.jsonl"))


def test_a_store_locked_at_start_does_not_fail_the_run(tmp_path: Path) -> None:
    work = workflow(tmp_path / "w", sleep=0.05)
    db = tmp_path / "s.db"
    Store(str(db)).close()
    with write_lock(db):
        proc = start(work, "--logger-iscc-store", str(db))
        _, err = proc.communicate(timeout=90)  # today: rc 1 after 61 s, no job run
    assert proc.returncode == 0, err[-2000:]
    assert len(list((work / "out").iterdir())) == 10
    assert len(ours(err)) == 1
    # The next writer of the store (here a second run) adds the first run's records.
    (work / "Snakefile").write_text(SNAKEFILE.replace('"out/', '"out2/') % (10, 0.05))
    proc = start(work, "--logger-iscc-store", str(db))
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0 and not ours(err), err[-2000:]
    with Store(str(db), create=False) as s:
        runs = s.runs()
        assert sorted(r.status for r in runs) == ["finished", "finished"]
        assert sorted(r.steps for r in runs) == [10, 10]


def test_a_truncated_shm_does_not_kill_snakemake(tmp_path: Path) -> None:
    work = workflow(tmp_path / "w", sleep=0.3, n=20)
    db = tmp_path / "s.db"
    proc = start(work, "--logger-iscc-store", str(db))
    wait_for(lambda: steps_in(db) >= 2)
    shm = Path(f"{db}-shm")
    if shm.exists():
        os.truncate(shm, 0)  # today: SIGBUS, rc 135, 4 of 30 outputs
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    assert len(list((work / "out").iterdir())) == 20
    assert len(ours(err)) <= 1
    with closing(sqlite3.connect(db)) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    iscc("--store", str(db), "import", "-q", str(work))
    with Store(str(db), create=False) as s:
        live = [r for r in s.runs() if not r.info.get("imported")]
        assert [r.steps for r in live] == [20]


BIG = """
rule all:
    input: "big.bin", "slow.txt"
rule big:
    output: "big.bin"
    shell: "head -c 3000000000 /dev/zero > {output}"
rule slow:
    output: "slow.txt"
    shell: "sleep 60; touch {output}"
"""


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_stops_within_a_second_and_marks_the_run(tmp_path: Path, presses: int) -> None:
    work = tmp_path / "w"
    work.mkdir()
    (work / "Snakefile").write_text(BIG)
    proc = start(work)
    meta = work / ".snakemake" / "metadata"
    wait_for(lambda: meta.is_dir() and any(meta.iterdir()), timeout=120)
    time.sleep(0.3)  # the big output is being fingerprinted now (3 GB: seconds)
    t0 = time.monotonic()
    for _ in range(presses):
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        time.sleep(0.2)
    _, err = proc.communicate(timeout=60)
    took = time.monotonic() - t0
    assert took < 3.0, f"{took:.1f} s after SIGINT (today 14.8 s)"
    if presses == 1:
        assert "Traceback" not in err, err[-3000:]
    else:  # Snakemake's own atexit clean-up may print one (not ours: it does so without us)
        assert "iscc_lineage" not in err and "plugin_iscc" not in err, err[-3000:]
    db = work / ".iscc-lineage" / "lineage.db"
    wait_for(lambda: steps_in(db) >= 1, timeout=10)
    with Store(str(db), create=False) as s:
        [run] = s.runs()
        assert run.status == "interrupted"
        [big] = [st for st in s.steps_of_run(run.id) if st.name == "big"]
        assert big.outputs[0].datahash is None
        assert big.outputs[0].note == "not fingerprinted: interrupted"


def test_store_deleted_mid_run_is_said(tmp_path: Path) -> None:
    work = workflow(tmp_path / "w", sleep=0.3)
    db = tmp_path / "s.db"
    proc = start(work, "--logger-iscc-store", str(db))
    wait_for(lambda: steps_in(db) >= 2)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0
    lines = ours(err)
    assert len(lines) == 1 and "deleted" in lines[0], err[-2000:]


def test_second_run_in_the_folder_never_marks_a_live_first_run(tmp_path: Path) -> None:
    work = tmp_path / "w"
    work.mkdir()
    (work / "Snakefile").write_text(
        'rule a:\n    output: "A/{i}.txt"\n    shell: "if [ {wildcards.i} = 1 ]; then sleep 1; '
        'else while [ ! -e go ]; do sleep 0.1; done; fi; touch {output}"\n'
        'rule b:\n    output: "B/{i}.txt"\n    shell: "touch {output}"\n'
    )
    db = work / ".iscc-lineage" / "lineage.db"
    # -c3: all three jobs at once. With -c2 Snakemake picks two of the three in a random order
    # (its job selection is not stable), and A/2 + A/3 first never finish (they wait for go).
    first = start(work, "A/1.txt", "A/2.txt", "A/3.txt", cores=3)
    try:
        wait_for(lambda: steps_in(db) >= 1, timeout=60)
        second = start(work, "B/1.txt")
        _, err = second.communicate(timeout=90)
        assert second.returncode == 0, err[-2000:]
        with Store(str(db), create=False) as s:
            states = {r.command and "A/1.txt" in r.command: r for r in s.runs()}
            assert states[True].status == "running" and "settled" not in states[True].info
        (work / "go").touch()
        first.communicate(timeout=90)
    finally:  # a failed test must not leave the first run waiting for go forever
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.communicate()
    with Store(str(db), create=False) as s:
        states = {r.command and "A/1.txt" in r.command: r for r in s.runs()}
        assert states[True].status == "finished" and "settled" not in states[True].info


LOST = """
rule all:
    input: "b.bin"
rule a:
    output: "a.txt"
    shell: "echo a > {output}"
rule b:
    input: "a.txt"
    output: "b.bin"
    shell: "head -c 400000000 /dev/urandom > {output}"
"""


def _kill_in_the_window(work: Path) -> str:
    """Run LOST and kill -9 snakemake as soon as b.bin's metadata record exists."""
    (work / "Snakefile").write_text(LOST)
    proc = start(work, cores=1)
    record = work / ".snakemake" / "metadata" / "Yi5iaW4="  # urlsafe b64 of "b.bin"
    wait_for(record.exists, timeout=120)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    db = work / ".iscc-lineage" / "lineage.db"
    time.sleep(1.0)  # the writer process commits what it was sent
    with Store(str(db), create=False) as s:
        [run] = s.runs()
        names = [st.name for st in s.steps_of_run(run.id)]
    assert "b" not in names, "killed too late: the step got committed (no window hit)"
    subprocess.run(
        [sys.executable, "-m", "snakemake", "--unlock"], cwd=work, capture_output=True, check=True
    )
    return str(db)


@pytest.mark.parametrize("how", ["rerun", "import"])
def test_a_job_finished_just_before_kill_9_is_recorded_later(tmp_path: Path, how: str) -> None:
    work = tmp_path / "w"
    work.mkdir()
    db = _kill_in_the_window(work)
    if how == "rerun":
        proc = start(work, cores=1)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and "Nothing to be done" in out + err
    else:
        res = iscc("--store", db, "import", "-q", str(work))
        assert res.returncode == 0, res.stderr
    deadline = time.monotonic() + 30  # the next run recovers in its writer process
    while time.monotonic() < deadline:
        res = iscc("--store", db, "trace", "--json", str(work / "b.bin"))
        if res.returncode == 0 and json.loads(res.stdout).get("steps"):
            break
        time.sleep(0.5)
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert [s["name"] for s in doc["steps"]][:1] == ["b"] or "b" in json.dumps(doc["steps"])
    with Store(str(db), create=False) as s:
        killed = [r for r in s.runs() if r.status == "incomplete"]
        assert len(killed) == 1
        names = sorted(st.name for st in s.steps_of_run(killed[0].id))
        assert names == ["a", "b"]
