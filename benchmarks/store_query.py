"""Trace and impact latency on a generated store, through the library call a user makes.

Each query opens the store, walks, and closes it (what one ``iscc-lineage trace`` pays,
minus start-up and rendering). Random targets come from the generator's uniform samples.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from iscc_lineage.lineage import impact, trace
from iscc_lineage.model import Lineage
from iscc_lineage.store import Store, open_store

__all__ = ["query"]

Walk = Callable[[Store, str], Lineage]


def _timed(path: Path | str, fn: Walk, datahash: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    store = open_store(path, create=False)
    lin = fn(store, datahash)
    store.close()
    return time.perf_counter() - t0, len(lin.steps)


def query(path: Path | str, meta: dict[str, Any], queries: int, repeats: int = 3) -> dict[str, Any]:
    """Latencies (seconds) and lineage sizes (steps) for every kind of query."""
    t = meta["targets"]
    rng = random.Random(2)
    _timed(path, trace, t["generated"][0])  # first touch of the file: not counted
    out: dict[str, Any] = {}
    kinds: list[tuple[str, Walk, list[str]]] = [
        ("trace", trace, rng.sample(t["generated"], min(queries, len(t["generated"])))),
        ("impact", impact, rng.sample(t["raw"], min(queries, len(t["raw"])))),
        ("deep", trace, [t["deep"]] * repeats),
        ("wide", trace, [t["wide"]] * repeats),
        ("hot", impact, [t["hot"]] * repeats),
    ]
    for name, fn, targets in kinds:
        got = [_timed(path, fn, h) for h in targets]
        out[name] = {"seconds": [s for s, _ in got], "steps": [n for _, n in got]}
    out["seconds"] = sum(sum(v["seconds"]) for v in out.values())
    return out
