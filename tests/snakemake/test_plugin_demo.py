"""The bioimage demo pipeline under live capture: the panel traces back to the raw images.

``snakemake -s workflows/bioimage-demo/Snakefile -c2 --logger iscc --directory TMP``, then
``iscc-lineage trace results/figures/panel.png`` must pass through every rule upstream of the
panel down to the acquisitions, with each script's content fingerprinted.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import iscc_core as ic  # type: ignore[import-untyped]
import pytest
from demo_run import LiveDemo

from iscc_lineage.store import Store

pytestmark = pytest.mark.e2e

DEMO = Path(__file__).parents[2] / "workflows" / "bioimage-demo"
SAMPLES = ("s01", "s02", "s03")


def datahash(path: Path) -> str:
    return str(ic.gen_instance_code_v0(io.BytesIO(path.read_bytes()), bits=256)["datahash"])


@pytest.fixture(scope="module")
def demo(live_demo: LiveDemo) -> Path:
    """The demo run shared by the session (tests/conftest.py): its workdir, default store."""
    said = [ln for ln in live_demo.stderr.splitlines() if ln.startswith("iscc-lineage:")]
    assert [ln.split(" of run")[0] for ln in said] == ["iscc-lineage: recorded 17 steps"], said
    return live_demo.workdir


def test_every_job_is_a_step(demo: Path) -> None:
    with Store(str(demo / ".iscc-lineage" / "lineage.db"), create=False) as store:
        [run] = store.runs()
        steps = store.steps_of_run(run.id)
    assert run.status == "finished"
    # 18 jobs: 3 samples x 6 per-sample rules... minus `all`, which made nothing.
    assert Counter(s.name for s in steps) == {
        "acquire": 3,
        "correct": 3,
        "segment": 3,
        "to_zarr": 3,
        "measure": 3,
        "summary": 1,
        "panel": 1,
    }
    for s in steps:
        if s.name == "acquire":
            assert s.info["kind"] == "shell" and s.command and "acquire.py" in s.command
        else:
            script = DEMO / "scripts" / f"{s.name}.py"
            assert (s.info["kind"], s.code) == ("script", script.as_posix())
            assert s.code_datahash == datahash(script)
        assert s.environment["conda_env_file"] == (DEMO / "envs" / "demo.yaml").as_posix()


def test_panel_traces_to_the_raw_images_through_every_rule(demo: Path) -> None:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "iscc_lineage",
            "--store",
            str(demo / ".iscc-lineage" / "lineage.db"),
            "trace",
            "--json",
            "results/figures/panel.png",
        ],
        cwd=demo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    names = Counter(s["name"] for s in doc["steps"])
    assert names == {"panel": 1, "to_zarr": 3, "segment": 3, "correct": 3, "acquire": 3}
    raw = {
        (demo / "raw" / f"{s}.tif").as_posix(): datahash(demo / "raw" / f"{s}.tif") for s in SAMPLES
    }
    seen = {p: h for h, c in doc["contents"].items() for p in c["paths"]}
    assert {p: seen.get(p) for p in raw} == raw
    # The temp corrected images are gone from disk but are in the lineage with content.
    assert not (demo / "work" / "corrected").exists() or not any(
        (demo / "work" / "corrected").iterdir()
    )
    corrected = [e for s in doc["steps"] if s["name"] == "correct" for e in s["outputs"]]
    assert len(corrected) == 3 and all(e["datahash"] for e in corrected)


def test_verify_on_the_untouched_demo_run_passes(demo: Path) -> None:
    """The three temp() corrected images are gone as Snakemake meant: exit 0, not a failure;
    --strict keeps the old meaning (exit 1)."""

    def verify(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "iscc_lineage", "verify", *extra],
            cwd=demo,
            capture_output=True,
            text=True,
            check=False,
        )

    res = verify()
    assert res.returncode == 0, res.stdout + res.stderr
    gone = [ln for ln in res.stdout.splitlines() if ln.startswith("GONE")]
    assert len(gone) == 3 and all(
        "work/corrected/" in ln and "(temp, expected)" in ln for ln in gone
    )
    assert "3 gone (temp, expected)" in res.stdout
    assert verify("--strict").returncode == 1
    doc = json.loads(verify("--json").stdout)
    assert sorted(c["status"] for c in doc if c["status"] != "ok") == ["gone"] * 3


def test_params_by_name_nothing_dropped(demo: Path) -> None:
    """The demo's acquire rule: a function param, config values and a Path (which Snakemake's
    own metadata record drops as unrepresentable), all under the Snakefile's names."""
    with Store(str(demo / ".iscc-lineage" / "lineage.db"), create=False) as store:
        [run] = store.runs()
        steps = store.steps_of_run(run.id)
    seeds = {"s01": 101, "s02": 202, "s03": 303}  # config/config.yaml
    for s in (s for s in steps if s.name == "acquire"):
        assert s.params == {
            "seed": seeds[s.info["wildcards"]["sample"]],
            "height": 256,
            "width": 256,
            "script": (DEMO / "scripts" / "acquire.py").as_posix(),
        }
        [code] = [e for e in s.code_files if e.note == "code: shell"]
        assert code.path == (DEMO / "scripts" / "acquire.py").as_posix()
