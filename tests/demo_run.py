"""The bioimage demo pipeline run once under live capture: one real Snakemake run shared by the
tests that only read it (``live_demo`` in tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "workflows" / "bioimage-demo"


@dataclass(frozen=True)
class LiveDemo:
    """The run's working directory, its default store and Snakemake's stderr."""

    workdir: Path
    store: Path  #: ``workdir/.iscc-lineage/lineage.db``
    stderr: str  #: with the plugin's closing line


def run_demo(work: Path) -> LiveDemo:
    """``snakemake -s workflows/bioimage-demo/Snakefile -c2 --logger iscc --directory WORK``
    with ``ISCC_LINEAGE_STORE`` unset, so the plugin writes the default store in the workdir."""
    env = {k: v for k, v in os.environ.items() if k != "ISCC_LINEAGE_STORE"}
    res = subprocess.run(
        [
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
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return LiveDemo(work, work / ".iscc-lineage" / "lineage.db", res.stderr)
