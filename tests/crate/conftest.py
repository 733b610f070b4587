"""Fixtures for the RO-Crate tests: an offline rocrate-validator and recorded stores."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from crate_helpers import (
    CACHE_MISS,
    CONTEXTS,
    Demo,
    Project,
    Validate,
    invoke,
    seed_validator_cache,
)
from demo_run import LiveDemo

#: Runs in a subprocess: the validator's HTTP session is a per-process singleton, and its CLI
#: cannot write a JSON report for a zip (0.13: "Object of type URI is not JSON serializable").
_VALIDATE = """
import json, sys
from rocrate_validator import services
r = services.validate({"rocrate_uri": sys.argv[1], "profile_identifier": sys.argv[2],
                       "requirement_severity": sys.argv[3], "offline": True,
                       "cache_path": sys.argv[4]})
print(json.dumps({"passed": r.passed(), "issues": [
    {"check": i.check.identifier, "severity": i.severity.name, "message": i.message,
     "entity": i.violatingEntity} for i in r.get_issues()]}, default=str))
"""


@pytest.fixture(scope="session")
def validator_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A seeded validator cache path (without the ``.sqlite`` suffix)."""
    path = str(tmp_path_factory.mktemp("rocv") / "http_cache")
    seed_validator_cache(path, CONTEXTS)
    return path


@pytest.fixture(scope="session")
def validate(validator_cache: str) -> Validate:
    """Run the real rocrate-validator on a crate (folder or zip), offline; return
    ``{"passed": bool, "issues": [{check, severity, message, entity}]}``.

    A cache miss fails the test: offline, it would otherwise read as an invalid crate.
    """
    pytest.importorskip("rocrate_validator")

    def run(
        crate: Path, level: str = "REQUIRED", profile: str = "provenance-run-crate-0.5"
    ) -> dict[str, Any]:
        proc = subprocess.run(
            [sys.executable, "-c", _VALIDATE, str(crate), profile, level, validator_cache],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert CACHE_MISS not in proc.stdout + proc.stderr, proc.stderr[-3000:]
        assert proc.returncode == 0, proc.stderr[-3000:]
        doc: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        return doc

    return run


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A chain recorded with ``iscc-lineage record`` into run ``r1`` (no snakemake):

    raw/img.tif (a real TIFF) + ../outside/ref.csv -> results/table.csv (a command, a param)
    -> results/figure.png (a script, --code) -> results/figure-annotated.png (a manual step);
    raw/img.tif -> results/tiles/ (a folder output).
    """
    import numpy as np
    import tifffile
    from PIL import Image

    proj, outside = tmp_path / "proj", tmp_path / "outside"
    (proj / "raw").mkdir(parents=True)
    (proj / "scripts").mkdir()
    (proj / "results").mkdir()
    outside.mkdir()
    store = tmp_path / "lineage.db"
    monkeypatch.chdir(proj)
    monkeypatch.setenv("ISCC_LINEAGE_STORE", str(store))
    rng = np.random.default_rng(7)
    tifffile.imwrite(proj / "raw" / "img.tif", rng.integers(0, 4000, (64, 64), dtype=np.uint16))
    (outside / "ref.csv").write_text("sample,scale\nimg,0.65\n")
    py = sys.executable
    invoke(
        "record",
        "--run",
        "r1",
        "-n",
        "measure",
        "-i",
        "raw/img.tif",
        "-i",
        str(outside / "ref.csv"),
        "-o",
        "results/table.csv",
        "-p",
        "sigma=2",
        "--",
        py,
        "-c",
        "open('results/table.csv', 'w').write('label,area\\n1,42\\n2,17\\n')",
    )
    (proj / "scripts" / "plot.py").write_text(
        "import sys\nfrom PIL import Image\nImage.new('L', (32, 16), 200).save(sys.argv[1])\n"
    )
    invoke(
        "record",
        "--run",
        "r1",
        "-n",
        "plot",
        "-i",
        "results/table.csv",
        "-o",
        "results/figure.png",
        "--code",
        "scripts/plot.py",
        "--",
        py,
        "scripts/plot.py",
        "results/figure.png",
    )
    invoke(
        "record",
        "--run",
        "r1",
        "-n",
        "tiles",
        "-i",
        "raw/img.tif",
        "-o",
        "results/tiles",
        "--",
        py,
        "-c",
        "import os; os.makedirs('results/tiles'); "
        "[open(f'results/tiles/t{i}.bin', 'wb').write(bytes([i]) * 300) for i in range(3)]",
    )
    Image.new("L", (32, 16), 90).save(proj / "results" / "figure-annotated.png")
    invoke(
        "record",
        "--run",
        "r1",
        "-n",
        "annotate in Fiji",
        "-i",
        "results/figure.png",
        "-o",
        "results/figure-annotated.png",
    )
    return Project(proj, store, outside)


@pytest.fixture(scope="session")
def demo(live_demo: LiveDemo) -> Demo:
    """The demo pipeline run once under live capture (tests/conftest.py ``live_demo``)."""
    return Demo(live_demo.workdir, live_demo.store)
