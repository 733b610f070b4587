"""Benchmarks 7 to 9, lab scale: an OME-Zarr-like container, a PostgreSQL store, 4 writers.

``container``: a directory of many small chunk files (0/a/b/c, 100 per folder) fingerprinted
by ``iscc-lineage fingerprint --no-cache DIR`` against ``iscc-sum --tree --narrow DIR`` (whole
commands, alternating rounds, same ISCC checked), re-checked through the stat cache against
hashing it (in one process, alternating), and recorded as one step (write time and store
bytes per chunk, SQLite and PostgreSQL).

``pg-store``: the synthetic store of benchmark 5 at ``Preset.pg_store`` size, copied into a
private PostgreSQL server with ``store copy``; trace latency p50 there against the same
queries on the SQLite original (ratio PostgreSQL / SQLite, one run).

``pg-write``: 4 writer processes recording steps at once (one transaction per step) into one
PostgreSQL store, against the same 4 into one SQLite store.

The PostgreSQL server is the tests' private one (``tests/services.py``: initdb + pg_ctl in a
temporary folder), or ``$ISCC_LINEAGE_BENCH_PG`` (a URL of a server database that may be
emptied) when set. Without a server these rows say n/a and why.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.bench_store import _ensure, _pcts
from benchmarks.data import age
from benchmarks.measure import paired_ratio, python_child, run, tool
from benchmarks.presets import Preset
from benchmarks.report import Row, fmt_bytes, fmt_seconds, na_row
from iscc_lineage.store import open_store

__all__ = ["bench_container", "bench_pg_store", "bench_pg_write"]

TESTS = Path(__file__).resolve().parent.parent / "tests"


@contextmanager
def postgres() -> Iterator[tuple[Any, str | None]]:
    """(server or None, why not): a private server for the duration, or the env's URL."""
    url = os.environ.get("ISCC_LINEAGE_BENCH_PG")
    if url:
        yield None, None
        return
    sys.path.insert(0, str(TESTS))
    try:
        import services  # type: ignore[import-not-found]
    except ImportError as exc:  # pragma: no cover - the tests folder travels with benchmarks
        yield None, f"tests/services.py not importable ({exc})"
        return
    if services.pg_bindir() is None:
        yield None, "PostgreSQL server binaries not installed (.ci/services.sh installs them)"
        return
    try:
        server = services.start_postgres()
    except BaseException as exc:  # pytest.skip (no postgres user) is a BaseException
        yield None, f"PostgreSQL did not start: {str(exc).splitlines()[0][:160]}"
        return
    try:
        yield server, None
    finally:
        server.stop()


def _new_db(server: Any, prefix: str) -> str:
    if server is None:
        url = os.environ["ISCC_LINEAGE_BENCH_PG"]
        return url
    return str(server.url(server.new_database(prefix)))


def _db_bytes(server: Any, url: str) -> int | None:
    if server is None:
        return None
    return int(server.psql("SELECT pg_database_size(current_database())", db=url.rsplit("/", 1)[1]))


# -- the container -------------------------------------------------------------------------------


def chunk_tree(data: Path, n: int, size: int) -> Path:
    """``n`` chunk files of ``size`` random bytes as ``0/a/b/c`` (100 per folder), made once."""
    root = data / f"zarr-{n}x{size}"
    done = data / f"zarr-{n}x{size}.complete"
    if done.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    paths = []
    for i in range(n):
        p = root / "0" / str(i // 10_000) / str(i // 100 % 100) / str(i % 100)
        if i % 100 == 0:
            p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(size))
        paths.append(p)
    (root / ".zarray").write_text('{"zarr_format": 2}\n')
    age([*paths, root / ".zarray"])
    done.touch()
    return root


def bench_container(p: Preset, data: Path) -> list[Row]:
    n, size = p.container
    what = f"{n:,} chunk files \u00d7 {fmt_bytes(size)} in 0/a/b/c folders"
    root = chunk_tree(data, n, size)
    lineage, iscc_sum = tool("iscc-lineage"), tool("iscc-sum")
    rows = []
    if lineage and iscc_sum:
        ours, theirs = [], []
        for _ in range(p.repeats):
            ours.append(run([lineage, "fingerprint", "--no-cache", str(root)]))
            theirs.append(run([iscc_sum, "--tree", "--narrow", str(root)]))
        row = Row(
            "container",
            "`iscc-lineage fingerprint --no-cache DIR` (whole command)",
            what,
            [s.wall for s in ours],
            [s.rss_kib for s in ours],
            "`iscc-sum --tree --narrow DIR`",
            [s.wall for s in theirs],
        )
        row.ratio = paired_ratio(row.samples, row.ref_samples)
        row.ratio_label = "time"
        row.judge("<=", 1.0)
        row.extra["bytes"] = n * size
        a, b = ours[0].stdout.split()[0], theirs[0].stdout.split()[0]
        if a != b:
            row.note = f"iscc-lineage printed {a}, iscc-sum {b}"
            row.met = False
        row.profile = ["-m", "iscc_lineage", "fingerprint", "--no-cache", str(root)]
        rows.append(row)
    else:
        rows.append(
            na_row(
                "container",
                "`iscc-lineage fingerprint DIR`",
                what,
                "iscc-lineage or iscc-sum CLI not found next to this Python",
            )
        )
    got = run(
        python_child("tree-cache", root=str(root), workdir=str(data), repeats=p.repeats),
        parse_json=True,
    )
    a = got.answer
    row = Row(
        "container",
        "re-check via stat cache (fingerprint_tree, cache hit)",
        what,
        a["cached"],
        [got.rss_kib],
        "hashing it (fingerprint_tree, no cache)",
        a["hashed"],
    )
    row.ratio = paired_ratio(row.ref_samples, row.samples)
    row.ratio_label = "speed"
    row.judge(">=", 20)
    row.note = (
        "a hit still stats every chunk (a content change keeps the folder's mtime), "
        f"so its floor is {n:,} stat calls: {fmt_seconds(a['stat_seconds'])} here "
        "(os.walk + os.stat in Python); the hashing reference reads page-cached bytes "
        "(the tree was just read), a cold-cache read is slower and the ratio higher"
    )
    row.profile = python_child("tree-cache", root=str(root), workdir=str(data), repeats=1)[1:]
    rows.append(row)
    with postgres() as (server, why):
        targets = [("SQLite", str(data / "container-record.db"))]
        if why is None:
            targets.append(("PostgreSQL", _new_db(server, "container")))
        for label, loc in targets:
            if label == "SQLite":
                Path(loc).unlink(missing_ok=True)
            empty = _db_bytes(server, loc) if label != "SQLite" else 0
            got = run(python_child("tree-record", root=str(root), store=loc), parse_json=True)
            b = got.answer
            nbytes = (
                b["bytes"]
                if b["bytes"] is not None
                else (_db_bytes(server, loc) or 0) - (empty or 0)
            )
            r = Row(
                "container",
                f"record the container as one step output ({label})",
                what,
                [b["seconds"]],
                [got.rss_kib],
                "fingerprinting it (no cache)",
                [b["hash_seconds"]],
            )
            r.ratio = paired_ratio(r.samples, r.ref_samples)
            r.ratio_label = "time"
            r.judge("<=", 1.0)
            r.measured = f"{fmt_seconds(b['seconds'])}, store " + (
                f"{fmt_bytes(nbytes)} ({nbytes / n:.0f} B per chunk)" if nbytes else "size n/a"
            )
            r.note = "one member row per chunk (trace from a chunk to its container needs it)" + (
                "; bytes added to an empty database" if label != "SQLite" else ""
            )
            rows.append(r)
        if why is not None:
            rows.append(na_row("container", "record the container (PostgreSQL)", what, why))
    return rows


# -- PostgreSQL: trace latency ---------------------------------------------------------------


def bench_pg_store(p: Preset, data: Path) -> list[Row]:
    files, steps, runs = p.pg_store
    with postgres() as (server, why):
        what = f"synthetic store asked {files:,} files / {steps:,} steps / {runs:,} runs"
        if why is not None:
            return [na_row("pg-store", "PostgreSQL trace latency", what, why)]
        shaped = dataclasses.replace(p, store=p.pg_store)
        db, meta, _ = _ensure(shaped, data)
        url = _new_db(server, "big")
        lineage = tool("iscc-lineage") or "iscc-lineage"
        t0 = time.perf_counter()
        subprocess.run(
            [lineage, "store", "copy", "-q", str(db), url],
            check=True,
            capture_output=True,
            timeout=6 * 3600,
        )
        copy_s = time.perf_counter() - t0
        c = meta["counts"]
        size = (
            f"{c['content']:,} contents, {c['step']:,} steps, {c['run']:,} runs, "
            f"{c['observation']:,} edges"
        )
        nbytes = _db_bytes(server, url)
        rows = [
            Row(
                "pg-store",
                "`store copy` SQLite \u2192 PostgreSQL",
                size,
                measured=f"{fmt_seconds(copy_s)}, "
                f"{c['observation'] / copy_s:,.0f} edges/s"
                + (
                    f", {fmt_bytes(nbytes)} in PostgreSQL (SQLite {fmt_bytes(meta['bytes'])})"
                    if nbytes
                    else ""
                ),
            )
        ]
        side = str(db.with_suffix(".json"))
        opens = []
        for _ in range(10):  # what every command pays before its first query
            t0 = time.perf_counter()
            open_store(url, create=False).close()
            opens.append(time.perf_counter() - t0)
        connect = statistics.median(opens)
        pg = run(
            python_child("store-query", path=url, meta=side, queries=p.queries), parse_json=True
        ).answer
        lite = run(
            python_child("store-query", path=str(db), meta=side, queries=p.queries), parse_json=True
        ).answer
        for key, name in (
            ("trace", "trace latency on PostgreSQL (open + trace)"),
            ("impact", "impact latency on PostgreSQL (open + impact)"),
        ):
            secs, ref = pg[key]["seconds"], lite[key]["seconds"]
            walked = statistics.median(pg[key]["steps"])
            row = Row(
                "pg-store",
                name,
                f"{size}; {len(secs)} random files, lineage of {walked:,.0f} steps (median)",
                secs,
                [],
                "the same on SQLite",
                ref,
                measured=_pcts(secs),
            )
            row.ratio = statistics.median(secs) / statistics.median(ref)
            row.ratio_label = "time"
            row.goal = "p50 \u2264 50 ms"
            row.met = statistics.median(secs) <= 0.050
            row.note = (
                f"of which opening the store (TCP connect, SCRAM password "
                f"authentication, schema check) is {fmt_seconds(connect)} (median)"
            )
            if pg[key]["steps"] != lite[key]["steps"]:
                row.note += "; PostgreSQL and SQLite walked different lineages"
                row.met = False
            rows.append(row)
        if files < 1_000_000:
            rows[-1].note = (rows[-1].note + "; " if rows[-1].note else "") + (
                f"sized to {files:,} files (not 10^6, which `make bench-lab` runs: generating "
                "and copying 10^6 takes longer than a `make bench` on this machine allows)"
            )
        return rows


# -- PostgreSQL: 4 concurrent writers ---------------------------------------------------------


def _writers(store: str, work: Path, n: int, steps: int) -> float:
    """Wall seconds for ``n`` writer processes recording ``steps`` steps each, at once."""
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            python_child(
                "write-steps",
                store=store,
                workdir=str(work / f"w{k}"),
                run_id=f"bench-w{k}",
                steps=steps,
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(n)
    ]
    outs = [pr.communicate(timeout=3600) for pr in procs]
    seconds = time.perf_counter() - t0
    bad = [e for pr, (_, e) in zip(procs, outs, strict=True) if pr.returncode]
    if bad:
        raise RuntimeError(f"a writer failed: {bad[0][-500:]}")
    return seconds


def bench_pg_write(p: Preset, data: Path) -> list[Row]:
    n, steps = 4, p.write_steps
    what = f"{n} processes \u00d7 {steps:,} steps (3 inputs, 2 outputs each), one at a time"
    with postgres() as (server, why):
        if why is not None:
            return [na_row("pg-write", "4 concurrent writers into PostgreSQL", what, why)]
        pg_s, lite_s = [], []
        for _ in range(min(p.repeats, 3)):
            url = _new_db(server, "write")
            with tempfile.TemporaryDirectory(dir=data) as tmp:
                pg_s.append(_writers(url, Path(tmp), n, steps))
            with tempfile.TemporaryDirectory(dir=data) as tmp:
                lite_s.append(_writers(str(Path(tmp) / "lineage.db"), Path(tmp), n, steps))
        row = Row(
            "pg-write",
            "4 concurrent writers into one PostgreSQL store",
            what,
            pg_s,
            [],
            "the same 4 into one SQLite store",
            lite_s,
        )
        row.ratio = paired_ratio(row.samples, row.ref_samples)
        row.ratio_label = "time"
        total = n * steps
        row.measured = (
            f"{fmt_seconds(statistics.median(pg_s))}, "
            f"{total / statistics.median(pg_s):,.0f} steps/s "
            f"(SQLite {total / statistics.median(lite_s):,.0f} steps/s)"
        )
        row.note = "wall time includes the writers' start-up (imports)"
        return [row]
