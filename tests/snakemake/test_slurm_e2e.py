"""Live capture on a real (private, single-node) SLURM cluster, into a lab-wide PostgreSQL store.

``snakemake --executor slurm --logger iscc``: every job is an sbatch job whose payload runs
``snakemake --mode remote`` in the allocation; the plugin runs in the submitting process and
fingerprints the outputs over the shared file system (here: the same disk). Expected values
come from the files (iscc-core, the reference implementation) and from SLURM itself (squeue
knows every job this run submitted, by the run's name), never from our own output.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import iscc_core as ic  # type: ignore[import-untyped]
import pytest
from services import PostgresServer, SlurmCluster

from iscc_lineage import open_store

pytestmark = pytest.mark.e2e

FAN = Path(__file__).parents[1] / "workflows" / "fan"
RAW = {"a": "1\n2\n", "b": "3\n", "c": "4\n5\n6\n"}


def datahash(data: bytes | Path) -> str:
    raw = data.read_bytes() if isinstance(data, Path) else data
    return str(ic.gen_instance_code_v0(io.BytesIO(raw), bits=256)["datahash"])


def slurm_snakemake(
    cluster: SlurmCluster, cwd: Path, work: Path, store: str, *extra: str, password: str = ""
) -> subprocess.CompletedProcess[str]:
    pythonpath = os.pathsep.join(
        p for p in (str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH")) if p
    )
    env = {
        **cluster.env,
        "PYTHONPATH": pythonpath,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{cluster.env['PATH']}",
    }
    env.pop("ISCC_LINEAGE_STORE", None)
    if password:  # as a lab would: from the environment (or ~/.pgpass), never in the URL,
        env["PGPASSWORD"] = password  # since Snakemake logs its whole command line
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--logger",
            "iscc",
            "--logger-iscc-store",
            store,
            "-s",
            str(FAN / "Snakefile"),
            "--directory",
            str(work),
            "--executor",
            "slurm",
            "-j",
            "4",
            "--slurm-status-command",
            "squeue",
            "--slurm-no-account",
            "--slurm-init-seconds-before-status-checks",
            "1",
            "--slurm-keep-successful-logs",
            "--default-resources",
            "mem_mb=50",
            "runtime=5",
            f"slurm_partition={cluster.partition}",
            "--latency-wait",
            "10",
            *extra,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_fan_workflow_on_slurm_records_every_job_with_its_slurm_id(
    slurm_cluster: SlurmCluster, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.url(postgres_server.new_database("slurm"), password=None)
    work = tmp_path / "work"
    (work / "raw").mkdir(parents=True)
    for s, text in RAW.items():
        (work / "raw" / f"{s}.txt").write_text(text)
    res = slurm_snakemake(slurm_cluster, tmp_path, work, url, password=postgres_server.password)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    assert "lineage capture failed" not in res.stderr, res.stderr[-3000:]
    assert postgres_server.password not in res.stdout + res.stderr

    # SLURM's own account of this run: the jobs named after the run, all completed
    queue = slurm_cluster.run("squeue", "-h", "--states=all", "-o", "%i|%j|%T").stdout
    slurm_jobs = {}
    for line in queue.split():
        jobid, name, state = line.split("|")
        slurm_jobs[jobid] = (name, state)

    with open_store(postgres_server.url(url.rsplit("/", 1)[1]), create=False) as st:
        [run] = st.runs()
        steps = st.steps_of_run(run.id)
        assert run.status == "finished", run
        assert postgres_server.password not in (run.command or "")
        # 3 scale + 3 measure + figure + tree: every job of the DAG but `all`
        assert sorted(s.name for s in steps) == sorted(
            ["scale"] * 3 + ["measure"] * 3 + ["figure", "tree"]
        )
        ids = [s.info.get("external_jobid") for s in steps]
        assert all(i is not None for i in ids), [s.info for s in steps]
        assert len(set(ids)) == len(ids)
        assert {s.info.get("executor") for s in steps} == {"slurm"}
        run_names = {slurm_jobs[i][0] for i in ids if i in slurm_jobs}
        assert len(run_names) == 1 and set(ids) <= set(slurm_jobs), (ids, slurm_jobs)
        assert {slurm_jobs[i][1] for i in ids} == {"COMPLETED"}
        assert all(s.status == "finished" for s in steps)

        # outputs fingerprinted from the shared file system, identical to the reference
        figure = next(s for s in steps if s.name == "figure")
        [fig] = [e for e in figure.outputs if e.path.endswith("figure.txt")]
        assert fig.datahash == datahash(work / "figure.txt")
        measured = {e.path: e.datahash for s in steps if s.name == "measure" for e in s.outputs}
        for s in RAW:
            p = (work / "measure" / f"{s}.txt").as_posix()
            assert measured[p] == datahash(work / "measure" / f"{s}.txt")
        tree = next(s for s in steps if s.name == "tree")
        members = st.members(tree.outputs[0].datahash or "")
        assert sorted(members) == ["a.txt", "b.txt", "c.txt"]
        assert members["a.txt"] == datahash(work / "tree" / "a.txt")

        # lineage across cluster jobs: the figure traces back to the three raw files
        from iscc_lineage import trace

        lin = trace(st, fig.datahash or "")
        assert {s.name for s in lin.steps} == {"figure", "measure", "scale"}
        assert sorted(p for c in lin.ends for p in c.paths if "/raw/" in p) == sorted(
            (work / "raw" / f"{s}.txt").as_posix() for s in RAW
        )
