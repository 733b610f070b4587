"""Test helpers for the store: a writer process for kill and concurrency tests, store snapshots.

Run as a program, it records steps through the public :class:`Recorder` API, one transaction
each, and prints every step id after ``record_step`` has returned (so after its COMMIT)::

    python tests/helpers_store.py STORE WORKDIR RUN_ID N_STEPS
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from pathlib import Path

from iscc_lineage import Artifact, Recorder, open_store

USED_PER_STEP = 3
GENERATED_PER_STEP = 2
EDGES_PER_STEP = USED_PER_STEP + GENERATED_PER_STEP
FIXTURE_FILES = 8  #: distinct contents the writers share (content rows must not duplicate)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative name -> sha256 of its bytes): 'nothing written'."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def step_edge_counts(store: Path) -> dict[str, int]:
    """Step uid -> number of edges, read with plain sqlite3 (independent of our Store)."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return dict(
            db.execute(
                "SELECT s.uid, count(o.id) FROM step s LEFT JOIN observation o ON o.step_id = s.id"
                " GROUP BY s.id"
            ).fetchall()
        )
    finally:
        db.close()


def write(store: Path | str, workdir: Path, run_id: str, n_steps: int) -> None:
    """Record ``n_steps`` steps of USED_PER_STEP inputs and GENERATED_PER_STEP outputs."""
    workdir.mkdir(parents=True, exist_ok=True)
    files = []
    for k in range(FIXTURE_FILES):
        f = workdir / f"fixture{k}.dat"
        f.write_bytes(bytes([k + 1]) * (1000 + k))
        files.append(f)
    with open_store(store) as st:
        rec = Recorder(st)
        fps = [a.fingerprint for a in rec.artifacts(files)]
        rec.begin_run(run_id=run_id, workdir=workdir, workflow="kill-test")
        for i in range(n_steps):
            used = [
                Artifact(f"{workdir}/{i}/in{k}.dat", fps[(i + k) % FIXTURE_FILES])
                for k in range(USED_PER_STEP)
            ]
            made = [
                Artifact(f"{workdir}/{i}/out{k}.dat", fps[(i + k + 3) % FIXTURE_FILES])
                for k in range(GENERATED_PER_STEP)
            ]
            step = rec.record_step(
                run_id, f"step{i}", inputs=used, outputs=made, step_id=f"{run_id}-{i:06d}"
            )
            print(step.id, flush=True)
        rec.finish_run(run_id)


if __name__ == "__main__":
    write(sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))  # a path or a URL
