"""RO-Crate export at scale: time and peak memory of ``export_crate`` over a synthetic store.

``run(n_files)`` builds a store of ``n_files`` generated files (steps of ten outputs from one
raw input each, one Snakemake-shaped run; real ISCC-SUMs of short synthetic byte strings,
written through the Store API), then exports it in a fresh subprocess that reports its own
wall time and ``ru_maxrss``. No file exists on disk, so every data file is a ``#``-local
reference: the cost measured is the store reads, the graph and the JSON, not copying.

    python -m benchmarks.bench_crate 100000
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import iscc_lib as il

from iscc_lineage.model import Artifact, Fingerprint, Run, Step
from iscc_lineage.store import Store

__all__ = ["build_store", "run"]

PER_STEP = 10  #: outputs per step (the notes' synthetic crate has N/10 actions)
SUFFIXES = (".tif", ".csv", ".png", ".json", ".txt")

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from iscc_lineage.export.crate.build import export_crate, Meta
from iscc_lineage.store import Store
t1 = time.perf_counter()
s = Store(sys.argv[1], create=False)
summary = export_crate(s, Path(sys.argv[2]), meta=Meta(license="CC-BY-4.0"))
t2 = time.perf_counter()
print(json.dumps({"seconds": t2 - t1, "import_seconds": t1 - t0,
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "entities": summary.entities, "referenced": len(summary.referenced)}))
"""


def _fingerprint(i: int) -> Fingerprint:
    h = il.SumHasher()
    h.update(f"synthetic crate content {i}".encode())
    r = h.finalize(bits=256, add_units=True)
    data_code, instance_code = r["units"]
    return Fingerprint(
        il.gen_iscc_code_v0([data_code, instance_code])["iscc"],
        r["datahash"],
        int(r["filesize"]),
        data_code,
        instance_code,
    )


def build_store(path: Path, n_files: int) -> dict[str, Any]:
    """A store with one run whose steps generate ``n_files`` files in total."""
    t0 = time.perf_counter()
    store = Store(str(path))
    run_id = "b" * 32
    base = "/nonexistent/bench"
    store.insert_run(
        Run(
            run_id,
            f"{base}/workflow/Snakefile",
            base,
            "2026-01-01T00:00:00.000+00:00",
            "2026-01-01T01:00:00.000+00:00",
            "finished",
            info={"engine": "snakemake", "snakemake_version": "9.27.1"},
        )
    )
    n_steps = max(1, n_files // PER_STEP)
    counter = 0
    for k in range(n_steps):
        raw = Artifact(f"{base}/raw/r{k // 10:06d}.tif", _fingerprint(-(k // 10) - 1))
        outs = []
        for j in range(PER_STEP):
            counter += 1
            outs.append(
                Artifact(f"{base}/results/s{k:06d}/out{j}{SUFFIXES[j % 5]}", _fingerprint(counter))
            )
        minute = f"{(k // 60) % 60:02d}:{k % 60:02d}"
        step = Step(
            f"{k:032x}",
            run_id,
            "process",
            "process",
            f"tool {raw.path}",
            params={"sigma": 2.0},
            started=f"2026-01-01T00:{minute}.000+00:00",
            ended=f"2026-01-01T00:{minute}.500+00:00",
            info={"jobid": k, "wildcards": {"sample": f"s{k:06d}"}, "kind": "shell"},
        )
        store.insert_step(step, [raw], outs)
    store.close()
    return {"build_seconds": time.perf_counter() - t0, "files": counter, "steps": n_steps}


def run(n_files: int) -> dict[str, Any]:
    """Build a synthetic store of ``n_files`` files, export it, and measure the export.

    :return: ``seconds`` (export call), ``peak_rss_kib`` (of the exporting process),
        ``json_bytes``, ``entities``, plus the store build time (not part of the measure).
    """
    with tempfile.TemporaryDirectory(prefix="bench-crate-") as tmp:
        db = Path(tmp) / "lineage.db"
        built = build_store(db, n_files)
        out = Path(tmp) / "crate"
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(db), str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"export failed: {proc.stderr[-2000:]}")
        answer: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        answer["json_bytes"] = (out / "ro-crate-metadata.json").stat().st_size
        return {**built, **answer, "n_files": n_files}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000), indent=2))
