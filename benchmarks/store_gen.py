"""A synthetic lineage store of realistic shape, written through the public recording API.

Each run looks like a bioimaging pipeline: a calibration step on one of a few *hot* reference
files (used by many runs), per-sample chains raw → denoise → segment → measure → qc (raw files
drawn, half of the time, from a shared pool with a skewed reuse), fan-ins that aggregate the
tables of five samples, and a figure from all aggregates. One extra run is a 100-step deep
chain; another makes one figure from 1,000 tables of other runs (wide). Fingerprints are real
ISCC-SUMs of short synthetic byte strings, so no large files are hashed.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

import iscc_lib as il

from iscc_lineage.model import Artifact, Fingerprint, Step
from iscc_lineage.recorder import Recorder
from iscc_lineage.store import Store, now

__all__ = ["generate", "shape"]

GROUP = 5  #: samples per aggregate step
HOT = 10  #: reference files (flat-fields) shared by all runs
SIDE = ("log", "benchmark.tsv", "qc.json", "stats.json", "params.yaml", "thumb.png")
RESERVOIR = 500  #: query targets kept per kind


class _Gen:
    def __init__(self, rec: Recorder, seed: int) -> None:
        self.rec = rec
        self.rng = random.Random(seed)
        self.count = 0
        self.seen: dict[int, int] = {}
        self.generated: list[str] = []
        self.raw: list[str] = []
        self.tables: list[Artifact] = []
        self.tables_seen = 0

    def fp(self) -> Fingerprint:
        """A real fingerprint of a unique short byte string."""
        self.count += 1
        h = il.SumHasher()
        h.update(f"synthetic content {self.count}".encode())
        r = h.finalize(bits=256, add_units=True)
        d, i = r["units"]
        return Fingerprint(
            il.gen_iscc_code_v0([d, i])["iscc"], r["datahash"], int(r["filesize"]), d, i
        )

    def art(self, path: str, kind: str = "generated") -> Artifact:
        a = Artifact(path, self.fp())
        assert a.fingerprint is not None
        if kind != "hot":  # hot files are queried on their own (not all of them get used)
            self._keep(self.generated if kind == "generated" else self.raw, a.fingerprint.datahash)
        return a

    def _keep(self, pool: list[str], value: str) -> None:
        """Reservoir sampling: a uniform sample of targets without keeping them all."""
        seen = self.seen[id(pool)] = self.seen.get(id(pool), 0) + 1
        if len(pool) < RESERVOIR:
            pool.append(value)
        else:
            j = self.rng.randrange(seen)
            if j < RESERVOIR:
                pool[j] = value

    def step(
        self,
        run: str,
        name: str,
        inputs: list[Artifact],
        outputs: list[Artifact],
        job: int,
        sample: str | None = None,
    ) -> None:
        wildcards = {"sample": sample} if sample else {}
        # The store's own insert_step (one transaction, as Recorder.record_step makes it),
        # without the recorder's picture-code lookups: these paths are not files, and the
        # two has_code queries per step were 2/3 of the generation time (157 of 233 s for
        # 5x10^4 files under load).
        step = Step(
            uuid.uuid4().hex,
            run,
            name,
            name,
            f"python scripts/{name}.py {' '.join(a.path for a in inputs[:3])}",
            params={"sigma": 2.0, "threshold": "otsu"} if name == "segment" else {},
            ended=now(),
            info={
                "jobid": job,
                "wildcards": wildcards,
                "threads": 1,
                "kind": "shell",
                "resources": {"mem_mb": 1000},
            },
        )
        self.rec.store.insert_step(step, inputs, outputs)


def shape(files: int, steps: int, runs: int) -> dict[str, int]:
    """Per-run sizes that add up to about ``files`` / ``steps`` / ``runs``."""
    deep = min(100, max(10, steps // 20))
    normal = max(1, runs - 2)
    spr = max(7, (steps - deep - 1) // normal)
    fpr = max(10, (files - deep - HOT) // normal)
    n = max(1, (spr - 2) * GROUP // (4 * GROUP + 1))
    aggregates = math.ceil(n / GROUP)
    per_step = max(1, round((fpr - 4 - n / 2 - 2 * aggregates) / (4 * n)))
    return {
        "normal_runs": normal,
        "samples": n,
        "aggregates": aggregates,
        "outputs_per_step": per_step,
        "deep": deep,
        "pool": max(1, normal * n // 4),
        "wide": 1000,
    }


def _normal_run(
    g: _Gen,
    r: int,
    s: dict[str, int],
    hot: list[Artifact],
    hot_uses: list[int],
    pool: dict[int, Artifact],
) -> None:
    rng = g.rng
    base = f"/work/project/run{r:04d}"
    run = g.rec.begin_run(
        workdir=base,
        workflow="/work/project/workflow/Snakefile",
        command="snakemake -c2 --logger iscc",
        info={"engine": "snakemake"},
    )
    h = rng.randrange(HOT)
    hot_uses[h] += 1
    flat = g.art(f"{base}/results/calibration/flatfield.tif")
    g.step(run, "calibrate", [hot[h]], [flat, g.art(f"{base}/logs/calibrate.log")], 0)
    job = 1
    tables = []
    for k in range(s["samples"]):
        name = f"s{k:03d}"
        if rng.random() < 0.5:  # half the raw files come from a shared pool, skewed reuse
            idx = int(s["pool"] * rng.random() ** 3)
            if idx not in pool:
                pool[idx] = g.art(f"/data/raw/pool/img{idx:06d}.tif", "raw")
            raw = pool[idx]
        else:
            raw = g.art(f"{base}/raw/{name}.tif", "raw")
        prev = raw
        for rule, ins in (("denoise", []), ("segment", [flat]), ("measure", []), ("qc", [])):
            main = g.art(f"{base}/results/{rule}/{name}.{'csv' if rule == 'measure' else 'tif'}")
            side = [
                g.art(f"{base}/results/{rule}/{name}.{ext}")
                for ext in SIDE[: s["outputs_per_step"] - 1]
            ]
            g.step(run, rule, [prev, *ins], [main, *side], job, name)
            job += 1
            if rule == "measure":
                tables.append(main)
                g.tables_seen += 1
                if len(g.tables) < s["wide"]:
                    g.tables.append(main)
                elif (j := rng.randrange(g.tables_seen)) < s["wide"]:
                    g.tables[j] = main
            prev = main
    summaries = []
    for a in range(s["aggregates"]):
        out = g.art(f"{base}/results/aggregate/group{a:02d}.csv")
        g.step(
            run,
            "aggregate",
            tables[a * GROUP : (a + 1) * GROUP],
            [out, g.art(f"{base}/logs/aggregate{a:02d}.log")],
            job,
        )
        summaries.append(out)
        job += 1
    g.step(
        run,
        "figure",
        summaries,
        [g.art(f"{base}/results/figure.png"), g.art(f"{base}/results/figure.pdf")],
        job,
    )
    g.rec.finish_run(run)


def generate(path: Path, *, files: int, steps: int, runs: int, seed: int = 1) -> dict[str, Any]:
    """Write the store to ``path`` (via a temporary name) and a ``.json`` sidecar describing it.

    :return: the sidecar: generation seconds, row counts, size on disk, query targets.
    """
    s = shape(files, steps, runs)
    part = path.with_name(path.name + ".part")
    for p in (part, Path(f"{part}-wal"), Path(f"{part}-shm")):
        p.unlink(missing_ok=True)
    t0 = time.perf_counter()
    store = Store(str(part))
    g = _Gen(Recorder(store, use_cache=False), seed)
    hot = [g.art(f"/data/reference/flatfield{h}.tif", "hot") for h in range(HOT)]
    hot_uses = [0] * HOT
    pool: dict[int, Artifact] = {}
    for r in range(s["normal_runs"]):
        _normal_run(g, r, s, hot, hot_uses, pool)
    # One deep lineage: a 100-step chain.
    run = g.rec.begin_run(workdir="/work/project/deep", workflow="/work/project/deep/Snakefile")
    prev = g.art("/work/project/deep/raw/start.tif", "raw")
    for i in range(s["deep"]):
        out = g.art(f"/work/project/deep/results/step{i:03d}.tif")
        g.step(run, f"refine{i:03d}", [prev], [out], i)
        prev = out
    deep_end = prev
    g.rec.finish_run(run)
    # One wide lineage: a figure made from (up to) 1,000 tables of other runs.
    run = g.rec.begin_run(workdir="/work/paper", workflow="/work/paper/Snakefile")
    wide = g.art("/work/paper/figures/figure1.png")
    g.step(run, "paper_figure", g.tables, [wide], 0)
    g.rec.finish_run(run)
    stats = store.stats()
    store.close()
    seconds = time.perf_counter() - t0
    part.rename(path)
    top = max(range(HOT), key=lambda h: hot_uses[h])
    hot_fp = hot[top].fingerprint
    assert deep_end.fingerprint and wide.fingerprint and hot_fp
    meta = {
        "seconds": seconds,
        "requested": {"files": files, "steps": steps, "runs": runs},
        "shape": s,
        "counts": stats,
        "bytes": os.path.getsize(path),
        "targets": {
            "generated": g.generated,
            "raw": g.raw,
            "deep": deep_end.fingerprint.datahash,
            "deep_steps": s["deep"],
            "wide": wide.fingerprint.datahash,
            "wide_inputs": len(g.tables),
            "hot": hot_fp.datahash,
            "hot_runs": hot_uses[top],
        },
    }
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    return meta
