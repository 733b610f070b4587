"""``python -m benchmarks [--quick] [--only NAME]``: run the benchmarks, print the table.

Progress goes to stderr; the Markdown table to stdout and, with the raw numbers, to
``benchmarks/results/{latest,quick}.json`` (plus a ``.md`` copy of the table).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from benchmarks.bench_figures import bench_figures
from benchmarks.bench_fingerprint import bench_cache, bench_many, bench_one
from benchmarks.bench_lab import bench_container, bench_pg_store, bench_pg_write
from benchmarks.bench_pixels import bench_pixels
from benchmarks.bench_plugin import bench_plugin
from benchmarks.bench_store import bench_store
from benchmarks.data import DEFAULT_DATA
from benchmarks.measure import median, python_child, run
from benchmarks.presets import PRESETS, Preset
from benchmarks.profile import profile
from benchmarks.report import Row, fmt_bytes, fmt_seconds, header, machine, markdown, na_row

RESULTS = Path(__file__).resolve().parent / "results"
CRATE_GOAL = 10.0  #: seconds for the export of the full size
TIME_KEYS = ("export_seconds", "seconds", "build_seconds")  #: bench_crate's own timing


def bench_crate(p: Preset, data: Path) -> list[Row]:
    """Benchmark 6: RO-Crate export of a recorded run of many files (benchmarks/bench_crate)."""
    what = f"run with {p.crate_files:,} files"
    name = "RO-Crate export"
    try:  # written by another hand; may not exist yet
        importlib.import_module("benchmarks.bench_crate")
    except ImportError:
        return [
            na_row("crate", name, what, "not available yet: benchmarks/bench_crate.py is missing")
        ]
    got = [
        run(python_child("crate", n_files=p.crate_files), parse_json=True, timeout=3600)
        for _ in range(min(p.repeats, 3))
    ]
    key = next((k for k in TIME_KEYS if k in got[0].answer), "call_seconds")
    first = got[0].answer
    if "steps" in first:
        what += f" in {first['steps']:,} steps"
    row = Row(
        "crate",
        name,
        what,
        [float(s.answer[key]) for s in got],
        [s.rss_kib for s in got],
        extra={"answers": [s.answer for s in got]},
    )
    if "json_bytes" in first:
        row.measured = (
            f"{fmt_seconds(median(row.samples))}"
            + (
                f" ({fmt_seconds(min(row.samples))}\u2013{fmt_seconds(max(row.samples))})"
                if len(got) > 1
                else ""
            )
            + f", ro-crate-metadata.json {fmt_bytes(first['json_bytes'])}"
        )
    if "build_seconds" in first:
        row.note = (
            f"export call only; building the synthetic store took "
            f"{fmt_seconds(float(first['build_seconds']))} (not timed). Peak RSS is the "
            "larger of the store builder and the exporting process"
        )
    row.goal = f"≤ {CRATE_GOAL:g} s"
    row.met = median(row.samples) <= CRATE_GOAL
    row.profile = python_child("crate", n_files=p.crate_files)[1:]
    if key == "call_seconds":
        row.note = "bench_crate.run gave no own timing: the whole call (set-up included) is timed"
    return [row]


BENCHES: dict[str, Callable[[Preset, Path, argparse.Namespace], list[Row]]] = {
    "fingerprint-one": lambda p, d, a: bench_one(p, d, install=a.install),
    "fingerprint-many": lambda p, d, a: bench_many(p, d),
    "stat-cache": lambda p, d, a: bench_cache(p, d),
    "plugin": lambda p, d, a: bench_plugin(
        p,
        d,
        install=a.install,
        profile_out=_results(a) / f"{_stem(a)}-profile-plugin.txt" if a.profile else None,
    ),
    "store": lambda p, d, a: bench_store(p, d),
    "crate": lambda p, d, a: bench_crate(p, d),
    "pixels": lambda p, d, a: bench_pixels(p, d),
    "figures": lambda p, d, a: bench_figures(p, d),
    "container": lambda p, d, a: bench_container(p, d),
    "pg-store": lambda p, d, a: bench_pg_store(p, d),
    "pg-write": lambda p, d, a: bench_pg_write(p, d),
}


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, < 1 min (CI smoke)")
    size.add_argument("--tiny", action="store_true", help="toy sizes, for the test only")
    ap.add_argument(
        "--only",
        action="append",
        choices=list(BENCHES),
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHES)}",
    )
    ap.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="where inputs and generated stores are kept [benchmarks/.data]",
    )
    ap.add_argument(
        "--lab",
        action="store_true",
        help="the PostgreSQL trace rows on the full synthetic store (10^6 files, the one of "
        "benchmark 5, generated once) instead of 2x10^5 (`make bench-lab`)",
    )
    ap.add_argument("--json", type=Path, help="write results here [benchmarks/results/…]")
    ap.add_argument(
        "--no-install",
        dest="install",
        action="store_false",
        help="do not apt-get install b3sum when it is missing",
    )
    ap.add_argument(
        "--no-profile",
        dest="profile",
        action="store_false",
        help="do not profile benchmarks that miss their goal",
    )
    ap.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="print the table of an earlier run's JSON; run nothing",
    )
    return ap.parse_args(argv)


def _mode(a: argparse.Namespace) -> str:
    return "tiny" if a.tiny else "quick" if a.quick else "full"


def _results(a: argparse.Namespace) -> Path:
    return Path(a.json).parent if a.json else RESULTS


def _stem(a: argparse.Namespace) -> str:
    """Output name: latest (full) / quick / tiny, plus the --only names, or --json's."""
    if a.json:
        return str(Path(a.json).stem)
    stem = "latest" if _mode(a) == "full" else _mode(a)
    return stem + ("-" + "-".join(a.only) if a.only else "")


def _say(text: str) -> None:
    sys.stderr.write(f"benchmarks: {text}\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    a = _args(argv)
    if a.render:
        doc = json.loads(a.render.read_text())
        earlier = [Row.from_dict(r) for r in doc["rows"]]
        sys.stdout.write(markdown(header(doc["machine"], doc["mode"]), earlier))
        return 0
    mode = _mode(a)
    a.data = Path(a.data).resolve()
    p = PRESETS[mode]
    if a.lab:
        p = dataclasses.replace(p, pg_store=p.store)
    names = a.only or list(BENCHES)
    for stale in _results(a).glob(f"{_stem(a)}-profile-*"):  # from an earlier run of this kind
        stale.unlink()
    load_start = list(os.getloadavg())
    rows: list[Row] = []
    failed = False
    t_all = time.perf_counter()
    for i, name in enumerate(names, 1):
        _say(f"[{i}/{len(names)}] {name} ({mode}) …")
        t0 = time.perf_counter()
        try:
            rows += BENCHES[name](p, a.data, a)
        except Exception as exc:  # one broken benchmark must not hide the others
            failed = True
            traceback.print_exc()
            rows.append(
                na_row(
                    name,
                    name,
                    "—",
                    f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
                )
            )
        _say(f"    done in {fmt_seconds(time.perf_counter() - t0)}")
    results, stem = _results(a), _stem(a)
    for k, r in enumerate(rows, 1):
        if r.met is False and r.profile and a.profile:
            out = results / f"{stem}-profile-{k:02d}-{r.group}.txt"
            _say(f"profiling missed goal: {r.name} -> {out}")
            try:
                profile(r.profile, out)
                r.note = (r.note + "; " if r.note else "") + f"goal missed: profile in {out.name}"
            except Exception as exc:
                r.note = (r.note + "; " if r.note else "") + f"profiling failed: {exc}"
    m = machine()
    m["loadavg_start"], m["loadavg_end"] = load_start, list(os.getloadavg())
    table = markdown(header(m, mode), rows)
    sys.stdout.write(table)
    results.mkdir(parents=True, exist_ok=True)
    doc = {
        "mode": mode,
        "machine": m,
        "preset": asdict(p),
        "seconds": time.perf_counter() - t_all,
        "rows": [r.to_dict() for r in rows],
    }
    (results / f"{stem}.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
    (results / f"{stem}.md").write_text(table)
    _say(f"wrote {results / (stem + '.json')} in {fmt_seconds(time.perf_counter() - t_all)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
