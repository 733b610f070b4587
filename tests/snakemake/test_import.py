"""Post-hoc import (``iscc-lineage import``) of runs made by a plain ``snakemake``.

End-to-end tests run real snakemake (no plugin) on a small workflow with temp, directory,
script and run rules, then import ``.snakemake/`` and trace. Expected values come from
independent sources: iscc-sum for fingerprints, hashlib for Snakemake's sha256, the run log
for the workflow id, the workflow's own structure for the rules a trace must reach.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import iscc_sum
import pytest
from click.testing import CliRunner

from iscc_lineage.cli import cli
from iscc_lineage.model import Artifact
from iscc_lineage.recorder import Recorder
from iscc_lineage.snakemake.importer import import_workdir
from iscc_lineage.snakemake.metadata import MetadataRecord
from iscc_lineage.snakemake.plan import _group
from iscc_lineage.snakemake.runlog import read_run_log
from iscc_lineage.store import open_store

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "workflows" / "bioimage-demo" / "Snakefile"
LIVE_PLUGIN = importlib.util.find_spec("iscc_lineage.snakemake.router") is not None

SNAKEFILE = """\
SAMPLES = ["a", "b"]

rule all:
    input: "results/final.txt"

rule scale:
    input: "raw/{s}.txt"
    output: temp("work/{s}.scaled")
    params: factor=3
    log: "logs/scale_{s}.log"
    script:
        "scripts/scale.py"

rule split:
    input: "work/{s}.scaled"
    output: directory("results/{s}.parts")
    benchmark: "bench/split_{s}.tsv"
    shell: "mkdir -p {output} && split -l 1 {input} {output}/part_"

rule final:
    input: expand("results/{s}.parts", s=SAMPLES)
    output: "results/final.txt"
    params: fail=config.get("fail", 0)
    run:
        n = sum(len([p for p in os.listdir(d) if p.startswith("part_")]) for d in input)
        with open(output[0], "w") as f:
            f.write(f"{n} parts\\n")
        if params.fail:
            raise ValueError("asked to fail")
"""
SCALE = """\
factor = int(snakemake.params.factor)
with open(snakemake.input[0]) as src, open(snakemake.output[0], "w") as dst:
    for line in src:
        dst.write(f"{int(line) * factor}\\n")
with open(snakemake.log[0], "w") as log:
    log.write("scaled\\n")
"""


@pytest.fixture
def wf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ISCC_LINEAGE_STORE", raising=False)
    monkeypatch.delenv("SNAKEMAKE_PROFILE", raising=False)
    d = tmp_path / "wf"
    (d / "scripts").mkdir(parents=True)
    (d / "raw").mkdir()
    (d / "Snakefile").write_text("import os\n\n" + SNAKEFILE)
    (d / "scripts" / "scale.py").write_text(SCALE)
    (d / "raw" / "a.txt").write_text("1\n2\n3\n")
    (d / "raw" / "b.txt").write_text("4\n5\n")
    return d


def snakemake(workdir: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """A plain snakemake run (no --logger): what import has to work from."""
    p = subprocess.run(
        [SNAKEMAKE, "-c1", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert (p.returncode == 0) == ok, p.stderr[-3000:]
    return p


def lineage(*args: str, code: int = 0) -> Any:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == code, res.output
    return json.loads(res.stdout) if "--json" in args and code == 0 else res


def datahash(path: Path) -> str:
    """The datahash by iscc-sum, an implementation independent of ours."""
    return str(iscc_sum.code_iscc_sum(str(path)).datahash)


def steps_of(store: Path, run_id: str) -> list[dict[str, Any]]:
    return list(lineage("--store", str(store), "show", "--json", run_id)["steps"])


def workflow_ids(workdir: Path) -> list[str]:
    ids = []
    for p in sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log")):
        m = re.search(r"Workflow ID: ([0-9a-f-]+)", p.read_text())
        assert m is not None
        ids.append(m.group(1).replace("-", ""))
    return ids


@pytest.mark.e2e
def test_import_traces_final_output_through_temp_to_raw(wf: Path) -> None:
    snakemake(wf)
    store = wf / ".iscc-lineage" / "lineage.db"
    res = lineage("import", str(wf))
    assert "Imported 5 steps" in res.output  # 2 x scale, 2 x split, final ("all" has no record)
    assert store.is_file()  # the default store lives in the working directory
    (run_id,) = workflow_ids(wf)
    doc = lineage("--store", str(store), "trace", "--json", str(wf / "results/final.txt"))
    assert sorted(s["name"] for s in doc["steps"]) == ["final", "scale", "scale", "split", "split"]
    assert {s["run"] for s in doc["steps"]} == {run_id}
    assert {c["datahash"] for c in doc["sources"]} == {
        datahash(wf / "raw/a.txt"),
        datahash(wf / "raw/b.txt"),
    }

    steps = {
        (s["name"], s["info"].get("wildcards", {}).get("s")): s for s in steps_of(store, run_id)
    }
    scale = steps[("scale", "a")]
    assert scale["code"] == str(wf / "scripts" / "scale.py")
    assert scale["code_datahash"] == datahash(wf / "scripts" / "scale.py")
    assert scale["params"] == {"0": "3"}
    assert scale["info"]["kind"] == "script"
    assert scale["command"] is None
    outs = {Path(e["path"]).name: e for e in scale["outputs"]}
    sha = hashlib.sha256(b"3\n6\n9\n").hexdigest()  # the temp file's content, recomputed
    assert outs["a.scaled"]["datahash"] is None
    assert outs["a.scaled"]["note"] == f"gone (temp?) — sha256 from Snakemake metadata: {sha}"
    assert outs["scale_a.log"]["datahash"] == datahash(wf / "logs" / "scale_a.log")
    split = steps[("split", "b")]
    assert split["info"]["kind"] == "shell"
    assert split["command"].startswith("mkdir -p results/b.parts && split -l 1")
    tree = doc["contents"][split["outputs"][0]["datahash"]]
    assert tree["kind"] == "tree"
    bench = wf / "bench" / "split_b.tsv"
    assert split["info"]["benchmark"] == str(bench)
    assert split["outputs"][1] == {"path": str(bench), "datahash": datahash(bench), "note": None}
    final = steps[("final", None)]
    assert final["info"]["kind"] == "run" and final["command"] is None
    assert final["status"] == "finished"
    text = lineage("--store", str(store), "trace", str(wf / "results/final.txt")).output
    assert re.search(r"scale( \S+=\S+)* step", text)  # the tree goes on through the gone temp


@pytest.mark.e2e
def test_import_db_backend(wf: Path) -> None:
    snakemake(wf, "--persistence-backend", "db")
    assert (wf / ".snakemake" / "metadata.db").is_file()
    assert not any((wf / ".snakemake" / "metadata").glob("*"))
    store = wf / "l.db"
    res = lineage("--store", str(store), "import", str(wf))
    assert "Imported 5 steps" in res.output
    doc = lineage("--store", str(store), "trace", "--json", str(wf / "results/final.txt"))
    assert {c["datahash"] for c in doc["sources"]} == {
        datahash(wf / "raw/a.txt"),
        datahash(wf / "raw/b.txt"),
    }
    assert len(doc["steps"]) == 5


@pytest.mark.e2e
@pytest.mark.parametrize("keep_logs", [True, False])
def test_failed_job_stale_record_is_not_a_result(wf: Path, keep_logs: bool) -> None:
    snakemake(wf)
    good = (wf / "results/final.txt").read_bytes()
    store = wf / "l.db"
    if keep_logs:
        lineage("--store", str(store), "import", str(wf))
    snakemake(wf, "--config", "fail=1", ok=False)  # params changed: final re-runs and fails
    assert not (wf / "results/final.txt").exists()  # Snakemake removed the failed output
    record = json.loads(
        next((wf / ".snakemake/metadata").glob("cmVzdWx0cy9maW5hbC50eHQ*")).read_text()
    )
    assert record["incomplete"] is False  # the record still reads like a success
    if not keep_logs:
        for p in (wf / ".snakemake" / "log").iterdir():
            p.unlink()
    (wf / "results/final.txt").write_text("999 parts\n")  # a stale file where the output was
    res = lineage("--store", str(store), "import", str(wf))
    if keep_logs:
        assert "1 failed steps" in res.output
        failed_run = workflow_ids(wf)[-1]
        (final,) = [s for s in steps_of(store, failed_run) if s["name"] == "final"]
        assert final["status"] == "failed"
        assert final["outputs"] == []  # kept as partial, never traced
    res = lineage("--store", str(store), "trace", str(wf / "results/final.txt"), code=1)
    assert "not in the lineage store" in res.output
    if keep_logs:  # the good content, wherever it is now, still traces to the raw inputs
        (wf / "copy.txt").write_bytes(good)
        doc = lineage("--store", str(store), "trace", "--json", str(wf / "copy.txt"))
        assert doc["steps"][0]["name"] == "final" and doc["steps"][0]["status"] == "finished"
        assert len(doc["sources"]) == 2


@pytest.mark.e2e
def test_reimport_is_idempotent_and_adds_only_new_jobs(wf: Path) -> None:
    snakemake(wf)
    store = wf / "l.db"
    lineage("--store", str(store), "import", str(wf))
    lineage("--store", str(store), "import", str(wf))
    runs = lineage("--store", str(store), "runs", "--json")
    assert [r["steps"] for r in runs] == [5]
    (wf / "raw" / "b.txt").write_text("7\n8\n9\n")
    p = snakemake(wf)
    rerun = len(re.findall(r"Finished jobid: \d+ \(Rule: (?!all\))", p.stderr))
    assert rerun == 3  # scale b, split b, final
    res = lineage("--store", str(store), "import", str(wf))
    # The re-run overwrote 3 of the 5 records; the 2 left (sample a) are known already.
    assert "Imported 3 steps" in res.output and "2 jobs imported before" in res.output
    assert "changed since" not in res.output
    res = lineage("--store", str(store), "import", str(wf))
    assert "Imported 0 steps" in res.output
    runs = lineage("--store", str(store), "runs", "--json")
    assert sorted(r["steps"] for r in runs) == [3, 5]
    assert {r["id"] for r in runs} == set(workflow_ids(wf))
    assert all(r["info"]["imported"] is True for r in runs)


@pytest.mark.e2e
def test_files_changed_after_the_run_are_not_attributed(wf: Path) -> None:
    snakemake(wf)
    old_raw = hashlib.sha256((wf / "raw/a.txt").read_bytes()).hexdigest()
    (wf / "raw/a.txt").write_text("100\n")  # an input edited after the run
    (wf / "scripts/scale.py").write_text(SCALE + "# edited\n")  # the script too
    (wf / "results/final.txt").unlink()  # an output removed
    with open_store(wf / "l.db") as store:
        result = import_workdir(wf, Recorder(store))
    assert (result.steps, result.untrusted) == (5, 1)
    assert result.gone == 3  # two temp files and final.txt
    steps = {
        (s["name"], s["info"].get("wildcards", {}).get("s")): s
        for s in steps_of(wf / "l.db", next(iter(result.runs)))
    }
    scale = steps[("scale", "a")]
    assert scale["inputs"] == [
        {
            "path": str(wf / "raw/a.txt"),
            "datahash": None,
            "note": f"changed since the job — sha256 then: {old_raw}",
        }
    ]
    assert scale["code"] is None
    assert scale["info"]["code_source"] == f"{wf / 'scripts/scale.py'} (changed since the job)"
    assert steps[("final", None)]["outputs"][0]["note"] == "gone"
    lineage("--store", str(wf / "l.db"), "trace", str(wf / "raw/a.txt"), code=1)


@pytest.mark.e2e
def test_runs_recorded_live_are_not_imported_again(wf: Path) -> None:
    if not LIVE_PLUGIN:
        pytest.skip("live plugin (iscc_lineage.snakemake.router) not available yet")
    snakemake(wf, "--logger", "iscc")
    store = wf / ".iscc-lineage" / "lineage.db"
    res = lineage("import", str(wf))
    assert "Imported 0 steps" in res.output and "5 jobs of runs recorded live" in res.output
    runs = lineage("--store", str(store), "runs", "--json")
    assert [(r["steps"], r["info"]["imported"]) for r in runs] == [(5, False)]


def test_import_without_metadata_is_one_line_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["--store", str(tmp_path / "l.db"), "import", str(tmp_path)])
    assert res.exit_code == 2
    assert res.output.startswith("Error: ") and res.output.count("\n") == 1
    assert "no Snakemake metadata" in res.output


def _rec(output: str, rule: str, job_hash: int, start: float) -> MetadataRecord:
    return MetadataRecord(
        output=output, rule=rule, job_hash=job_hash, starttime=start, endtime=start + 0.5
    )


def test_grouping_splits_repeated_job_hash_and_keeps_multi_output_jobs() -> None:
    # job_hash is Python's id()-based hash: the same value can come back in a later run.
    recs = [
        _rec("b.txt", "b", 7, 100.0),
        _rec("b2.txt", "b", 7, 100.0003),
        _rec("c.txt", "b", 7, 500.0),
        _rec("d.txt", "d", 7, 100.0),
    ]
    jobs = sorted(_group(recs), key=lambda j: (j.rule, j.started))
    assert [sorted(r.output for r in j.records) for j in jobs] == [
        ["b.txt", "b2.txt"],
        ["c.txt"],
        ["d.txt"],
    ]
    assert len({j.key for j in jobs}) == 3


def test_run_log_parsing(tmp_path: Path) -> None:
    log = tmp_path / "2026-01-02T030405.123456.snakemake.log"
    log.write_text(
        "SNAKEMAKE\n=========\n  Workflow ID: 56054a7a-f17b-4bd5-9ee2-8436bcc17d96\n"
        "  Command: snakemake -c1 --touch\n  Config file(s): ['c.yaml']\n"
        "[Mon Nov 23 21:23:13 2026]\nlocalrule acquire:\n    output: raw/s03.tif, x (pipe)\n"
        "    jobid: 13\n    wildcards: sample=s03, n=1\n    threads: 4\n"
        "Finished jobid: 13 (Rule: acquire)\n"
        "checkpoint split:\n    input: a\n    output: b\n    jobid: 2\n"
        "Error in rule split:\n    message: None\n    jobid: 2\n    output: b\n"
        "Exiting because a job execution failed. Look above for error messages\n"
    )
    r = read_run_log(log)
    assert r is not None
    assert r.workflow_id == "56054a7af17b4bd59ee28436bcc17d96"
    assert r.status == "failed" and r.finished == {13} and r.failed == {2}
    acquire, split = r.jobs
    assert acquire.outputs == ("raw/s03.tif", "x") and acquire.threads == 4
    assert acquire.wildcards == {"sample": "s03", "n": "1"} and acquire.local
    assert split.is_checkpoint and not split.local and split.inputs == ("a",)
    ev = r.workflow_started()
    assert ev.configfiles == ("c.yaml",) and ev.cmd == "snakemake -c1 --touch"
    assert r.failed_outputs == {"b"}
    quiet = tmp_path / "2026-01-02T030406.000000.snakemake.log"  # --quiet: no job blocks
    quiet.write_text(
        "Execute 1 jobs...\nRemoving output files of failed job b since they might be "
        "corrupted:\nb.txt\nc d.txt\nShutting down, this might take some time.\n"
        "Complete log(s): x\n"
    )
    q = read_run_log(quiet)
    assert q is not None and q.jobs == () and q.status == "failed"
    assert q.failed_outputs == {"b.txt"}  # a name with a space is not taken (best effort)
    assert len(q.workflow_id) == 32  # no header: an id derived from the file


def _plugin_trace(workdir: Path, target: str) -> dict[str, Any]:
    store = workdir / ".iscc-lineage" / "lineage.db"
    return dict(lineage("--store", str(store), "trace", "--json", str(workdir / target)))


@pytest.mark.e2e
def test_demo_pipeline_import_gives_the_live_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    monkeypatch.delenv("ISCC_LINEAGE_STORE", raising=False)
    plain = tmp_path / "plain"
    subprocess.run(
        [SNAKEMAKE, "-s", str(DEMO), "-c2", "--directory", str(plain), "-q"],
        check=True,
        capture_output=True,
        timeout=900,
    )
    lineage("import", str(plain))
    doc = _plugin_trace(plain, "results/figures/panel.png")
    # From the workflow's rule table: panel <- raw, zarr, labels; zarr <- corrected, labels;
    # labels <- corrected (temp, gone); corrected <- raw; raw <- acquire (3 samples).
    names = sorted(s["name"] for s in doc["steps"])
    assert sorted(set(names)) == ["acquire", "correct", "panel", "segment", "to_zarr"]
    assert len(names) == 1 + 4 * 3
    if not LIVE_PLUGIN:
        pytest.skip("live plugin (iscc_lineage.snakemake.router) not available yet")
    live = request.getfixturevalue("live_demo").workdir  # the same Snakefile, --logger iscc
    live_doc = _plugin_trace(live, "results/figures/panel.png")
    assert sorted(s["name"] for s in live_doc["steps"]) == names
    assert live_doc["target"]["datahash"] == doc["target"]["datahash"]  # deterministic demo


@pytest.mark.parametrize("same_run", [True, False])
def test_trace_follows_a_gone_temp_file_by_path_within_one_run(
    tmp_path: Path, same_run: bool
) -> None:
    (tmp_path / "raw.txt").write_text("raw\n")
    (tmp_path / "out.txt").write_text("out\n")
    gone = Artifact(str(tmp_path / "tmp.txt"), None, "gone (temp?)")
    with open_store(tmp_path / "l.db") as store:
        rec = Recorder(store)
        r1 = rec.begin_run(workdir=tmp_path)
        r2 = r1 if same_run else rec.begin_run(workdir=tmp_path)
        rec.record_step(r1, "make_tmp", inputs=[tmp_path / "raw.txt"], outputs=[gone])
        rec.record_step(r2, "use_tmp", inputs=[gone], outputs=[tmp_path / "out.txt"])
    doc = lineage("--store", str(tmp_path / "l.db"), "trace", "--json", str(tmp_path / "out.txt"))
    names = [s["name"] for s in doc["steps"]]
    assert names == (["use_tmp", "make_tmp"] if same_run else ["use_tmp"])
    text = lineage("--store", str(tmp_path / "l.db"), "trace", str(tmp_path / "out.txt")).output
    assert ("make_tmp" in text) == same_run
