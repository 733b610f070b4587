"""Pixel identity end to end: a real ``snakemake --logger iscc`` run with and without
``--logger-iscc-pixels``, and an OME-Zarr copy made outside the pipeline (as a repository
converts a deposit) whose trace reaches the CZI's acquisition step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

TESTS = Path(__file__).resolve().parents[1]
SNAKEFILE = TESTS / "workflows" / "pixels" / "Snakefile"
sys.path.insert(0, str(TESTS))
import pixel_data as pd  # noqa: E402


def _env(store: Path) -> dict[str, str]:
    return {**os.environ, "ISCC_LINEAGE_STORE": str(store)}


def _snakemake(work: Path, *flags: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ISCC_LINEAGE_STORE"}
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(SNAKEFILE),
            "-c1",
            "--logger",
            "iscc",
            "--logger-iscc-store",
            "lineage.db",
            *flags,
            "--config",
            f"helpers={TESTS}",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]


def _cli(work: Path, *args: str, check: int = 0) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        [sys.executable, "-m", "iscc_lineage", *args],
        cwd=work,
        env=_env(work / "lineage.db"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == check, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def _json(work: Path, *args: str) -> Any:
    return json.loads(_cli(work, *args, "--json").stdout)


def _deposit(work: Path) -> Path:
    """The repository's OME-Zarr (0.5) of the converted OME-TIFF, made outside the lineage."""
    import tifffile

    data = tifffile.imread(work / "conv" / "a.ome.tif")
    return pd.write_ome_zarr(work / "deposit" / "a.ome.zarr", data, "0.5")


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("pylibCZIrw", reason="pylibCZIrw (the CZI writer) is not installed")
    work = tmp_path_factory.mktemp("pixels")
    _snakemake(work, "--logger-iscc-pixels")
    _deposit(work)
    return work


def test_trace_of_the_zarr_copy_reaches_the_czi_acquisition(captured: Path) -> None:
    text = _cli(captured, "trace", "deposit/a.ome.zarr").stdout
    assert "same pixels as raw/a.czi" in text and "(different file)" in text
    doc = _json(captured, "trace", "deposit/a.ome.zarr")
    assert [s["name"] for s in doc["steps"]] == ["acquire"]
    assert [Path(p).name for p in doc["same_pixels"]["paths"]] == ["a.czi"]


def test_the_run_recorded_pixel_codes_and_the_czi_metadata(captured: Path) -> None:
    czi = _json(captured, "show", "raw/a.czi")["file"]
    assert [c["name"] for c in czi["images"][0]["metadata"]["channels"]] == ["DAPI", "GFP"]
    assert {Path(c["paths"][0]).name for c in czi["same_pixels"]} == {"a.ome.tif"}
    mask = _json(captured, "show", "results/mask.tif")["file"]
    assert mask["images"][0]["pixel_id"] != czi["images"][0]["pixel_id"]
    # the analysis result traces through the conversion to the acquisition
    doc = _json(captured, "trace", "results/mask.tif")
    assert [s["name"] for s in doc["steps"]] == ["segment", "convert", "acquire"]


def test_without_the_flag_nothing_is_coded_until_reindex(tmp_path: Path) -> None:
    pytest.importorskip("pylibCZIrw", reason="pylibCZIrw (the CZI writer) is not installed")
    _snakemake(tmp_path)
    _deposit(tmp_path)
    assert "not pixel-coded yet" in _cli(tmp_path, "show", "raw/a.czi").stdout
    _cli(tmp_path, "trace", "deposit/a.ome.zarr", check=1)  # no pixel codes: not found
    out = _json(tmp_path, "reindex", "--pixels")
    assert {Path(o["path"]).name for o in out["outcomes"]} == {"a.czi", "a.ome.tif", "mask.tif"}
    doc = _json(tmp_path, "trace", "deposit/a.ome.zarr")
    assert [s["name"] for s in doc["steps"]] == ["acquire"]
