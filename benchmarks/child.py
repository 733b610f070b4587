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
    return {
        "seconds": t_cached,
        "hash_seconds": t_hash,
        "cache_entries": entries,
        "files": len(paths),
    }


def task_store_gen(path: str, files: int, steps: int, runs: int) -> dict[str, Any]:
    from benchmarks.store_gen import generate

    return generate(Path(path), files=files, steps=steps, runs=runs)


def task_store_query(path: str, meta: str, queries: int) -> dict[str, Any]:
    from benchmarks.store_query import query

    where = path if "://" in path else Path(path)  # a server URL is not a path
    return query(where, json.loads(Path(meta).read_text()), queries)


def task_crate(n_files: int) -> dict[str, Any]:
    bench_crate = importlib.import_module("benchmarks.bench_crate")  # written alongside

    t0 = time.perf_counter()
    answer = dict(bench_crate.run(n_files))
    answer.setdefault("call_seconds", time.perf_counter() - t0)
    return answer


def task_tree_cache(root: str, workdir: str, repeats: int) -> dict[str, Any]:
    """fingerprint_tree hashing vs re-checked through a filled stat cache, alternating."""
    import os

    from iscc_lineage.codes import fingerprint_tree

    tree = Path(root)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        store = Store(str(Path(tmp) / "lineage.db"))
        first = fingerprint_tree(tree, cache=store)  # fills the cache
        hashed, cached = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            a = fingerprint_tree(tree)
            hashed.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            b = fingerprint_tree(tree, cache=store)
            cached.append(time.perf_counter() - t0)
            if a != first or b != first:
                raise SystemExit("cached tree fingerprint differs from the hashed one")
        store.close()
    t0 = time.perf_counter()
    for dirpath, _, names in os.walk(tree):
        for name in names:
            os.stat(os.path.join(dirpath, name))
    return {
        "seconds": statistics_median(cached),
        "hashed": hashed,
        "cached": cached,
        "stat_seconds": time.perf_counter() - t0,
        "members": len(first.members),
    }


def statistics_median(values: list[float]) -> float:
    import statistics

    return float(statistics.median(values))


def task_tree_record(root: str, store: str) -> dict[str, Any]:
    """Fingerprint a tree (no cache), then record it as one step's output; both timed."""
    import os

    from iscc_lineage import Artifact, Recorder, open_store
    from iscc_lineage.codes import fingerprint_tree

    t0 = time.perf_counter()
    fp = fingerprint_tree(Path(root))
    hash_seconds = time.perf_counter() - t0
    st = open_store(store)
    rec = Recorder(st, use_cache=False)
    run = rec.begin_run(workdir=root)
    t0 = time.perf_counter()
    rec.record_step(run, "zarr", outputs=[Artifact(root, fp)])
    seconds = time.perf_counter() - t0
    st.close()
    size = os.path.getsize(store) if "://" not in store else None
    return {
        "seconds": seconds,
        "hash_seconds": hash_seconds,
        "bytes": size,
        "members": len(fp.members),
    }


def task_write_steps(store: str, workdir: str, run_id: str, steps: int) -> dict[str, Any]:
    """One writer of the concurrency benchmark: ``steps`` steps, one transaction each."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from helpers_store import write  # type: ignore[import-not-found]

    t0 = time.perf_counter()
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        write(store, Path(workdir), run_id, steps)
    return {"seconds": time.perf_counter() - t0}


TASKS: dict[str, Callable[..., dict[str, Any]]] = {
    "file": task_file,
    "raw": task_raw,
    "many": task_many,
    "cache": task_cache,
    "store-gen": task_store_gen,
    "store-query": task_store_query,
    "crate": task_crate,
    "tree-cache": task_tree_cache,
    "tree-record": task_tree_record,
    "write-steps": task_write_steps,
}


def main(argv: list[str]) -> None:
    task, args = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    answer = TASKS[task](**args)
    sys.stdout.write(json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
