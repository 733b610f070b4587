"""The benchmark command runs end to end and prints its table (its timings are not judged)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
GROUPS = {
    "fingerprint-one",
    "fingerprint-many",
    "stat-cache",
    "plugin",
    "store",
    "crate",
    "pixels",
    "figures",
    "container",
    "pg-store",
    "pg-write",
}

Result = tuple[subprocess.CompletedProcess[str], dict[str, Any]]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Result:
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "results" / "tiny.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--tiny",
            "--no-install",
            "--no-profile",
            "--data",
            str(tmp / "data"),
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    doc = json.loads(out.read_text()) if out.exists() else {}
    return proc, doc


@pytest.mark.e2e
def test_exits_0_and_prints_a_table(tiny: Result) -> None:
    proc, _ = tiny
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    head = "| benchmark | input | measured (median, min\u2013max) | peak RSS | reference | ratio"
    assert any(line.startswith(head) for line in lines), proc.stdout
    assert lines[0].startswith("**tiny run"), lines[0]
    assert "fingerprint_file (in-process)" in proc.stdout


@pytest.mark.e2e
def test_json_has_every_benchmark(tiny: Result) -> None:
    _, doc = tiny
    assert doc["mode"] == "tiny"
    assert {r["group"] for r in doc["rows"]} == GROUPS
    assert not [r for r in doc["rows"] if r["note"].startswith("error")]
    by_name = {r["name"]: r for r in doc["rows"]}
    one = by_name["fingerprint_file (in-process)"]
    assert len(one["samples"]) == 1 and one["samples"][0] > 0
    assert "disagree" not in one["note"]  # the benchmark compared our code with the engine's


@pytest.mark.e2e
@pytest.mark.skipif(not os.access("/usr/bin/time", os.X_OK), reason="needs GNU time")
def test_peak_rss_is_per_process(tiny: Result) -> None:
    # `cat` (a small C program) must not inherit the runner's Python-sized RSS high-water mark.
    _, doc = tiny
    by_name = {r["name"]: r for r in doc["rows"]}
    cat = max(by_name["`cat FILE > /dev/null` (memory-read floor)"]["rss_kib"])
    python = max(by_name["fingerprint_file (in-process)"]["rss_kib"])
    assert cat < 8 * 1024 < python
