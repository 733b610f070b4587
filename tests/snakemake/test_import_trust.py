"""The importer's evidence rules (``trust.Judge``) on real ``.snakemake/`` fixtures.

A file belongs to a job only with evidence: an output whose mtime is the record's ``endtime``
(or whose content a later job checksummed), an input whose sha256 is the record's, a log
written while the job ran. Each test sets the mtimes it is about from the record's own
``starttime``/``endtime`` (git keeps no mtimes), and takes expected digests from the inputs the
fixtures were built from (hashlib, iscc-sum), never from the importer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import iscc_sum
import pytest
from import_vectors import LONG, RAW, Workdir

from iscc_lineage.model import Artifact
from iscc_lineage.recorder import Recorder
from iscc_lineage.snakemake.plan import Job, plan_import
from iscc_lineage.snakemake.trust import Judge, sha256_of
from iscc_lineage.store import open_store

Vector = Callable[[str], Workdir]
CHANGED_OUTPUT = "changed since the job (mtime differs from Snakemake's record)"
CHANGED_INPUT = "changed since the job (modified after it started)"


def hexdigest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def scaled(sample: str) -> bytes:
    """What the scale rule wrote for a sample (its temp output, deleted after use)."""
    return b"".join(b"%d\n" % (int(v) * 3) for v in RAW[f"raw/{sample}.txt"].split())


def datahash(path: Path) -> str:
    return str(iscc_sum.code_iscc_sum(str(path)).datahash)


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[Recorder]:
    with open_store(tmp_path / "lineage.db") as store:
        yield Recorder(store)


def judge(wd: Workdir, recorder: Recorder) -> tuple[Judge, dict[tuple[str, str | None], Job]]:
    """A Judge over the fixture's plan, every job judged and fingerprinted, jobs by name."""
    plan = plan_import(wd.path)
    j = Judge(plan.workdir, plan.records)
    j.fingerprint_all(plan.jobs, recorder)
    jobs = {}
    for job in plan.jobs:
        sample = job.logged.wildcards.get("s") if job.logged else None
        jobs[(job.rule, sample)] = job
    return j, jobs


def by_path(wd: Workdir, artifacts: list[Artifact]) -> dict[str, Artifact]:
    return {Path(a.path).relative_to(wd.path).as_posix(): a for a in artifacts}


def attributed(wd: Workdir, a: Artifact, rel: str) -> bool:
    assert a.path == str(wd / rel)
    if a.fingerprint is None:
        return False
    assert a.note is None and a.fingerprint.datahash == datahash(wd / rel)
    return True


def at_endtime(wd: Workdir, *outputs: str) -> None:
    for out in outputs:
        wd.set_mtime(out, wd.raw_record(out)["endtime"])


def test_output_with_the_records_endtime_is_attributed(vector: Vector, recorder: Recorder) -> None:
    wd = vector("plain")
    at_endtime(wd, "results/a.sum", "results/a.lines", LONG)
    j, jobs = judge(wd, recorder)
    outs = by_path(wd, j.outputs(jobs[("stats", "a")]))
    assert attributed(wd, outs["results/a.sum"], "results/a.sum")
    assert attributed(wd, outs["results/a.lines"], "results/a.lines")
    assert attributed(wd, by_path(wd, j.outputs(jobs[("long", None)]))[LONG], LONG)
    assert (j.untrusted, j.gone) == (0, 2)  # the two temp files


def test_output_touched_after_the_run_is_attributed_only_by_a_later_checksum(
    vector: Vector, recorder: Recorder
) -> None:
    # results/a.sum is an input of summary, whose record holds its sha256; a.lines is no
    # job's input: only its mtime could speak for it, and the mtime is not the record's.
    wd = vector("plain")
    for out in ("results/a.sum", "results/a.lines"):
        wd.set_mtime(out, wd.raw_record(out)["endtime"] + 60)
    j, jobs = judge(wd, recorder)
    outs = by_path(wd, j.outputs(jobs[("stats", "a")]))
    assert attributed(wd, outs["results/a.sum"], "results/a.sum")
    assert outs["results/a.lines"] == Artifact(str(wd / "results/a.lines"), None, CHANGED_OUTPUT)
    assert j.untrusted == 1


def test_edited_output_becomes_a_contentless_artifact_saying_why(
    vector: Vector, recorder: Recorder
) -> None:
    wd = vector("edited-output")
    assert (wd / "results/a.sum").read_bytes() == b"999\n"  # the edit after the run
    wd.set_mtime("results/a.sum", wd.raw_record("results/a.sum")["endtime"] + 30)
    at_endtime(wd, "results/a.lines", "results/b.sum")
    j, jobs = judge(wd, recorder)
    outs = by_path(wd, j.outputs(jobs[("stats", "a")]))
    assert outs["results/a.sum"] == Artifact(str(wd / "results/a.sum"), None, CHANGED_OUTPUT)
    assert attributed(wd, outs["results/a.lines"], "results/a.lines")
    # The summary job read the content before the edit: the sum of the scaled values.
    before = b"%d\n" % sum(int(v) for v in scaled("a").split())
    ins = by_path(wd, j.inputs(jobs[("summary", None)]))
    assert ins["results/a.sum"].fingerprint is None
    assert ins["results/a.sum"].note == f"changed since the job — sha256 then: {hexdigest(before)}"
    assert attributed(wd, ins["results/b.sum"], "results/b.sum")
    assert j.untrusted == 2


def test_input_whose_sha256_differs_is_not_attributed_whatever_its_mtime(
    vector: Vector, recorder: Recorder
) -> None:
    wd = vector("changed-input")
    assert (wd / "raw/a.txt").read_bytes() != RAW["raw/a.txt"]
    started = wd.raw_record("work/a.scaled")["starttime"]
    wd.set_mtime("raw/a.txt", started - 10)  # an mtime from before the job: content decides
    j, jobs = judge(wd, recorder)
    (a,) = j.inputs(jobs[("scale", "a")])
    assert a == Artifact(
        str(wd / "raw/a.txt"),
        None,
        f"changed since the job — sha256 then: {hexdigest(RAW['raw/a.txt'])}",
    )
    (b,) = j.inputs(jobs[("scale", "b")])
    assert attributed(wd, b, "raw/b.txt")
    assert j.untrusted == 1


def test_unchanged_input_is_attributed_by_content_whatever_its_mtime(
    vector: Vector, recorder: Recorder
) -> None:
    wd = vector("plain")
    wd.set_mtime("raw/a.txt", wd.raw_record("work/a.scaled")["endtime"] + 1000)
    j, jobs = judge(wd, recorder)
    (a,) = j.inputs(jobs[("scale", "a")])
    assert attributed(wd, a, "raw/a.txt")
    assert sha256_of(wd / "raw/a.txt") == "sha256:" + hexdigest(RAW["raw/a.txt"])
    assert sha256_of(wd / "raw/none.txt") is None


@pytest.mark.parametrize("later", [0.0, 10.0])
def test_input_without_a_checksum_is_judged_by_its_mtime(
    vector: Vector, recorder: Recorder, later: float
) -> None:
    # Snakemake checksums no directory: the long job's input results/parts has none.
    wd = vector("plain")
    record = wd.raw_record(LONG)
    assert record["input"] == ["results/parts"] and record["input_checksums"] == {}
    t = wd.raw_record("results/parts")["endtime"] + later
    for rel in ("results/parts", "results/parts/.snakemake_timestamp"):
        wd.set_mtime(rel, t)
    j, jobs = judge(wd, recorder)
    (parts,) = j.inputs(jobs[("long", None)])
    if later:
        assert parts == Artifact(str(wd / "results/parts"), None, CHANGED_INPUT)
    else:
        assert parts.fingerprint is not None and parts.note is None
        assert parts.fingerprint.kind == "tree"


def test_gone_temp_output_is_noted_with_snakemakes_checksum(
    vector: Vector, recorder: Recorder
) -> None:
    wd = vector("plain")
    (wd / LONG).unlink()  # a removed output no later job read
    j, jobs = judge(wd, recorder)
    note = f"gone (temp?) — sha256 from Snakemake metadata: {hexdigest(scaled('a'))}"
    outs = by_path(wd, j.outputs(jobs[("scale", "a")]))
    assert outs["work/a.scaled"] == Artifact(str(wd / "work/a.scaled"), None, note)
    (used,) = j.inputs(jobs[("stats", "a")])
    assert used == Artifact(str(wd / "work/a.scaled"), None, note)
    (gone,) = j.outputs(jobs[("long", None)])
    assert gone == Artifact(str(wd / LONG), None, "gone")
    assert j.gone == 3


@pytest.mark.parametrize("late", [False, True])
def test_log_and_benchmark_belong_to_the_job_only_if_written_while_it_ran(
    vector: Vector, recorder: Recorder, late: bool
) -> None:
    wd = vector("plain")
    scale = wd.raw_record("work/a.scaled")
    stats = wd.raw_record("results/a.sum")
    wd.set_mtime("logs/scale_a.log", scale["endtime"] + (60 if late else 0))
    wd.set_mtime("bench/stats_a.tsv", stats["endtime"] + (60 if late else 0))
    j, jobs = judge(wd, recorder)
    log = by_path(wd, j.outputs(jobs[("scale", "a")]))["logs/scale_a.log"]
    bench = by_path(wd, j.outputs(jobs[("stats", "a")]))["bench/stats_a.tsv"]
    for a, rel in ((log, "logs/scale_a.log"), (bench, "bench/stats_a.tsv")):
        if late:
            assert a == Artifact(str(wd / rel), None, CHANGED_OUTPUT)
        else:
            assert attributed(wd, a, rel)


def test_gone_output_gets_no_checksum_that_was_taken_before_the_job_ended(
    vector: Vector, recorder: Recorder
) -> None:
    # The failed re-run of summary removed its output; split read the *first* run's summary,
    # before this job ran (its record keeps the first run's starttime): that sha256 is not
    # what this job made.
    wd = vector("failed")
    split = wd.raw_record("results/parts")
    summary = wd.raw_record("results/summary.txt")
    assert split["starttime"] < summary["endtime"]
    assert "results/summary.txt" in split["input_checksums"]
    j, jobs = judge(wd, recorder)
    (out,) = j.outputs(jobs[("summary", None)])
    assert out == Artifact(str(wd / "results/summary.txt"), None, "gone (temp?)")
