"""The demo pipeline re-runs: from its exported crate, with `reproduce`, and `diff` explains a
config change. Real snakemake runs; expected contents come from the files (iscc-core) and from
the crate's own SHA-256s, expected causes from the one config value the test changes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import iscc_core as ic  # type: ignore[import-untyped]
import pytest
from crate_helpers import Demo, graph, invoke

pytestmark = pytest.mark.e2e

DEMO = Path(__file__).parents[2] / "workflows" / "bioimage-demo"
DEPOSIT = ("--license", "CC-BY-4.0", "--author", "Jane Doe <0000-0002-1825-0097>")


def datahash(path: Path) -> str:
    return str(ic.gen_instance_code_v0(io.BytesIO(path.read_bytes()), bits=256)["datahash"])


def run(
    cmd: list[str], cwd: Path, store: Path | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ISCC_LINEAGE_STORE"}
    if store is not None:
        env["ISCC_LINEAGE_STORE"] = str(store)
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def crate(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rerun") / "crate"
    invoke("--store", str(demo.store), "export", "crate", str(out), *DEPOSIT)
    return out


def test_crate_ships_the_code_that_ran(crate: Path) -> None:
    for rel in (
        "workflow/Snakefile",
        "workflow/config/config.yaml",
        "workflow/scripts/acquire.py",
        "workflow/scripts/bioimage_io.py",
    ):
        assert (crate / rel).read_bytes() == (DEMO / rel.removeprefix("workflow/")).read_bytes()


def test_crate_reruns_from_its_unpacked_folder_to_the_same_figure(
    crate: Path, tmp_path: Path
) -> None:
    unpacked = tmp_path / "unpacked"
    shutil.copytree(crate, unpacked)
    figure = unpacked / "results" / "figures" / "summary.png"
    want = graph(crate)["results/figures/summary.png"]["sha256"]
    figure.unlink()  # nothing left from the run: snakemake must make it again
    res = run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            "workflow/Snakefile",
            "-c2",
            "-F",
            "results/figures/summary.png",
        ],
        unpacked,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert hashlib.sha256(figure.read_bytes()).hexdigest() == want


def test_reproduce_the_crate(crate: Path, tmp_path: Path) -> None:
    res = run(
        [sys.executable, "-m", "iscc_lineage", "reproduce", "--json", "-c2", str(crate)], tmp_path
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    doc = json.loads(res.stdout)
    shipped = {o["path"] for o in doc["outputs"]}
    assert {"results/figures/summary.png", "results/figures/panel.png"} <= shipped
    assert doc["counts"]["identical"] == len(doc["outputs"])


def test_reproduce_the_demo_run_all_identical(demo: Demo, tmp_path: Path) -> None:
    [run_id] = json.loads(invoke("--store", str(demo.store), "runs", "--json"))[:1]
    res = run(
        [
            sys.executable,
            "-m",
            "iscc_lineage",
            "--store",
            str(demo.store),
            "reproduce",
            "--json",
            "-c2",
            run_id["id"],
        ],
        tmp_path,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    doc = json.loads(res.stdout)
    assert doc["reproduced"] and doc["first_diverging_step"] is None
    outputs = {o["path"]: o for o in doc["outputs"]}
    assert len(outputs) == 17  # 17 jobs, one data output each (directories included)
    for rel, o in outputs.items():
        want = demo.workdir / rel
        if want.is_file():
            assert o["recorded"] == o["actual"] == datahash(want)


def test_diff_names_the_changed_config_param(tmp_path: Path) -> None:
    work, store = tmp_path / "wd", tmp_path / "lineage.db"
    base = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(DEMO / "Snakefile"),
        "-c2",
        "--logger",
        "iscc",
        "--directory",
        str(work),
    ]
    assert run(base, tmp_path, store).returncode == 0
    files = sorted(
        p
        for p in work.rglob("*")
        if p.is_file() and ".snakemake" not in p.parts and ".iscc-lineage" not in p.parts
    )
    before = {p.relative_to(work).as_posix(): datahash(p) for p in files}
    res = run([*base, "--config", "pixel_size_um=0.5"], tmp_path, store)
    assert res.returncode == 0, res.stderr[-2000:]
    after = {p: datahash(work / p) for p in before}
    runs = json.loads(invoke("--store", str(store), "runs", "--json"))
    old, new = sorted(runs, key=lambda r: r["started"])
    res = run(
        [
            sys.executable,
            "-m",
            "iscc_lineage",
            "--store",
            str(store),
            "diff",
            "--json",
            old["id"],
            new["id"],
        ],
        tmp_path,
    )
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    steps = {s["key"]: s for s in doc["steps"]}
    for key, s in steps.items():
        if key.startswith(("to_zarr", "measure")):
            assert s["causes"] == [
                {"kind": "params", "name": "pixel_size_um", "before": 0.65, "after": 0.5}
            ], s
        elif s["verdict"] not in ("only-a", "same"):
            assert {c["kind"] for c in s["causes"]} == {"inputs"}, s
    assert "non-deterministic" not in {s["verdict"] for s in steps.values()}
    # exactly the outputs whose bytes changed (a changed zarr: its directory)
    changed = {p for p in before if before[p] != after[p]}
    listed = set(doc["changed_outputs"])
    assert {p for p in listed if not p.endswith(".ome.zarr")} == {
        p for p in changed if ".ome.zarr/" not in p
    }
    assert {p for p in listed if p.endswith(".ome.zarr")} == {
        p.split(".ome.zarr/")[0] + ".ome.zarr" for p in changed if ".ome.zarr/" in p
    }
    assert doc["first_diverging"].startswith(("to_zarr", "measure"))
