"""Run logs and import plans (``runlog.py``, ``plan.py``) on real ``.snakemake/`` fixtures.

Expected values come from the workflow (``tests/workflows/import/Snakefile``: which jobs exist,
which outputs each has, what a change of ``raw/b.txt`` re-runs) and from the log text itself.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from import_vectors import LONG, Workdir

from iscc_lineage.errors import NotFoundError
from iscc_lineage.snakemake.plan import ImportPlan, Job, plan_import
from iscc_lineage.snakemake.runlog import iter_run_logs, read_run_log

Vector = Callable[[str], Workdir]
JOBS = Counter({"scale": 2, "stats": 2, "summary": 1, "split": 1, "long": 1})  # with records


def named(job: Job) -> tuple[str, str | None]:
    """A job by rule and sample, from its outputs (``results/a.sum`` -> ("stats", "a"))."""
    m = re.search(r"/([ab])\.", job.records[0].output)
    return job.rule, m.group(1) if m else None


def log_started(path: Path) -> float:
    """Snakemake names the log by the local start time; the fixtures were recorded in UTC."""
    stamp = path.name.removesuffix(".snakemake.log")
    return datetime.strptime(stamp, "%Y-%m-%dT%H%M%S.%f").replace(tzinfo=UTC).timestamp()


def test_run_log_of_a_successful_run(vector: Vector) -> None:
    wd = vector("plain")
    (path,) = wd.logs()
    r = read_run_log(path)
    assert r is not None
    assert r.status == "finished" and r.failed == frozenset() and not r.failed_outputs
    assert r.workflow_id == wd.workflow_ids()[0]
    assert r.started == pytest.approx(log_started(path), abs=1e-6)
    assert r.ended == path.stat().st_mtime
    assert r.header["Snakefile"] == str(wd / "Snakefile")
    assert Counter(j.rule for j in r.jobs) == JOBS + Counter({"all": 1})
    assert r.finished == {j.jobid for j in r.jobs}
    assert all(j.local for j in r.jobs)  # -c1 without a cluster: localrule
    stats = {j.wildcards["s"]: j for j in r.jobs if j.rule == "stats"}
    assert stats["a"].outputs == ("results/a.sum", "results/a.lines")
    assert stats["a"].inputs == ("work/a.scaled",)
    assert stats["b"].benchmark == "bench/stats_b.tsv"
    (scale_b,) = [j for j in r.jobs if j.rule == "scale" and j.wildcards == {"s": "b"}]
    assert scale_b.log == ("logs/scale_b.log",)
    assert scale_b.reason == "Missing output files: work/b.scaled"
    assert scale_b.resources.get("tmpdir")
    (long,) = [j for j in r.jobs if j.rule == "long"]
    assert long.outputs == (LONG,)
    ev = r.workflow_started()
    assert (ev.snakefile, ev.rundir, ev.configfiles) == (str(wd / "Snakefile"), str(wd.path), ())
    assert ev.snakemake_version == wd.manifest["snakemake"]


def test_run_log_of_a_failed_run(vector: Vector) -> None:
    wd = vector("failed")
    first, second = (read_run_log(p) for p in wd.logs())
    assert first is not None and second is not None
    assert first.status == "finished" and second.status == "failed"
    (summary,) = [j for j in second.jobs if j.rule == "summary"]
    assert summary.jobid is not None
    assert second.failed == {summary.jobid}
    assert summary.jobid not in second.finished
    assert second.failed_outputs == {"results/summary.txt"}
    assert [lg.workflow_id for lg in iter_run_logs(wd.path)] == wd.workflow_ids()


def test_plan_groups_records_into_jobs_of_the_run(vector: Vector) -> None:
    wd = vector("plain")
    plan = plan_import(wd.path)
    (log,) = plan.logs
    assert Counter(j.rule for j in plan.jobs) == JOBS  # "all" has no output, so no record
    assert len({j.key for j in plan.jobs}) == len(plan.jobs)
    assert plan.snakefile == wd / "Snakefile"
    for job in plan.jobs:
        assert job.run is log and job.logged is not None and not job.failed
        assert job.logged.rule == job.rule
        assert {r.output for r in job.records} == set(job.logged.outputs)
        assert job.started <= job.ended or job.rule == "summary"  # run: (see test below)
    stats = [j for j in plan.jobs if j.rule == "stats"]
    assert sorted(sorted(r.output for r in j.records) for j in stats) == [
        ["results/a.lines", "results/a.sum"],
        ["results/b.lines", "results/b.sum"],
    ]
    # Ordered by start: scale before the stats job it feeds, summary before split and long.
    order = [named(j) for j in plan.jobs]
    assert order.index(("scale", "a")) < order.index(("stats", "a"))
    assert (
        order.index(("summary", None)) < order.index(("split", None)) < order.index(("long", None))
    )


def test_plan_assigns_each_job_to_the_run_that_made_it(vector: Vector) -> None:
    wd = vector("two-runs")
    plan = plan_import(wd.path)
    first, second = plan.logs
    assert [first.workflow_id, second.workflow_id] == wd.workflow_ids()
    runs = {named(j): j.run for j in plan.jobs}
    # The second run re-ran what depends on raw/b.txt; the sample-a records are the first run's.
    assert {k for k, run in runs.items() if run is second} == {
        ("scale", "b"),
        ("stats", "b"),
        ("summary", None),
        ("split", None),
        ("long", None),
    }
    assert {k for k, run in runs.items() if run is first} == {("scale", "a"), ("stats", "a")}
    for j in plan.jobs:
        assert j.logged is not None and j.logged in j.run.jobs  # type: ignore[union-attr]


def test_plan_marks_the_job_the_run_log_says_failed(vector: Vector) -> None:
    wd = vector("failed")
    record = wd.raw_record("results/summary.txt")
    assert record["incomplete"] is False  # the record reads like a success (snakemake#3808)
    plan = plan_import(wd.path)
    first, second = plan.logs
    failed = [j for j in plan.jobs if j.failed]
    assert [named(j) for j in failed] == [("summary", None)]
    assert failed[0].run is second
    assert {j.run for j in plan.jobs if not j.failed} == {first}


def test_plan_without_run_logs_has_no_runs(vector: Vector) -> None:
    wd = vector("plain")
    for p in wd.logs():
        p.unlink()
    plan = plan_import(wd.path)
    assert plan.logs == [] and Counter(j.rule for j in plan.jobs) == JOBS
    assert all(j.run is None and j.logged is None and not j.failed for j in plan.jobs)
    assert plan.snakefile == wd / "Snakefile"  # found in the working directory instead


def test_plan_reads_the_db_backend_the_same_way(vector: Vector) -> None:
    plan = plan_import(vector("db").path)
    assert Counter(j.rule for j in plan.jobs) == JOBS
    assert sorted(len(j.records) for j in plan.jobs) == [1, 1, 1, 1, 1, 2, 2]


def test_plan_without_metadata_says_so(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no Snakemake metadata here"):
        plan_import(tmp_path)


def assignment(plan: ImportPlan) -> list[tuple[str, str | None, str | None]]:
    return [(*named(j), j.run.workflow_id if j.run else None) for j in plan.jobs]


@pytest.mark.parametrize("reader_tz", ["Asia/Tokyo", "America/New_York", "Asia/Kolkata"])
def test_run_assignment_does_not_depend_on_the_readers_time_zone(
    vector: Vector, reader_tz: str
) -> None:
    # Snakemake names the log by the writer's local time (UTC here). Read in another zone, the
    # name alone puts the run hours off: west of the writer no job fell in any run; east of
    # it, the quiet first run's jobs fell in the second run's span (a wrong run).
    cases = {case: vector(case) for case in ("failed-quiet", "two-runs")}
    expected = {case: assignment(plan_import(wd.path)) for case, wd in cases.items()}
    quiet_runs = Counter(run for *_, run in expected["failed-quiet"])
    assert sorted(quiet_runs.values()) == [1, 6]  # summary failed in the second run
    starts = {case: [log_started(p) for p in wd.logs()] for case, wd in cases.items()}
    os.environ["TZ"] = reader_tz  # the vector fixture puts it back
    time.tzset()
    for case, wd in cases.items():
        plan = plan_import(wd.path)
        assert assignment(plan) == expected[case]
        assert [lg.started for lg in plan.logs] == pytest.approx(starts[case], abs=0.1)
