"""In-process tasks, each run in a fresh interpreter: ``python -m benchmarks.child TASK JSON``.

A task times only its own work (start-up and imports excluded) and prints one JSON line with
``seconds`` and whatever else it measured; the parent adds wall time and peak RSS.
"""

from __future__ import annotations

import importlib
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import iscc_lib as il

from iscc_lineage.codes import fingerprint_file, fingerprint_many, fingerprint_path
from iscc_lineage.errors import FingerprintError
from iscc_lineage.model import Fingerprint
from iscc_lineage.store import Store

__all__ = ["TASKS", "main"]

READ = 1 << 20


def _set(folder: str) -> list[Path]:
    return sorted(Path(folder).glob("*.bin"))


def task_file(path: str) -> dict[str, Any]:
    """iscc-lineage's one-file call."""
    t0 = time.perf_counter()
    fp = fingerprint_file(Path(path))
    return {"seconds": time.perf_counter() - t0, "iscc": fp.iscc, "datahash": fp.datahash}


def task_raw(path: str) -> dict[str, Any]:
    """The engine alone, as notes/iscc.md §3 calls it: SumHasher fed 1 MiB reads."""
    t0 = time.perf_counter()
    h = il.SumHasher()
    with open(path, "rb") as f:
        while b := f.read(READ):
            h.update(b)
    r = h.finalize(bits=256, add_units=True)
    iscc = il.gen_iscc_code_v0(list(r["units"]))["iscc"]
    return {"seconds": time.perf_counter() - t0, "iscc": iscc, "datahash": r["datahash"]}


def task_many(folder: str, sequential: bool = False) -> dict[str, Any]:
    """fingerprint_many over a folder of files, no cache (default thread pool).

    ``sequential`` calls fingerprint_path per file instead, for cProfile (main thread only).
    """
    paths = _set(folder)
    t0 = time.perf_counter()
    if sequential:
        results: list[Fingerprint | FingerprintError] = [fingerprint_path(p) for p in paths]
    else:
        results = fingerprint_many(paths)
    seconds = time.perf_counter() - t0
    bad = [r for r in results if not isinstance(r, Fingerprint)]
    if bad:
        raise SystemExit(f"{len(bad)} files failed: {bad[0]}")
    return {"seconds": seconds, "files": len(paths)}


def task_cache(folder: str, workdir: str) -> dict[str, Any]:
    """Hash a folder, fill a fresh store's stat cache, then re-fingerprint through it."""
    paths = _set(folder)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        store = Store(str(Path(tmp) / "lineage.db"))
        t0 = time.perf_counter()
        hashed = fingerprint_many(paths)
        t_hash = time.perf_counter() - t0
        fingerprint_many(paths, cache=store)  # fills the cache
        t0 = time.perf_counter()
        cached = fingerprint_many(paths, cache=store)
        t_cached = time.perf_counter() - t0
        store.close()
        with sqlite3.connect(Path(tmp) / "lineage.db") as db:  # a guard, not library use
            entries = db.execute("SELECT count(*) FROM stat_cache").fetchone()[0]
    if cached != hashed:
        raise SystemExit("cached fingerprints differ from hashed ones")
    return {"seconds": t_cached, "hash_seconds": t_hash, "cache_entries": entries,
            "files": len(paths)}


def task_store_gen(path: str, files: int, steps: int, runs: int) -> dict[str, Any]:
    from benchmarks.store_gen import generate

    return generate(Path(path), files=files, steps=steps, runs=runs)


def task_store_query(path: str, meta: str, queries: int) -> dict[str, Any]:
    from benchmarks.store_query import query

    return query(Path(path), json.loads(Path(meta).read_text()), queries)


def task_crate(n_files: int) -> dict[str, Any]:
    bench_crate = importlib.import_module("benchmarks.bench_crate")  # written alongside

    t0 = time.perf_counter()
    answer = dict(bench_crate.run(n_files))
    answer.setdefault("call_seconds", time.perf_counter() - t0)
    return answer


TASKS: dict[str, Callable[..., dict[str, Any]]] = {
    "file": task_file,
    "raw": task_raw,
    "many": task_many,
    "cache": task_cache,
    "store-gen": task_store_gen,
    "store-query": task_store_query,
    "crate": task_crate,
}


def main(argv: list[str]) -> None:
    task, args = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    answer = TASKS[task](**args)
    sys.stdout.write(json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
