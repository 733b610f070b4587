"""Recording an import (``importer.py``) from real ``.snakemake/`` fixtures into a real store.

Quick: no snakemake runs (the e2e tests in ``test_import.py`` run it). Expected values come
from the workflow (which jobs, which scripts, which params), the run logs' headers (run ids)
and iscc-sum (fingerprints).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import iscc_sum
import pytest
from import_vectors import LONG, Workdir

from iscc_lineage.model import Step
from iscc_lineage.recorder import Recorder
from iscc_lineage.snakemake.importer import import_workdir
from iscc_lineage.store import open_store

Vector = Callable[[str], Workdir]
RULES = Counter({"scale": 2, "stats": 2, "summary": 1, "split": 1, "long": 1})


def datahash(path: Path) -> str:
    return str(iscc_sum.code_iscc_sum(str(path)).datahash)


def steps(store_path: Path, run_id: str) -> dict[tuple[str, str | None], Step]:
    with open_store(store_path) as store:
        return {
            (s.name, s.info.get("wildcards", {}).get("s")): s for s in store.steps_of_run(run_id)
        }


def test_import_records_every_job_once(vector: Vector, tmp_path: Path) -> None:
    wd = vector("plain")
    db = tmp_path / "l.db"
    (run_id,) = wd.workflow_ids()
    with open_store(db) as store:
        first = import_workdir(wd.path, Recorder(store))
        again = import_workdir(wd.path, Recorder(store))
        runs = store.runs()
        n_steps = len(store.steps_of_run(run_id))
    assert first.runs == {run_id: 7}
    assert (first.known, first.live, first.failed, first.gone, first.untrusted) == (0, 0, 0, 2, 0)
    assert (again.runs, again.known) == ({}, 7)  # idempotent: a second import adds nothing
    assert [r.id for r in runs] == [run_id] and n_steps == 7
    (run,) = runs
    assert run.status == "finished" and run.info["imported"] is True
    assert run.info["run_log"] == wd.logs()[0].as_posix()
    assert run.workflow == str(wd / "Snakefile")


def test_imported_steps_carry_code_params_and_environment(vector: Vector, tmp_path: Path) -> None:
    wd = vector("plain")
    with open_store(tmp_path / "l.db") as store:
        import_workdir(wd.path, Recorder(store))
    by = steps(tmp_path / "l.db", wd.workflow_ids()[0])
    assert Counter(name for name, _ in by) == RULES
    scale = by[("scale", "a")]
    assert scale.info["kind"] == "script" and scale.command is None
    assert scale.code == str(wd / "scripts/scale.py")
    assert scale.code_datahash == datahash(wd / "scripts/scale.py")
    assert scale.params == {"0": "3"}
    assert scale.info["log"] == [str(wd / "logs/scale_a.log")]
    assert scale.info["threads"] == 1 and scale.info["wildcards"] == {"s": "a"}
    assert [e.path for e in scale.inputs] == [str(wd / "raw/a.txt")]
    assert scale.inputs[0].datahash == datahash(wd / "raw/a.txt")
    stats = by[("stats", "b")]
    assert stats.info["kind"] == "shell" and stats.command is not None
    assert stats.command.startswith("awk '{s+=$1} END {print s}' work/b.scaled > results/b.sum")
    assert stats.environment == {"container_img_url": "docker://busybox:1.36"}
    assert stats.info["benchmark"] == str(wd / "bench/stats_b.tsv")
    assert {e.path for e in stats.outputs} == {
        str(wd / p) for p in ("results/b.sum", "results/b.lines", "bench/stats_b.tsv")
    }
    summary = by[("summary", None)]
    assert summary.info["kind"] == "run" and summary.code is None
    assert summary.params == {"0": "0"} and summary.status == "finished"
    assert summary.started is not None and summary.ended is not None


def test_two_runs_become_two_runs_and_reimport_adds_nothing(vector: Vector, tmp_path: Path) -> None:
    wd = vector("two-runs")
    first, second = wd.workflow_ids()
    with open_store(tmp_path / "l.db") as store:
        res = import_workdir(wd.path, Recorder(store))
        again = import_workdir(wd.path, Recorder(store))
        runs = {r.id: r for r in store.runs()}
    assert res.runs == {first: 2, second: 5}  # sample a's records are the first run's
    assert (again.steps, again.known) == (0, 7)
    assert set(runs) == {first, second}
    assert all(r.status == "finished" for r in runs.values())
    by = steps(tmp_path / "l.db", second)
    # A run: job's record keeps the previous run's starttime: its start is unknown, not wrong.
    assert by[("summary", None)].started is None and by[("summary", None)].ended is not None
    assert by[("scale", "b")].started is not None


def test_failed_job_is_a_failed_step_with_partial_outputs(vector: Vector, tmp_path: Path) -> None:
    wd = vector("failed")
    first, second = wd.workflow_ids()
    with open_store(tmp_path / "l.db") as store:
        res = import_workdir(wd.path, Recorder(store))
        status = {r.id: r.status for r in store.runs()}
    assert res.runs == {first: 6, second: 1} and res.failed == 1
    assert status == {first: "finished", second: "failed"}
    (summary,) = steps(tmp_path / "l.db", second).values()
    assert (summary.name, summary.status) == ("summary", "failed")
    assert summary.outputs == ()  # kept as partial, never traced
    assert summary.info["partial_outputs"] == [str(wd / "results/summary.txt")]


def test_db_backend_imports_like_the_file_backend(vector: Vector, tmp_path: Path) -> None:
    wd = vector("db")
    with open_store(tmp_path / "l.db") as store:
        res = import_workdir(wd.path, Recorder(store))
        again = import_workdir(wd.path, Recorder(store))
    assert res.runs == {wd.workflow_ids()[0]: 7} and again.steps == 0
    assert Counter(name for name, _ in steps(tmp_path / "l.db", wd.workflow_ids()[0])) == RULES


def test_script_changed_since_the_job_is_named_not_fingerprinted(
    vector: Vector, tmp_path: Path
) -> None:
    wd = vector("plain")
    wd.set_mtime("scripts/scale.py", wd.raw_record("work/a.scaled")["endtime"] + 60)
    with open_store(tmp_path / "l.db") as store:
        import_workdir(wd.path, Recorder(store))
    scale = steps(tmp_path / "l.db", wd.workflow_ids()[0])[("scale", "a")]
    assert scale.code is None and scale.code_datahash is None
    assert scale.info["code_source"] == f"{wd / 'scripts/scale.py'} (changed since the job)"


def test_without_run_logs_one_catch_all_run(vector: Vector, tmp_path: Path) -> None:
    wd = vector("plain")
    for p in wd.logs():
        p.unlink()
    with open_store(tmp_path / "l.db") as store:
        res = import_workdir(wd.path, Recorder(store))
        again = import_workdir(wd.path, Recorder(store))
        (run,) = store.runs()
    assert res.runs == {run.id: 7} and (again.steps, again.known) == (0, 7)
    assert run.info["run_log"] is None and run.workflow == str(wd / "Snakefile")


@pytest.mark.parametrize("left", [False, True])
def test_quiet_failed_run_does_not_call_its_failed_job_finished(
    vector: Vector, tmp_path: Path, left: bool
) -> None:
    # With --quiet the failed run's log says that the run failed but names no job. The
    # failed job's record still reads like a success; what tells it apart is that nothing it
    # made is left (Snakemake removed the output) and no later job read it.
    wd = vector("failed-quiet")
    first, second = wd.workflow_ids()
    assert "Exiting because a job execution failed" in wd.logs()[1].read_text()
    assert "Error in rule" not in wd.logs()[1].read_text()
    assert not (wd / "results/summary.txt").exists()
    (wd / LONG).unlink()  # removed after the first (quiet, successful) run: still finished
    if left:  # an output with the record's endtime: the job made it, so it finished
        (wd / "results/summary.txt").write_text("27\n")
        wd.set_mtime("results/summary.txt", wd.raw_record("results/summary.txt")["endtime"])
    with open_store(tmp_path / "l.db") as store:
        res = import_workdir(wd.path, Recorder(store))
        status = {r.id: r.status for r in store.runs()}
    assert res.runs == {first: 6, second: 1}
    assert status == {first: "finished", second: "failed"}
    assert all(s.status == "finished" for s in steps(tmp_path / "l.db", first).values())
    (summary,) = steps(tmp_path / "l.db", second).values()
    if left:
        assert (summary.status, res.failed) == ("finished", 0)
        assert "settled" not in summary.info
    else:
        assert (summary.status, res.failed, summary.outputs) == ("failed", 1, ())
        assert "names no job" in summary.info["settled"]
