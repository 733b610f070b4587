"""``iscc-lineage store copy``: SQLite -> PostgreSQL -> SQLite keeps every record, twice adds
nothing, an interrupted copy resumes, and a run that grew gains its new steps.

What "the same" means is read through the public store API on both sides (runs, steps with
their edges, contents with members and codes, trace results), never from the copy's report.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]
from services import PostgresServer

from iscc_lineage import Artifact, Recorder, open_store, trace
from iscc_lineage.errors import StoreError
from iscc_lineage.store.sqlite import Store

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "store-copy.schema.json"


def _copy(src: str, dst: str, *extra: str) -> tuple[int, str, str]:
    p = subprocess.run(
        [sys.executable, "-m", "iscc_lineage", "store", "copy", src, dst, *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return p.returncode, p.stdout, p.stderr


def _chain_ok(store: str) -> None:
    """``verify --store``: the store's hash chain covers every run and step, unedited."""
    p = subprocess.run(
        [sys.executable, "-m", "iscc_lineage", "--store", store, "verify", "--store"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stdout + p.stderr


def _project(root: Path, n_runs: int = 2) -> str:
    """A project store: chains of steps, a directory output, a pipe edge, codes."""
    store = root / "project.db"
    (root / "raw.txt").write_text("raw\n")
    (root / "tiles").mkdir()
    (root / "tiles" / "t1").write_text("tile one\n")
    (root / "tiles" / "t2").write_text("tile two\n")
    with open_store(store) as st:
        rec = Recorder(st)
        for r in range(n_runs):
            run = rec.begin_run(run_id=f"run{r}", workdir=root, info={"engine": "test", "r": r})
            (root / f"a{r}.txt").write_text(f"a {r}\n")
            (root / f"fig{r}.txt").write_text(f"figure {r}\n")
            rec.record_step(
                run,
                "a",
                inputs=[root / "raw.txt"],
                outputs=[root / f"a{r}.txt"],
                params={"r": r},
                command=f"make a{r}",
            )
            rec.record_step(run, "tile", inputs=[root / f"a{r}.txt"], outputs=[root / "tiles"])
            rec.record_step(
                run,
                "figure",
                inputs=[root / "tiles" / "t1", Artifact(str(root / "fifo"), None, "pipe")],
                outputs=[root / f"fig{r}.txt"],
            )
            rec.finish_run(run)
        fig = st.observations(paths=[str(root / "fig0.txt")])[0][1]
        assert fig is not None
        st.add_codes([(fig, "image", "ISCC:EEA4GQZQTY6J5DTH")])
    return str(store)


def _picture(location: str) -> dict[str, Any]:
    """Everything a user can read from a store, independent of row ids."""
    with open_store(location, create=False) as st:
        runs = sorted(st.runs(), key=lambda r: r.id)
        steps = {
            r.id: [
                (
                    s.id,
                    s.name,
                    s.command,
                    s.params,
                    s.status,
                    s.info,
                    [(e.role, e.path, e.datahash, e.note) for e in (*s.inputs, *s.outputs)],
                )
                for s in st.steps_of_run(r.id)
            ]
            for r in runs
        }
        obs = st.observations()
        hashes = sorted({h for _, h in obs if h})
        contents = {
            h: (c.iscc, c.size, c.kind, c.paths, st.members(h), sorted(st.has_code([h], "image")))
            for h, c in st.contents(hashes).items()
        }
        fig = dict(obs).get(next(p for p, _ in obs if p.endswith("fig0.txt")))
        traced = [s.name for s in trace(st, fig or "").steps]
        return {
            "runs": [(r.id, r.status, r.workdir, r.command, r.info, r.steps) for r in runs],
            "steps": steps,
            "observations": obs,
            "contents": contents,
            "trace": traced,
            "stats": st.stats(),
        }


def test_sqlite_to_postgres_to_sqlite_round_trip(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    src = _project(tmp_path)
    pg = postgres_server.url(postgres_server.new_database("lab"))
    code, out, err = _copy(src, pg, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert not list(Draft202012Validator(json.loads(SCHEMA.read_text())).iter_errors(report))
    assert report["runs"] == 2 and report["steps"] == 6 and report["runs_present"] == 0
    assert postgres_server.password not in out + err
    want = _picture(src)
    assert _picture(pg) == want
    _chain_ok(src)
    _chain_ok(pg)
    assert sorted(want["trace"]) == ["a", "a", "figure", "tile", "tile"]  # tiles: same content
    # again: nothing new
    code, out, err = _copy(src, pg, "--json")
    again = json.loads(out)
    assert code == 0 and again["runs"] == again["steps"] == again["contents"] == 0
    assert again["observations"] == again["codes"] == 0 and again["runs_present"] == 2
    assert _picture(pg) == want
    # and back into a new SQLite file
    back = str(tmp_path / "back.db")
    code, out, err = _copy(pg, back)
    assert code == 0 and out.startswith("Copied 2 runs (6 steps"), out + err
    assert _picture(back) == want
    _chain_ok(back)


def test_a_grown_run_and_new_runs_are_added(tmp_path: Path, store_location: str) -> None:
    src = _project(tmp_path, n_runs=1)
    with open_store(src) as st:  # run1 is still running at the first copy
        rec = Recorder(st)
        run = rec.begin_run(run_id="live", workdir=tmp_path)
        rec.record_step(run, "first", inputs=[tmp_path / "raw.txt"], outputs=[tmp_path / "a0.txt"])
    assert _copy(src, store_location)[0] == 0
    with open_store(src) as st:
        rec = Recorder(st)
        (tmp_path / "late.txt").write_text("late\n")
        rec.record_step(
            "live", "second", inputs=[tmp_path / "a0.txt"], outputs=[tmp_path / "late.txt"]
        )
        rec.finish_run("live")
        rec.begin_run(run_id="next", workdir=tmp_path)
    code, out, err = _copy(src, store_location, "--json")
    report = json.loads(out)
    assert code == 0 and report["runs"] == 1 and report["runs_updated"] == 1, err
    assert report["steps"] == 1
    assert _picture(store_location) == _picture(src)
    _chain_ok(store_location)


def test_an_interrupted_copy_resumes(tmp_path: Path, postgres_server: PostgresServer) -> None:
    src = _project(tmp_path, n_runs=150)
    pg = postgres_server.url(postgres_server.new_database("resume"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "iscc_lineage", "store", "copy", src, pg],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60  # kill it once some runs are in (not a fixed sleep:
    while time.monotonic() < deadline and proc.poll() is None:  # a loaded machine is slow)
        try:
            with open_store(pg, create=False) as st:
                if st.runs():
                    break
        except StoreError:
            pass  # not created yet
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with open_store(pg, create=False) as st:  # whatever got in is whole runs
        for r in st.runs():
            assert r.steps == 3, r
    assert _copy(src, pg)[0] == 0
    assert _picture(pg) == _picture(src)


def test_same_store_and_missing_source_are_refused(tmp_path: Path) -> None:
    src = _project(tmp_path, n_runs=1)
    code, _, err = _copy(src, src)
    assert code == 2 and "same store" in err
    code, _, err = _copy(str(tmp_path / "nothing.db"), str(tmp_path / "t.db"))
    assert code == 2 and err.count("\n") == 1 and "no lineage store here" in err
    assert not (tmp_path / "t.db").exists()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ISCC_LINEAGE_STORE", raising=False)


_ = Store  # the SQLite backend is what a project store is
