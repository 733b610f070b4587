"""Figure search on the generated corpus: per edit kind found / ambiguous / wrong / missed, false
matches on negatives, for each threshold; capture and search timings; a 10^5-picture scan.

    python -m benchmarks.figures /tmp/corpus [--quick] [--build]

Evidence is collected once per query with the loosest thresholds; every policy is then decided
on the same evidence (so the sweep costs nothing extra). Each query is scored as:
found (the true original named, nothing wrong named), ambiguous (the true original among the
listed candidates, nothing wrongly named), wrong (any finding names another recorded content
that is not a sibling listed with it), missed (nothing).
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from iscc_lineage.codes.figcodes import (
    CodeIndex,
    FigureCodes,
    figure_codes,
    query_views,
    split_codes,
)
from iscc_lineage.codes.pictures import CODES_SCHEME, DETAIL_SCHEME, INDEX_SCHEME
from iscc_lineage.similar import Collected, Policy, collect, findings
from iscc_lineage.similar.evidence import Separator
from iscc_lineage.similar.separate import is_vector, separator

POLICIES = [
    Policy(),
    Policy(separate=False),
    Policy(sep_ratio=1.25),
    Policy(sep_ratio=2.0),
    Policy(sep_closer=0.65),
    Policy(sep_closer=0.85),
    Policy(global_ratio=1.1),
    Policy(global_ratio=1.35),
    Policy(sep_blocks=0.8),
    Policy(sep_blocks=1.0),
    Policy(max_unexplained_pixels=0.06),
    Policy(max_missing=1.0),
    Policy(max_missing=0.3),
    Policy(max_missing=0.2),
    Policy(max_missing=0.15),
    Policy(max_missing=0.1),
    Policy(max_missing=0.05),
    Policy(max_missing=0.02),
    Policy(max_missing=0.01),
    Policy(max_missing=0.005),
    Policy(max_unexplained=0.07),
    Policy(min_correlation=0.9),
]


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else None


def _record(
    root: Path, man: dict[str, Any]
) -> tuple[dict[int, bytes], dict[int, bytes], list[float], dict[int, str], dict[int, list[bytes]]]:
    index: dict[int, bytes] = {}
    full: dict[int, list[bytes]] = {}
    detail: dict[int, bytes] = {}
    names: dict[int, str] = {}
    times = []
    entries = [(n, e["path"]) for n, e in man["originals"].items()]
    entries += [(n, e["path"]) for n, e in man["siblings"].items()]
    for i, (name, rel) in enumerate(entries, 1):
        t = time.perf_counter()
        fc = figure_codes(root / rel)
        rows = dict(fc.rows())
        times.append(time.perf_counter() - t)
        ix, dv = rows[INDEX_SCHEME], rows[DETAIL_SCHEME]
        assert isinstance(ix, bytes) and isinstance(dv, bytes)
        index[i], detail[i], names[i] = ix, dv, name
        full[i] = split_codes(rows[CODES_SCHEME])
    return index, detail, times, names, full


def _rule_rivals(man: dict[str, Any], names: Mapping[int, str]) -> Any:
    """What ``Store.blob_rivals`` answers on a pipeline's store, as this corpus would be made:
    one rule per kind of figure (photo, fluorescence, panel figure, summary plot), making each
    original and its siblings (drift, parameter, seed) with its wildcards."""

    def rule(name: str) -> str:
        e = man["originals"].get(name) or man["originals"][man["siblings"][name]["of"]]
        return str(e["kind"])

    by_rule: dict[str, list[int]] = defaultdict(list)
    for i, n in names.items():
        by_rule[rule(n)].append(i)

    def rivals(ids: Sequence[int]) -> list[int]:
        own = set(ids)
        return sorted({r for i in ids for r in by_rule[rule(names[i])]} - own)

    return rivals


def _path_of(man: dict[str, Any], name: str) -> str:
    e = man["originals"].get(name) or man["siblings"][name]
    return str(e["path"])


def _separator(query: Path, c: Collected, by_id: Mapping[int, Path], thumbs: bool) -> Separator:
    from iscc_lineage.codes.compare import query_pages
    from iscc_lineage.codes.figcodes import PAPER_SIDE
    from iscc_lineage.codes.figure import CODE_SIDE

    side = PAPER_SIDE if query.suffix.lower() == ".pdf" else CODE_SIDE
    return separator(
        c,
        lambda: query_pages(query, side),
        lambda i: [] if thumbs else [by_id[i]],
        lambda i: is_vector(by_id[i]),
    )


def _score(found: Sequence[Any], truth: str | None, names: Mapping[int, str]) -> str:
    named = [names[f.match.content_id] for f in found if f.status == "match"]
    listed = [names[e.content_id] for f in found if f.status == "ambiguous" for e in f.candidates]
    if any(n != truth for n in named):
        return "wrong"
    if truth is None:
        return "clean" if not listed else "ambiguous-negative"
    if truth in named:
        return "found"
    if truth in listed:
        return "ambiguous"
    return "missed"


def main(argv: list[str]) -> None:
    root = Path(argv[0])
    if "--build" in argv or not (root / "manifest.json").exists():
        from benchmarks.figures_corpus import build

        build(root, quick="--quick" in argv)
    man = json.loads((root / "manifest.json").read_text())
    seps: dict[str, Separator] = {}
    if "--load" in argv:  # re-decide saved evidence (policy changes only)
        import pickle

        with open(root / "collected.pickle", "rb") as fh:
            collected, names, q_times, cap_times = pickle.load(fh)
        index = detail = {}
        ids = {i: root / _path_of(man, n) for i, n in names.items()}
        for rel, _t, _k, c in collected:
            seps[rel] = _separator(root / rel, c, ids, "--thumbs" in argv)
    else:
        index, detail, cap_times, names, full = _record(root, man)
        cache: dict[int, FigureCodes] = {}

        def details(ids: Sequence[int]) -> dict[int, FigureCodes]:
            for i in ids:
                if i not in cache:
                    cache[i] = FigureCodes.from_detail_value(detail[i])
            return {i: cache[i] for i in ids}

        idx = CodeIndex(index.items())
        rivals = _rule_rivals(man, names)
        queries = [(e["path"], e["of"], e["kind"]) for e in man["edits"]]
        queries += [(e["path"], None, "negative:" + e["kind"]) for e in man["negatives"]]
        if kinds := _option(argv, "--kinds"):  # e.g. --kinds crop25,jpeg,negative:crop25
            want = set(kinds.split(","))
            queries = [q for q in queries if q[2] in want or q[2].split(":")[0] in want]
        if sample := _option(argv, "--sample"):  # every n-th query (a quick subset)
            queries = queries[:: int(sample)]
        thumbs = "--thumbs" in argv  # as if every recorded file were gone: thumbnails only
        by_id = {i: root / _path_of(man, n) for i, n in names.items()}
        collected: list[tuple[str, str | None, str, Collected]] = []
        q_times = []
        for rel, truth, kind in queries:
            t = time.perf_counter()
            views = query_views(root / rel)
            c = collect(views, idx, details, lambda ids: {i: full[i] for i in ids}, rivals)
            seps[rel] = _separator(root / rel, c, by_id, thumbs)
            findings(c, Policy(), seps[rel])
            q_times.append(time.perf_counter() - t)
            collected.append((rel, truth, kind, c))
    if "--save" in argv:  # evidence for re-sweeping policies without recomputing it
        import pickle

        with open(root / "collected.pickle", "wb") as fh:
            pickle.dump((collected, names, q_times, cap_times), fh)
    print(
        f"corpus: {len(man['originals'])} originals + {len(man['siblings'])} siblings "
        f"recorded; {len(man['edits'])} edits, {len(man['negatives'])} negative queries"
    )
    rows = []
    for pol in POLICIES:
        per: dict[str, Counter[str]] = defaultdict(Counter)
        for rel, truth, kind, c in collected:
            s = _score(findings(c, pol, seps.get(rel)), truth, names)
            per["negatives" if truth is None else kind][s] += 1
            if truth is not None:
                per["ALL EDITS"][s] += 1
        rows.append((pol, per))
    print("\nthreshold sweep (all edits: found / ambiguous / wrong / missed; negatives: false)")
    for pol, per in rows:
        a, n = per["ALL EDITS"], per["negatives"]
        tot = sum(a.values())
        changed = ", ".join(
            f"{f.name}={getattr(pol, f.name)}"
            for f in dataclasses.fields(pol)
            if getattr(pol, f.name) != getattr(Policy(), f.name)
        )
        print(
            f"  {changed or 'defaults':<30} "
            f"found {a['found']:>3}/{tot} ({100 * a['found'] / tot:5.1f} %)  "
            f"ambiguous {a['ambiguous']:>3}  wrong {a['wrong']:>2}  missed {a['missed']:>3}"
            f"  | negatives: false {n['wrong']}/{sum(n.values())}"
        )
    default = Policy()
    per = next(p for pol, p in rows if pol == default) if default in POLICIES else rows[0][1]
    print(
        f"\nper edit kind at the defaults (inliers>={default.min_inliers}, "
        f"corr>={default.min_correlation}, margin {default.margin})"
    )
    print("| edit | n | found | ambiguous (right one listed) | wrong original | missed |")
    print("|---|---|---|---|---|---|")
    for kind in [*sorted(k for k in per if k not in ("ALL EDITS", "negatives")), "ALL EDITS"]:
        c = per[kind]
        print(
            f"| {kind} | {sum(c.values())} | {c['found']} | {c['ambiguous']} | "
            f"{c['wrong']} | {c['missed']} |"
        )
    n = per["negatives"]
    print(
        f"| negatives (false matches) | {sum(n.values())} | - | {n['ambiguous-negative']} | "
        f"{n['wrong']} | - |"
    )
    if "-v" in argv:
        for rel, truth, _kind, c in collected:
            s = _score(findings(c, default, seps.get(rel)), truth, names)
            if s not in ("found", "clean"):
                fs = findings(c, default, seps.get(rel))
                print(
                    s,
                    rel,
                    [
                        (
                            f.status,
                            [
                                (
                                    names[e.content_id],
                                    e.geometry.inliers,
                                    e.geometry.correlation,
                                    e.geometry.unexplained,
                                    e.residual,
                                    f.separation.get(e.content_id),
                                )
                                for e in f.candidates
                            ],
                            f.resolution,
                        )
                        for f in fs
                    ],
                )
    ms = [t * 1000 for t in cap_times]
    qs = [t * 1000 for t in q_times]
    if "--load" in argv or "--no-timing" in argv:
        return
    kib = statistics.median(len(v) for v in detail.values()) / 1024
    print(
        f"\ncapture per picture: median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms"
        f" ({len(ms)} pictures); detail {kib:.0f} KiB, index "
        f"{statistics.median(len(v) for v in index.values())} B (bytes)"
    )
    print(
        f"search per query (decode+views+verify): median {statistics.median(qs):.0f} ms, "
        f"p95 {sorted(qs)[int(0.95 * len(qs))]:.0f} ms"
    )
    scan(len(index), next(iter(index.values())))
    capture_2mp(root)
    if "--scale" in argv:
        store_scale(root, next(iter(index.values())), next(iter(detail.values())))


def capture_2mp(root: Path, runs: int = 7) -> None:
    """Capture of a 2 MP figure: decode, codes, keypoints, thumbnail (what record/the plugin
    add per picture), median of ``runs``; and a 2 MP PNG's peak memory is bounded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from benchmarks.figures_corpus import panel_figure

    fig = panel_figure(7, rows=2)
    fig.set_size_inches(16.3, 12.3)
    path = root / "capture-2mp.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    from PIL import Image

    with Image.open(path) as img:
        w, h = img.size
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        figure_codes(path).rows()
        times.append(time.perf_counter() - t)
    print(
        f"capture of a {w}x{h} ({w * h / 1e6:.1f} MP) figure: median "
        f"{statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms "
        f"(machine load {os.getloadavg()[0]:.1f})"
    )


def store_scale(root: Path, index_value: bytes, detail_value: bytes, n: int = 100_000) -> None:
    """``figure_search`` on a real SQLite store holding ``n`` coded pictures: synthetic index
    codes (random, as many regions as a real picture); a real detail value on every 50th
    (details of all 10^5 would take 7 GB here), so this times the coarse stage and the store
    reads; verification is bounded per view and timed on the corpus queries above."""
    from iscc_lineage.codes import fingerprint_bytes
    from iscc_lineage.model import Artifact
    from iscc_lineage.recorder import Recorder
    from iscc_lineage.similar import figure_search
    from iscc_lineage.store import open_store

    db = root / f"scale-{n}.db"
    rng = np.random.default_rng(3)
    per = len(index_value)
    if not db.exists():
        store = open_store(str(db))
        rec = Recorder(store)
        run = rec.begin_run(workflow="scale")
        arts = [
            Artifact(f"pics/p{i}.dat", fingerprint_bytes(i.to_bytes(8, "big"))) for i in range(n)
        ]
        rec.record_step(run, "make", outputs=arts)
        rows: list[tuple[str, str, str | bytes]] = []
        for a in arts:
            assert a.fingerprint is not None
            code = rng.integers(0, 256, per, np.uint8).tobytes()
            rows.append((a.fingerprint.datahash, INDEX_SCHEME, code))
            rows.append(
                (a.fingerprint.datahash, CODES_SCHEME, rng.integers(0, 256, 96, np.uint8).tobytes())
            )
            if len(rows) % 100 == 1:
                rows.append((a.fingerprint.datahash, DETAIL_SCHEME, detail_value))
        store.add_codes(rows)
        store.close()
    store = open_store(str(db))
    query = root / "edits" / "camera.crop25.png"
    times = []
    for _ in range(5):
        t = time.perf_counter()
        figure_search(store, query)
        times.append(time.perf_counter() - t)
    print(
        f"figure_search among {n} recorded pictures (real SQLite store, one-view query): "
        f"median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms "
        f"(machine load {os.getloadavg()[0]:.1f})"
    )


def scan(real: int, sample: bytes, n: int = 100_000) -> None:
    """Time the coarse stage among ``n`` pictures: decoding the index rows and 5 view probes."""
    rng = np.random.default_rng(1)
    per = len(sample) // 9
    rows = [(i, rng.integers(0, 256, 9 * per, np.uint8).tobytes()) for i in range(n)]
    t = time.perf_counter()
    idx = CodeIndex(rows)
    build = time.perf_counter() - t
    probes = [rng.integers(0, 256, 32, np.uint8).tobytes() for _ in range(5)]
    times = []
    for _ in range(5):
        t = time.perf_counter()
        idx.nearest(probes, 24)
        times.append(time.perf_counter() - t)
    print(
        f"coarse index over {n} pictures x {per} regions: build {build * 1000:.0f} ms, "
        f"5-view probe median {statistics.median(times) * 1000:.0f} ms "
        f"(machine load {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
