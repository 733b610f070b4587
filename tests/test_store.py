"""The store under faults: damaged, foreign or newer files, kill -9, two writers, query plans.

Every fault must give one line naming the store and the problem, exit status 2, no traceback,
and write nothing: the bytes of every file stay as they were, no -wal/-shm and no new store.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers_store import EDGES_PER_STEP, FIXTURE_FILES, snapshot, step_edge_counts

from iscc_lineage import Recorder, Store, open_store
from iscc_lineage.cli import cli
from iscc_lineage.errors import AmbiguousError, EmptyContentError, NotFoundError, StoreError
from iscc_lineage.lineage import trace, walk
from iscc_lineage.store.schema import SCHEMA_VERSION

HELPER = Path(__file__).with_name("helpers_store.py")
PAGE = 4096  # SQLite's default page size


def _record_chain(store: Path, work: Path) -> None:
    """raw -> a -> b with the public Recorder, then close (no -wal left behind)."""
    (work / "in.txt").write_text("raw acquisition\n")
    (work / "a.txt").write_text("a from raw\n")
    (work / "b.txt").write_text("b from a\n")
    with open_store(store) as st:
        rec = Recorder(st)
        run = rec.begin_run(workdir=work)
        rec.record_step(run, "a", inputs=[work / "in.txt"], outputs=[work / "a.txt"])
        rec.record_step(run, "b", inputs=[work / "a.txt"], outputs=[work / "b.txt"])
        rec.finish_run(run)


def _overwrite(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def _text(p: Path) -> None:
    p.write_text("these are not the droids\n")


def _truncated(p: Path) -> None:
    size = p.stat().st_size
    with open(p, "r+b") as f:
        f.truncate(size // 2)


def _garbage_pages(p: Path) -> None:
    """A valid header page, then random bytes for every other page."""
    _overwrite(p, PAGE, random.Random(7).randbytes(p.stat().st_size - PAGE))


def _middle_page(p: Path) -> None:
    pages = p.stat().st_size // PAGE
    _overwrite(p, (pages // 2) * PAGE, b"\xa5" * PAGE)


def _foreign(p: Path, wal: bool = False) -> None:
    p.unlink()
    db = sqlite3.connect(p)
    if wal:
        db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    db.execute("INSERT INTO notes (text) VALUES ('mine, not yours')")
    db.commit()
    db.close()


def _newer(p: Path) -> None:
    db = sqlite3.connect(p)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()


def _directory(p: Path) -> None:
    p.unlink()
    p.mkdir()


FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "text file": (_text, "not a readable iscc-lineage store (file is not a database)"),
    "truncated": (_truncated, "malformed"),
    "garbage pages": (_garbage_pages, "malformed"),
    "overwritten middle page": (_middle_page, "malformed"),
    "foreign sqlite": (_foreign, "a SQLite file, but not an iscc-lineage store"),
    "foreign sqlite in WAL mode": (
        lambda p: _foreign(p, wal=True),
        "a SQLite file, but not an iscc-lineage store",
    ),
    "newer schema": (_newer, f"store schema v{SCHEMA_VERSION + 1} is newer"),
    "directory": (_directory, "is a directory, not a lineage store"),
}

COMMANDS = {
    "runs": ["runs"],
    "show": ["show", "abc"],
    "trace": ["trace", "in.txt"],
    "impact": ["impact", "in.txt"],
    "verify": ["verify"],
    # the command must never run: the store is checked first
    "record": ["record", "-i", "in.txt", "-o", "ran.txt", "--", "sh", "-c", "echo x > ran.txt"],
}


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ISCC_LINEAGE_STORE", raising=False)
    return tmp_path


def _assert_one_line_error(res: object, *needles: str) -> None:
    from click.testing import Result

    assert isinstance(res, Result)
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit), res.exception  # not a crash
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("command", COMMANDS)
def test_store_fault_is_one_line_exit_2_and_writes_nothing(
    work: Path, fault: str, command: str
) -> None:
    store = work / "lineage.db"
    _record_chain(store, work)
    make, problem = FAULTS[fault]
    make(store)
    before = snapshot(work)
    res = CliRunner().invoke(cli, ["--store", str(store), *COMMANDS[command]])
    _assert_one_line_error(res, str(store), problem)
    assert snapshot(work) == before
    assert not (work / "ran.txt").exists()


@pytest.mark.parametrize("fault", ["garbage pages", "newer schema"])
def test_store_fault_in_a_real_process_has_no_traceback(work: Path, fault: str) -> None:
    store = work / "lineage.db"
    _record_chain(store, work)
    FAULTS[fault][0](store)
    before = snapshot(work)
    proc = subprocess.run(
        [sys.executable, "-m", "iscc_lineage", "--store", str(store), *COMMANDS["record"]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"Error: {store}: ")
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert snapshot(work) == before


@pytest.mark.parametrize("under", ["somefile/x.db", "somefile/deeper/x.db"])
def test_record_into_unwritable_location_creates_nothing(work: Path, under: str) -> None:
    (work / "somefile").write_text("a regular file, not a folder\n")
    (work / "in.txt").write_text("raw\n")
    before = snapshot(work)
    res = CliRunner().invoke(cli, ["--store", under, *COMMANDS["record"]])
    _assert_one_line_error(res, under, "cannot create store", "somefile is not a directory")
    assert snapshot(work) == before


@pytest.mark.parametrize(
    "args",
    [
        ["runs"],
        ["show", "abc"],
        ["trace", "in.txt"],
        ["impact", "in.txt"],
        ["verify"],
        ["verify", "in.txt"],
    ],
)
def test_read_commands_never_create_a_store(work: Path, args: list[str]) -> None:
    (work / "in.txt").write_text("raw\n")
    before = snapshot(work)
    res = CliRunner().invoke(cli, args)  # the default store: .iscc-lineage/lineage.db
    _assert_one_line_error(res, "no lineage store here")
    res = CliRunner().invoke(cli, ["--store", "elsewhere/s.db", *args])
    _assert_one_line_error(res, "elsewhere/s.db")
    assert snapshot(work) == before
    assert sorted(os.listdir(work)) == ["in.txt"]


def test_fingerprint_without_a_store_creates_none(work: Path) -> None:
    (work / "in.txt").write_text("raw\n")
    res = CliRunner().invoke(cli, ["fingerprint", "in.txt"])
    assert res.exit_code == 0
    assert sorted(os.listdir(work)) == ["in.txt"]


def test_empty_store_file_is_not_initialised_by_a_read(work: Path) -> None:
    (work / "lineage.db").touch()
    res = CliRunner().invoke(cli, ["--store", "lineage.db", "runs"])
    _assert_one_line_error(res, "lineage.db", "empty file")
    assert (work / "lineage.db").stat().st_size == 0
    assert sorted(os.listdir(work)) == ["lineage.db"]


def test_read_command_leaves_no_wal_or_shm(work: Path) -> None:
    store = work / "lineage.db"
    _record_chain(store, work)
    before = snapshot(work)
    for args in (["runs"], ["trace", "b.txt"], ["verify"]):
        res = CliRunner().invoke(cli, ["--store", str(store), *args])
        assert res.exit_code == 0, res.output
    assert not list(work.glob("lineage.db-*"))
    assert {k for k in snapshot(work)} == set(before)


def test_open_refuses_a_store_newer_than_us(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    _record_chain(store, tmp_path)
    _newer(store)
    with pytest.raises(StoreError, match="newer than this iscc-lineage"):
        Store(str(store))


# -- kill safety and concurrency -----------------------------------------------------------


def _writer(store: Path, workdir: Path, run_id: str, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HELPER), str(store), str(workdir), run_id, str(n)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_9_leaves_no_half_written_step(tmp_path: Path) -> None:
    store = tmp_path / "lineage.db"
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    committed: dict[str, list[str]] = {}
    for k in range(3):
        run_id = f"kill{k}"
        proc = _writer(store, tmp_path / run_id, run_id, 10**6)
        assert proc.stdout is not None
        first = proc.stdout.readline()  # it is writing now
        assert first.strip() == f"{run_id}-000000", proc.stderr and proc.stderr.read()
        time.sleep(rng.uniform(0.0, 0.25))  # a different moment each time
        os.kill(proc.pid, signal.SIGKILL)
        printed = [first.strip(), *proc.stdout.read().split()]
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, f"writer ended by itself (seed {seed})"
        committed[run_id] = printed

        db = sqlite3.connect(store)
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        status = db.execute("SELECT status FROM run WHERE uid = ?", (run_id,)).fetchone()
        db.close()
        assert status == ("running",)
        edges = step_edge_counts(store)
        # every step the writer saw committed is there, whole; no step anywhere is partial
        for ids in committed.values():
            assert all(edges.get(i) == EDGES_PER_STEP for i in ids), f"seed {seed}"
        assert set(edges.values()) == {EDGES_PER_STEP}, f"seed {seed}"
        # at most the one step committed between COMMIT and print is unseen
        assert len(edges) - sum(map(len, committed.values())) <= k + 1

    # the store is usable after the kills: runs shows the killed runs as running ...
    res = CliRunner().invoke(cli, ["--store", str(store), "runs", "--json"])
    assert res.exit_code == 0, res.output
    assert {r["id"]: r["status"] for r in json.loads(res.stdout)} == {
        "kill0": "running",
        "kill1": "running",
        "kill2": "running",
    }
    # ... until the next run in that workdir settles them
    with open_store(store) as st:
        host = st.run("kill1").host
        assert st.mark_stale_runs(
            workdir=(tmp_path / "kill1").as_posix(), host=host, reason="killed"
        ) == ["kill1"]
        settled = st.run("kill1")
        assert settled.status == "incomplete" and settled.info["settled"] == "killed"
        last = st.step(committed["kill1"][-1]).ended
        assert settled.ended is not None and last is not None and settled.ended >= last
        assert st.run("kill0").status == "running"  # another workdir: not ours to settle


def test_mark_stale_runs_spares_the_new_run_other_hosts_and_engines(
    tmp_path: Path, store_location: str
) -> None:
    with open_store(store_location) as st:
        rec = Recorder(st)
        wd = tmp_path.as_posix()
        old = rec.begin_run(workdir=tmp_path, host="h1", info={"engine": "snakemake"})
        manual = rec.begin_run(workdir=tmp_path, host="h1")  # a live `record` maybe
        other = rec.begin_run(workdir=tmp_path, host="h2", info={"engine": "snakemake"})
        new = rec.begin_run(workdir=tmp_path, host="h1", info={"engine": "snakemake"})
        assert st.mark_stale_runs(workdir=wd, host="h1", keep=new, engine="snakemake") == [old]
        assert [st.run(r).status for r in (old, manual, other, new)] == [
            "incomplete",
            "running",
            "running",
            "running",
        ]
        assert st.run(old).ended == st.run(old).started  # no step was recorded


def test_two_writers_at_once_lose_nothing(tmp_path: Path) -> None:
    store = tmp_path / "fresh" / "lineage.db"  # both race to create it, too
    n = 150
    procs = [_writer(store, tmp_path / r, r, n) for r in ("left", "right")]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outs]
    assert [len(o.split()) for o, _ in outs] == [n, n]
    db = sqlite3.connect(store)
    counts = {
        t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("run", "step", "observation", "content")
    }
    statuses = db.execute("SELECT status FROM run").fetchall()
    db.close()
    assert counts == {
        "run": 2,
        "step": 2 * n,
        "observation": 2 * n * EDGES_PER_STEP,
        "content": FIXTURE_FILES,
    }
    assert statuses == [("finished",), ("finished",)]


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path, store_location: str) -> None:
    (tmp_path / "in.txt").write_text("in\n")
    (tmp_path / "code.py").write_text("print('never stored')\n")
    with open_store(store_location) as st:
        rec = Recorder(st)
        run = rec.begin_run(workdir=tmp_path)
        rec.record_step(run, "one", inputs=[tmp_path / "in.txt"], step_id="dup")
        before = st.stats()
        with pytest.raises(StoreError, match=r"cannot write to the store .*(UNIQUE|unique)"):
            rec.record_step(
                run, "two", inputs=[tmp_path / "in.txt"], code=tmp_path / "code.py", step_id="dup"
            )
        assert st.stats() == before  # not even the code's content row


# -- ids and prefixes ------------------------------------------------------------------------


def test_prefixes_are_exact_and_ambiguity_is_reported(tmp_path: Path, store_location: str) -> None:
    with open_store(store_location) as st:
        rec = Recorder(st)
        for rid in ("abc1", "abc2", "Xy_z"):
            rec.begin_run(workdir=tmp_path, run_id=rid)
        with pytest.raises(AmbiguousError):
            st.run("abc")
        assert st.run("abc2").id == "abc2"
        assert st.run("Xy_").id == "Xy_z"
        with pytest.raises(NotFoundError) as info:
            st.run("a_c")  # '_' is a character here, not LIKE's wildcard
        assert not isinstance(info.value, AmbiguousError)
        with pytest.raises(NotFoundError):
            st.run("ABC1")  # ids are case-sensitive


# -- the empty content -----------------------------------------------------------------------


def test_walk_never_passes_through_empty_content(tmp_path: Path, store_location: str) -> None:
    w = tmp_path
    for name, text in {"raw1": "raw one\n", "a": "a\n", "raw2": "raw two\n", "y": "y\n"}.items():
        (w / f"{name}.txt").write_text(text)
    (w / "a.log").touch()
    (w / "marker").touch()
    with open_store(store_location) as st:
        rec = Recorder(st)
        r1 = rec.begin_run(workdir=w)
        a = st.step(
            rec.record_step(
                r1, "make-a", inputs=[w / "raw1.txt"], outputs=[w / "a.txt", w / "a.log"]
            ).id
        )
        r2 = rec.begin_run(workdir=w)  # unrelated: it only shares an empty file
        y = st.step(
            rec.record_step(
                r2, "make-y", inputs=[w / "raw2.txt", w / "marker"], outputs=[w / "y.txt"]
            ).id
        )
        empty = next(e.datahash for e in a.outputs if e.path.endswith("a.log"))
        assert empty is not None
        # recording keeps the empty output, as content and as an edge
        stored = st.content(empty)
        assert stored is not None and stored.size == 0
        assert sorted(stored.paths) == [(w / "a.log").as_posix(), (w / "marker").as_posix()]
        assert [o.path for o in a.outputs] == [(w / "a.txt").as_posix(), (w / "a.log").as_posix()]
        y_hash = y.outputs[0].datahash
        raw1 = a.inputs[0].datahash
        assert y_hash is not None and raw1 is not None
        lin = trace(st, y_hash)
        assert [s.name for s in lin.steps] == ["make-y"]
        assert empty in {c.datahash for c in lin.ends}  # the empty input is an end
        assert [s.name for s in walk(st, raw1, "impact").steps] == ["make-a"]
        assert st.walk(empty, "impact") == [] and st.walk(empty, "trace") == []
        with pytest.raises(EmptyContentError):
            trace(st, empty)


# -- query plans: the big tables are only ever searched through an index --------------------


def test_walk_never_and_contents_by_id_use_indexes(tmp_path: Path) -> None:
    _record_chain(tmp_path / "s.db", tmp_path)
    with open_store(tmp_path / "s.db") as st:
        target = st.observations(paths=[(tmp_path / "b.txt").as_posix()])[0][1]
        assert target is not None
        seen: list[str] = []
        st._db.set_trace_callback(seen.append)  # the SQL as SQLite runs it, values bound
        try:
            assert len(st.walk(target, "trace")) == 2
            st.walk(target, "impact")
            st.walk(target, "trace", depth=1)
            st.never([target], "generated")
            st.never([target], "used")
            st.contents_by_id([1, 2])
            st.contents([target])
            st.steps_by_id([1])
            st.run(st.runs()[0].id[:4])
            with pytest.raises(NotFoundError):
                st.step("zz")
        finally:
            st._db.set_trace_callback(None)
        plans = {
            sql: [r[3] for r in st._db.execute("EXPLAIN QUERY PLAN " + sql)]
            for sql in seen
            if sql.lstrip().upper().startswith(("SELECT", "WITH"))
        }
    assert any("RECURSIVE" in sql for sql in plans)
    big = ("observation", "content", "step", "o", "f", "n", "x", "c", "fc", "s")
    for sql, plan in plans.items():
        if sql.startswith("SELECT run.*") and "ORDER BY started" in sql:
            continue  # `runs` lists every run by design
        for line in plan:
            words = line.split()
            if words[0] == "SCAN" and words[1] in big:
                pytest.fail(f"full scan {line!r} in:\n{sql}\n" + "\n".join(plan))
    joined = "\n".join(line for plan in plans.values() for line in plan)
    assert "observation_content" in joined and "observation_step" in joined


# -- permissions (root ignores them unless it gives up CAP_DAC_OVERRIDE) ---------------------


def _unprivileged(argv: list[str]) -> list[str]:
    """``argv`` run so that file permissions apply, also when the tests run as root."""
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be enforced")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--", *argv]


def test_record_without_write_permission_writes_nothing(tmp_path: Path) -> None:
    base = tmp_path
    (base / "in.txt").write_text("raw\n")
    _record_chain(base / "lineage.db", base)
    (base / "lineage.db").chmod(0o444)
    (base / "fresh").mkdir(mode=0o555)
    (base / "out").mkdir(mode=0o777)
    base.chmod(0o555)
    try:
        before = snapshot(base)
        for store, needle in (
            (base / "fresh" / "s.db", "fresh is not writable"),
            (base / "lineage.db", "cannot open store"),
        ):
            proc = subprocess.run(
                _unprivileged(
                    [
                        sys.executable,
                        "-m",
                        "iscc_lineage",
                        "--store",
                        str(store),
                        "record",
                        "-i",
                        "in.txt",
                        "--",
                        "touch",
                        str(base / "out" / "ran"),
                    ]
                ),
                cwd=base,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert proc.returncode == 2, proc.stderr
            assert proc.stderr.count("\n") == 1 and needle in proc.stderr, proc.stderr
            assert proc.stderr.startswith(f"Error: {store}: ")
            assert snapshot(base) == before and not (base / "out" / "ran").exists()
    finally:
        base.chmod(0o755)


def test_whole_id_wins_over_longer_ids_it_prefixes(tmp_path: Path, store_location: str) -> None:
    from iscc_lineage import Recorder, open_store
    from iscc_lineage.errors import AmbiguousError

    store = open_store(store_location)
    rec = Recorder(store)
    for rid in ("r1", "r10", "r11"):
        rec.begin_run(run_id=rid)
    assert store.run("r1").id == "r1"
    assert store.run("r10").id == "r10"
    with pytest.raises(AmbiguousError):
        store.run("r")
    (tmp_path / "x").write_text("x")
    for sid in ("s1", "s12"):
        rec.record_step("r1", "x", outputs=[tmp_path / "x"], step_id=sid)
    assert store.step("s1").id == "s1"


def test_mark_stale_runs_calls_a_run_dead_only_when_its_pid_is_gone(tmp_path: Path) -> None:
    """A live process's run is never marked killed; a gone or zombie one's is (same host)."""
    import platform

    here = platform.node()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # reaped: no process has this pid any more (until the kernel reuses it)
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # exited but not reaped: a zombie counts as dead
        with open(f"/proc/{zombie.pid}/stat", "rb") as fh:
            if fh.read().rsplit(b")", 1)[-1].split()[0] == b"Z":
                break
        time.sleep(0.05)
    with open_store(tmp_path / "s.db") as st:
        rec = Recorder(st)
        eng = {"engine": "snakemake"}
        live = rec.begin_run(workdir=tmp_path, host=here, info={**eng, "pid": os.getpid()})
        dead = rec.begin_run(workdir=tmp_path, host=here, info={**eng, "pid": gone.pid})
        zomb = rec.begin_run(workdir=tmp_path, host=here, info={**eng, "pid": zombie.pid})
        elsewhere = rec.begin_run(
            workdir=tmp_path, host="another-host", info={**eng, "pid": gone.pid}
        )
        new = rec.begin_run(workdir=tmp_path, host=here, info={**eng, "pid": os.getpid()})
        marked = st.mark_stale_runs(
            workdir=tmp_path.as_posix(), host=here, keep=new, engine="snakemake", reason="killed"
        )
        assert sorted(marked) == sorted([dead, zomb])
        assert st.run(live).status == "running" and "settled" not in st.run(live).info
        # another host's pid cannot be checked from here: never called dead
        assert st.mark_stale_runs(workdir=tmp_path.as_posix(), host="another-host") == []
        assert st.run(elsewhere).status == "running"
    zombie.wait()
