"""Live capture end to end: real ``snakemake --logger iscc`` runs of tests/workflows/.

Expected values come from the files themselves (datahashes computed here with iscc-core, the
reference implementation), from what the workflows are written to produce, and from
Snakemake's own run log (the workflow id); never from our own output.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from importlib.metadata import version
from pathlib import Path
from typing import Any

import iscc_core as ic  # type: ignore[import-untyped]
import pytest

from iscc_lineage.model import Run, Step
from iscc_lineage.store import Store

pytestmark = pytest.mark.e2e

WORKFLOWS = Path(__file__).parents[1] / "workflows"
FAN = WORKFLOWS / "fan"
RAW = {"a": "1\n2\n", "b": "3\n", "c": "4\n5\n6\n"}


def warnings(text: str) -> list[str]:
    """The plugin's lines but its closing 'recorded N steps …' line. Found anywhere in a line:
    the writer process shares Snakemake's stderr, so its line can land after a partial one."""
    return re.findall(r"iscc-lineage: (?!recorded )[^\n]*", text)


def datahash(data: bytes | Path) -> str:
    """The content identity per ISO 24138 (BLAKE3 multihash), by the reference implementation."""
    raw = data.read_bytes() if isinstance(data, Path) else data
    return str(ic.gen_instance_code_v0(io.BytesIO(raw), bits=256)["datahash"])


def snakemake(
    cwd: Path, *args: str, check: int | None = 0, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m snakemake --logger iscc ARGS`` in ``cwd``; assert the exit status."""
    env = {k: v for k, v in os.environ.items() if k != "ISCC_LINEAGE_STORE"}
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--logger", "iscc", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check is not None:
        assert res.returncode == check, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def fan_workdir(root: Path, name: str = "work") -> Path:
    work = root / name
    (work / "raw").mkdir(parents=True)
    for s, text in RAW.items():
        (work / "raw" / f"{s}.txt").write_text(text)
    return work


def run_fan(
    root: Path, *extra: str, work: Path | None = None, check: int | None = 0
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    work = work or fan_workdir(root)
    res = snakemake(
        root, "-s", str(FAN / "Snakefile"), "-c2", "--directory", str(work), *extra, check=check
    )
    return work, res


def store_at(work: Path) -> Store:
    return Store(str(work / ".iscc-lineage" / "lineage.db"), create=False)


def only_run(store: Store) -> tuple[Run, list[Step]]:
    [run] = store.runs()
    return run, store.steps_of_run(run.id)


def by_name(steps: list[Step], name: str) -> list[Step]:
    return [s for s in steps if s.name == name]


def trace_json(store: Path, file: Path) -> dict[str, Any]:
    res = subprocess.run(
        [sys.executable, "-m", "iscc_lineage", "--store", str(store), "trace", "--json", str(file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    doc: dict[str, Any] = json.loads(res.stdout)
    return doc


def workflow_id_from_log(work: Path) -> str:
    [log] = sorted((work / ".snakemake" / "log").glob("*.snakemake.log"))[-1:]
    m = re.search(r"Workflow ID: ([0-9a-f-]+)", log.read_text())
    assert m is not None
    return m.group(1).replace("-", "")


def test_fan_out_fan_in_with_temp_directory_script(tmp_path: Path) -> None:
    work, res = run_fan(tmp_path)
    # the plugin said nothing but its one closing line
    said = [ln for ln in res.stderr.splitlines() if ln.startswith("iscc-lineage:")]
    assert len(said) == 1 and re.fullmatch(
        r"iscc-lineage: recorded 8 steps of run \w{12} \(finished\) in "
        r"\S*\.iscc-lineage/lineage\.db",
        said[0],
    ), said
    run, steps = only_run(store_at(work))
    assert run.id == workflow_id_from_log(work)
    assert (run.status, run.workdir, run.workflow) == (
        "finished",
        work.as_posix(),
        (FAN / "Snakefile").as_posix(),
    )
    assert run.info["snakefile_datahash"] == datahash(FAN / "Snakefile")
    assert run.info["configfiles"] == [
        {"path": (FAN / "config.yaml").as_posix(), "datahash": datahash(FAN / "config.yaml")}
    ]
    assert run.info["snakemake_version"] == version("snakemake")
    assert "--logger iscc" in (run.command or "")
    head = subprocess.run(
        ["git", "-C", str(FAN), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    if head.returncode == 0:  # the tests run from a git checkout
        assert run.info["git"]["commit"] == head.stdout.strip()
    assert Counter(s.name for s in steps) == {"scale": 3, "measure": 3, "figure": 1, "tree": 1}

    # temp(): scaled/a.txt is gone, but it was fingerprinted when its producer finished.
    assert not (work / "scaled").exists()
    [scale_a] = [s for s in by_name(steps, "scale") if s.info["wildcards"] == {"s": "a"}]
    scaled_a = work / "scaled" / "a.txt"
    assert {e.path: e.datahash for e in scale_a.outputs} == {
        scaled_a.as_posix(): datahash(b"2\n4\n"),
        (work / "logs" / "scale_a.log").as_posix(): datahash(work / "logs" / "scale_a.log"),
    }
    assert scale_a.params == {"factor": 2} and scale_a.info["resources"]["mem_mb"] == 20
    assert scale_a.command is not None and "awk -v f=2" in scale_a.command
    assert scale_a.info["kind"] == "shell" and scale_a.code is None

    [measure_a] = [s for s in by_name(steps, "measure") if s.info["wildcards"] == {"s": "a"}]
    assert [e.datahash for e in measure_a.inputs] == [datahash(b"2\n4\n")]
    assert measure_a.info["kind"] == "script" and measure_a.command is None
    assert measure_a.code == (FAN / "scripts" / "measure.py").as_posix()
    assert measure_a.code_datahash == datahash(FAN / "scripts" / "measure.py")
    assert measure_a.environment["conda_env_file"] == (FAN / "envs" / "tools.yaml").as_posix()
    assert measure_a.environment["conda_env_datahash"] == datahash(FAN / "envs" / "tools.yaml")
    assert measure_a.started and measure_a.ended and measure_a.started <= measure_a.ended

    [figure] = by_name(steps, "figure")
    assert {e.path: e.datahash for e in figure.outputs} == {
        (work / "figure.txt").as_posix(): datahash(b"6.0 a\n6.0 b\n30.0 c\n"),
        (work / "bench" / "figure.tsv").as_posix(): datahash(work / "bench" / "figure.tsv"),
    }
    [tree] = by_name(steps, "tree")
    assert tree.info["kind"] == "run" and tree.outputs[0].path == (work / "tree").as_posix()
    with store_at(work) as store:
        content = store.content(tree.outputs[0].datahash or "")
        assert content is not None and content.kind == "tree"
        assert set(store.members(content.datahash)) == {"a.txt", "b.txt", "c.txt"}

    doc = trace_json(work / ".iscc-lineage" / "lineage.db", work / "figure.txt")
    assert Counter(s["name"] for s in doc["steps"]) == {"figure": 1, "measure": 3, "scale": 3}
    assert sorted(p for c in doc["sources"] for p in c["paths"]) == [
        (work / "raw" / f"{s}.txt").as_posix() for s in "abc"
    ]


def test_failing_job_fails_run_and_step_partial_output_not_traced(tmp_path: Path) -> None:
    work, res = run_fan(tmp_path, "-c1", "--keep-incomplete", "--config", "fail=b", check=1)
    assert not warnings(res.stderr)
    run, steps = only_run(store_at(work))
    assert run.status == "failed"
    [measure_b] = [s for s in by_name(steps, "measure") if s.info["wildcards"] == {"s": "b"}]
    partial = work / "measure" / "b.txt"
    assert partial.read_text() == "6.0 b\n"  # written before the script failed
    assert measure_b.status == "failed" and measure_b.outputs == ()
    assert measure_b.info["partial_outputs"] == [partial.as_posix()]
    assert not by_name(steps, "figure")
    doc = trace_json(work / ".iscc-lineage" / "lineage.db", partial)
    # a partial output traces to the failed step that wrote it, never as a raw source
    assert (doc["steps"][0]["id"], doc["steps"][0]["status"]) == (measure_b.id, "failed")
    assert [e["path"] for e in doc["steps"][0]["partial"]] == [partial.as_posix()]
    assert partial.as_posix() not in [p for c in doc["sources"] for p in c["paths"]]


def test_rerun_after_config_change_traces_old_and_new_figures(tmp_path: Path) -> None:
    work, _ = run_fan(tmp_path)
    old = (work / "figure.txt").read_bytes()
    run_fan(tmp_path, "--config", "factor=3", work=work)
    new = (work / "figure.txt").read_bytes()
    assert new == b"9.0 a\n9.0 b\n45.0 c\n" and old != new
    kept = tmp_path / "old_figure.txt"
    kept.write_bytes(old)
    db = work / ".iscc-lineage" / "lineage.db"
    with Store(str(db), create=False) as store:
        first, second = sorted(store.runs(), key=lambda r: r.started)
        assert [s.params for s in by_name(store.steps_of_run(second.id), "scale")] == [
            {"factor": 3}
        ] * 3
    new_trace, old_trace = trace_json(db, work / "figure.txt"), trace_json(db, kept)
    assert new_trace["steps"][0]["name"] == "figure"
    assert new_trace["steps"][0]["run"] == second.id
    assert old_trace["steps"][0]["name"] == "figure"
    assert old_trace["steps"][0]["run"] == first.id
    assert {s["run"] for s in old_trace["steps"]} == {first.id}


def test_checkpoint_jobs_after_the_update_are_recorded(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "source.txt").write_text("10\n21\n32\n")
    snakemake(
        tmp_path, "-s", str(WORKFLOWS / "checkpoint" / "Snakefile"), "-c1", "--directory", str(work)
    )
    run, steps = only_run(store_at(work))
    assert run.status == "finished"
    assert Counter(s.name for s in steps) == {"split": 1, "double": 3, "total": 1}
    [split] = by_name(steps, "split")
    assert split.info["is_checkpoint"] is True
    [total] = by_name(steps, "total")
    assert total.outputs[0].datahash == datahash(b"126\n")
    assert sorted(e.datahash or "" for s in by_name(steps, "double") for e in s.outputs) == sorted(
        datahash(f"{n}\n".encode()) for n in (20, 42, 64)
    )
    with store_at(work) as store:
        members = store.members(split.outputs[0].datahash or "")
    assert members == {f"p0{i}": datahash(f"{n}\n".encode()) for i, n in enumerate((10, 21, 32))}
    doc = trace_json(work / ".iscc-lineage" / "lineage.db", work / "total.txt")
    # The doubled files were read one by one from inside the checkpoint's directory: the
    # trace crosses from them to the step that made the directory, back to source.txt.
    assert Counter(s["name"] for s in doc["steps"]) == {"total": 1, "double": 3, "split": 1}
    assert [c["paths"] for c in doc["sources"]] == [[(work / "source.txt").as_posix()]]


def test_quiet_run_is_settled_at_close(tmp_path: Path) -> None:
    work, _ = run_fan(tmp_path, "--quiet")
    run, steps = only_run(store_at(work))
    assert run.status == "finished"
    assert run.info["capture"]["settled_at_close"] == 8 == len(steps)
    assert {s.status for s in steps} == {"finished"}
    # The temp files were gone by close(); their content came from the consumers' inputs.
    for scale in by_name(steps, "scale"):
        [scaled] = [e for e in scale.outputs if "/scaled/" in e.path]
        assert scaled.datahash is not None, scaled


def test_dry_run_records_nothing(tmp_path: Path) -> None:
    work, res = run_fan(tmp_path, "-n")
    assert "scale" in res.stdout + res.stderr  # the dry-run did plan the jobs
    assert not (work / ".iscc-lineage").exists()


def test_touch_run_records_touch_steps_without_generation(tmp_path: Path) -> None:
    (tmp_path / "Snakefile").write_text(
        'rule all:\n    input: "out.txt"\n\n'
        'rule upper:\n    input: "in.txt"\n    output: "out.txt"\n'
        '    shell: "tr a-z A-Z < {input} > {output}"\n'
    )
    (tmp_path / "in.txt").write_text("first\n")
    snakemake(tmp_path, "-c1")
    (tmp_path / "in.txt").write_text("second\n")
    snakemake(tmp_path, "-c1", "--touch")
    assert (tmp_path / "out.txt").read_text() == "FIRST\n"
    db = tmp_path / ".iscc-lineage" / "lineage.db"
    with Store(str(db), create=False) as store:
        first, second = sorted(store.runs(), key=lambda r: r.started)
        [touched] = store.steps_of_run(second.id)
    assert (first.status, second.status) == ("finished", "touch")
    assert (touched.status, touched.info["kind"], touched.outputs) == ("touch", "touch", ())
    with sqlite3.connect(db) as con:
        roles = con.execute(
            "SELECT o.role FROM observation o JOIN step s ON s.id = o.step_id"
            " WHERE s.uid = ? AND o.path LIKE '%out.txt'",
            (touched.id,),
        ).fetchall()
    assert roles == [("seen",)]
    # out.txt still traces to the run that made it, not to the touch.
    doc = trace_json(db, tmp_path / "out.txt")
    assert [s["run"] for s in doc["steps"]] == [first.id]


def test_workdir_directive_puts_default_store_in_the_workdir(tmp_path: Path) -> None:
    (tmp_path / "Snakefile").write_text(
        'workdir: "w"\n\nrule all:\n    input: "out.txt"\n\n'
        'rule make:\n    output: "out.txt"\n    shell: "echo made > {output}"\n'
    )
    snakemake(tmp_path, "-c1")
    run, [step] = only_run(store_at(tmp_path / "w"))
    assert run.workdir == (tmp_path / "w").as_posix()
    assert step.outputs[0].path == (tmp_path / "w" / "out.txt").as_posix()
    assert step.outputs[0].datahash == datahash(b"made\n")


def test_pipe_and_shadow(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "source.txt").write_text("b\na\nc\n")
    snakemake(
        tmp_path, "-s", str(WORKFLOWS / "streams" / "Snakefile"), "-c2", "--directory", str(work)
    )
    _, steps = only_run(store_at(work))
    [produce], [count], [shadowed] = (by_name(steps, n) for n in ("produce", "count", "shadowed"))
    pipe = (work / "stream.pipe").as_posix()
    assert [(e.path, e.datahash, e.note) for e in produce.outputs] == [(pipe, None, "pipe")]
    assert [(e.path, e.datahash, e.note) for e in count.inputs] == [(pipe, None, "pipe")]
    assert produce.info["group"] is not None and produce.info["group"] == count.info["group"]
    assert count.outputs[0].datahash == datahash(b"3\n")
    assert shadowed.outputs[0].datahash == datahash(b"c\nb\na\n")


def test_exclude_and_max_size(tmp_path: Path) -> None:
    work, _ = run_fan(
        tmp_path,
        "--logger-iscc-store",
        "st.db",
        "--logger-iscc-exclude",
        "logs/*",
        "--logger-iscc-exclude",
        "*.tsv",
        "--logger-iscc-max-size",
        "3",
    )
    with Store(str(tmp_path / "st.db"), create=False) as store:  # relative to the launch dir
        _, steps = only_run(store)
    paths = {e.path for s in steps for e in (*s.inputs, *s.outputs)}
    assert not any("/logs/" in p or p.endswith(".tsv") for p in paths)
    raw = {e.path: e for s in by_name(steps, "scale") for e in s.inputs}
    a, b = raw[(work / "raw" / "a.txt").as_posix()], raw[(work / "raw" / "b.txt").as_posix()]
    assert (a.datahash, a.note) == (None, "not fingerprinted: 4 B > max size 3 B")
    assert (b.datahash, b.note) == (datahash(b"3\n"), None)


def test_no_hash_inputs_reads_no_raw_file(tmp_path: Path) -> None:
    work, _ = run_fan(tmp_path, "--logger-iscc-no-hash-inputs")
    _, steps = only_run(store_at(work))
    raw = [e for s in by_name(steps, "scale") for e in s.inputs]
    assert {(e.datahash, e.note) for e in raw} == {
        (None, "not fingerprinted (--logger-iscc-no-hash-inputs)")
    }
    # Inputs made in this run still have content: the producer's output fingerprint.
    assert sorted(e.datahash or "" for s in by_name(steps, "measure") for e in s.inputs) == sorted(
        datahash(x) for x in (b"2\n4\n", b"6\n", b"8\n10\n12\n")
    )


def test_two_concurrent_runs_into_one_store(tmp_path: Path) -> None:
    store = tmp_path / "shared.db"
    env = {k: v for k, v in os.environ.items() if k != "ISCC_LINEAGE_STORE"}
    procs = []
    for name in ("one", "two"):
        work = fan_workdir(tmp_path, name)
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "snakemake",
                    "--logger",
                    "iscc",
                    "--logger-iscc-store",
                    str(store),
                    "-s",
                    str(FAN / "Snakefile"),
                    "-c2",
                    "--directory",
                    str(work),
                ],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert not any(warnings(o) for o in outs)
    with Store(str(store), create=False) as st:
        runs = st.runs()
        assert sorted(r.workdir for r in runs) == sorted(
            (tmp_path / n).as_posix() for n in ("one", "two")
        )
        for r in runs:
            assert r.status == "finished" and r.steps == 8


def test_kill_9_leaves_a_readable_store_and_the_next_run_settles_it(tmp_path: Path) -> None:
    work = fan_workdir(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "ISCC_LINEAGE_STORE"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--logger",
            "iscc",
            "-s",
            str(FAN / "Snakefile"),
            "-c1",
            "--directory",
            str(work),
            "--config",
            "slow=60",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    db = work / ".iscc-lineage" / "lineage.db"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:  # measure c writes its output, then sleeps
            if (work / "measure" / "c.txt").exists() and _scale_c_recorded(db):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the slow job never started")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # The store's writer process outlives snakemake: it commits what it was sent and marks
    # the run incomplete (settled through Store.mark_stale_runs) once its input ends.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with Store(str(db), create=False) as store:
            run, steps = only_run(store)
        if run.status != "running":
            break
        time.sleep(0.2)
    with Store(str(db), create=False) as store:
        run, steps = only_run(store)
        assert run.status == "incomplete" and "killed" in run.info["settled"]
        # At least scale c, which had to finish before measure c began, is in.
        assert {s.status for s in steps} == {"finished"}
        assert {"s": "c"} in [s.info["wildcards"] for s in by_name(steps, "scale")]
        assert not [s for s in by_name(steps, "measure") if s.info["wildcards"] == {"s": "c"}]
    # What a user does after a crash: unlock, then rerun the incomplete job.
    snakemake(tmp_path, "--unlock", "-s", str(FAN / "Snakefile"), "--directory", str(work))
    run_fan(tmp_path, "--rerun-incomplete", work=work)
    with Store(str(db), create=False) as store:
        killed = store.run(run.id)
        assert killed.status == "incomplete" and "killed" in killed.info["settled"]
        # settled through Store.mark_stale_runs: ended is the last recorded step's end
        assert killed.ended == max(s.ended for s in steps if s.ended)
        assert [r.status for r in store.runs() if r.id != run.id] == ["finished"]


def _scale_c_recorded(db: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            rows = con.execute("SELECT info FROM step WHERE name = 'scale'").fetchall()
    except sqlite3.Error:
        return False
    return any(json.loads(r[0]).get("wildcards") == {"s": "c"} for r in rows)


def test_store_broken_mid_run_warns_once_and_the_run_succeeds(tmp_path: Path) -> None:
    work = fan_workdir(tmp_path)
    db = work / ".iscc-lineage" / "lineage.db"
    _, res = run_fan(tmp_path, "-c1", "--config", f"wipe={db}", work=work)
    assert (work / "figure.txt").read_text() == "6.0 a\n6.0 b\n30.0 c\n"
    ours = warnings(res.stderr)
    # said once: by the capture, or by the writer process that then spools the records
    assert len(ours) == 1, res.stderr[-2000:]
    assert "lineage capture failed" in ours[0] or "cannot write the lineage store" in ours[0]


def test_unusable_store_stops_the_run_before_any_job(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_bytes(b"this is no database" * 200)
    work, res = run_fan(tmp_path, "--logger-iscc-store", "junk.db", check=1)
    assert "iscc-lineage: cannot record lineage" in res.stderr + res.stdout
    # one line: "Error: iscc-lineage: …", no traceback frame ('File "…", line 95, in …')
    ours = [
        ln
        for ln in (res.stderr + res.stdout).splitlines()
        if "iscc-lineage:" in ln or ln.lstrip().startswith('File "')
    ]
    assert ours == [next(ln for ln in ours if "cannot record lineage" in ln)], ours
    assert 'File "' not in res.stderr + res.stdout
    assert not (work / "figure.txt").exists() and not (work / "measure").exists()


def test_storage_plugin_files_are_recorded_at_their_query(tmp_path: Path) -> None:
    pytest.importorskip("snakemake_storage_plugin_fs")
    if shutil.which("rsync") is None:
        pytest.skip("snakemake-storage-plugin-fs needs rsync")
    remote = tmp_path / "remote"
    remote.mkdir()
    (remote / "in.txt").write_text("hello\n")
    (tmp_path / "Snakefile").write_text(
        'storage:\n    provider="fs"\n\n'
        f'rule all:\n    input: "local.txt"\n\n'
        f'rule upper:\n    input: storage.fs("{remote}/in.txt")\n'
        f'    output: storage.fs("{remote}/out.txt")\n'
        '    shell: "tr a-z A-Z < {input} > {output}"\n\n'
        f'rule local:\n    input: storage.fs("{remote}/out.txt")\n    output: "local.txt"\n'
        '    shell: "rev {input} > {output}"\n'
    )
    snakemake(tmp_path, "-c1")
    db = tmp_path / ".iscc-lineage" / "lineage.db"
    doc = trace_json(db, tmp_path / "local.txt")
    assert [s["name"] for s in doc["steps"]] == ["local", "upper"]
    [upper] = [s for s in doc["steps"] if s["name"] == "upper"]
    assert upper["outputs"][0]["path"] == (remote / "out.txt").as_posix()
    assert upper["outputs"][0]["datahash"] == datahash(b"HELLO\n")
    assert [c["paths"] for c in doc["sources"]] == [[(remote / "in.txt").as_posix()]]
