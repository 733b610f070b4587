"""Benchmarks 1 to 3: one large file, many files, and re-fingerprinting through the stat cache.

Rounds alternate the contenders (A, B, C, A, B, C, …) so slow drift of a shared machine hits
all of them alike; ratios are medians of per-round ratios.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from benchmarks.data import file_set, random_file, warm
from benchmarks.measure import Sample, paired_ratio, python_child, run, tool
from benchmarks.presets import Preset
from benchmarks.report import Row, fmt_bytes, na_row

__all__ = ["bench_cache", "bench_many", "bench_one", "ensure_b3sum"]

Argv = Callable[[], list[str]]


def ensure_b3sum(install: bool) -> tuple[str | None, str]:
    """``b3sum`` on PATH, installed from Debian's package when missing and allowed (root)."""
    found = tool("b3sum")
    if found:
        return found, ""
    if not install:
        return None, "b3sum not installed (--no-install)"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, "b3sum not installed, and not root with apt-get to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "b3sum"]
    ok = subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    if not ok:  # the package lists may be missing or stale: refresh once
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        ok = subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    found = tool("b3sum")
    return (found, "installed with apt-get") if found else (None, "apt-get install b3sum failed")


def _rounds(
    contenders: dict[str, Argv], repeats: int, json_keys: Sequence[str] = ()
) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {k: [] for k in contenders}
    for _ in range(repeats):
        for key, argv in contenders.items():
            out[key].append(run(argv(), parse_json=key in json_keys))
    return out


def _row(
    group: str,
    name: str,
    input_: str,
    got: list[Sample],
    nbytes: int,
    *,
    reference: str = "—",
    ref: list[Sample] | None = None,
    label: str = "",
    invert: bool = False,
) -> Row:
    """A row; ``ratio`` is ours / reference time, or reference / ours (speed) when ``invert``."""
    row = Row(
        group,
        name,
        input_,
        [s.seconds for s in got],
        [s.rss_kib for s in got],
        reference,
        extra={"bytes": nbytes},
    )
    if ref:
        row.ref_samples = [s.seconds for s in ref]
        mine = row.samples
        row.ratio = (
            paired_ratio(row.ref_samples, mine) if invert else paired_ratio(mine, row.ref_samples)
        )
        row.ratio_label = label or ("speed" if invert else "time")
    return row


def bench_one(p: Preset, data: Path, install: bool) -> list[Row]:
    """Benchmark 1: one large page-cached file through every contender."""
    big = random_file(data, p.big)
    warm([big])
    size = fmt_bytes(p.big) + " random, page-cached"
    lineage, iscc_sum = tool("iscc-lineage"), tool("iscc-sum")
    b3sum, b3_note = ensure_b3sum(install)
    tmp = Path(tempfile.mkdtemp(prefix="cli-", dir=data))
    env = {**os.environ, "ISCC_LINEAGE_STORE": str(tmp / "no-store.db")}  # no store: no cache
    contenders: dict[str, Argv] = {
        "file": lambda: python_child("file", path=str(big)),
        "raw": lambda: python_child("raw", path=str(big)),
        "cat": lambda: ["cat", str(big)],
        "sha256sum": lambda: ["sha256sum", str(big)],
    }
    if lineage:
        contenders["cli"] = lambda: [lineage, "fingerprint", str(big)]
    if iscc_sum:
        contenders["iscc-sum"] = lambda: [iscc_sum, "--narrow", str(big)]
    if b3sum:
        contenders["b3sum"] = lambda: [b3sum, str(big)]
    got: dict[str, list[Sample]] = {k: [] for k in contenders}
    try:
        for _ in range(p.repeats):
            for key, argv in contenders.items():
                cwd, e = (tmp, env) if key == "cli" else (None, None)
                got[key].append(
                    run(
                        argv(),
                        cwd=cwd,
                        env=e,
                        parse_json=key in ("file", "raw"),
                        capture=key != "cat",
                    )
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    g = "fingerprint-one"
    rows = [
        _row(
            g,
            "fingerprint_file (in-process)",
            size,
            got["file"],
            p.big,
            reference="raw iscc-lib SumHasher, 1 MiB reads",
            ref=got["raw"],
            invert=True,
        )
    ]
    rows[0].judge(">=", 0.95)
    rows[0].profile = python_child("file", path=str(big))[1:]
    same = {s.answer["iscc"] for s in got["file"] + got["raw"]}
    if len(same) != 1:
        rows[0].note = f"fingerprint_file and raw SumHasher disagree: {sorted(same)}"
        rows[0].met = False
    rows.append(_row(g, "raw iscc-lib SumHasher (in-process)", size, got["raw"], p.big))
    if "cli" in got and "iscc-sum" in got:
        cli = _row(
            g,
            "`iscc-lineage fingerprint FILE` (whole command)",
            size,
            got["cli"],
            p.big,
            reference="`iscc-sum --narrow FILE`",
            ref=got["iscc-sum"],
        )
        cli.judge("<=", 0.75)
        cli.profile = ["-m", "iscc_lineage", "fingerprint", str(big)]
        ours = got["cli"][0].stdout.split()[0]
        theirs = got["iscc-sum"][0].stdout.split()[0]
        if ours != theirs:
            cli.note = f"iscc-lineage printed {ours}, iscc-sum --narrow {theirs}"
            cli.met = False
        rows.append(cli)
    else:
        rows.append(
            na_row(
                g,
                "`iscc-lineage fingerprint FILE`",
                size,
                "iscc-lineage or iscc-sum CLI not found next to this Python",
            )
        )
    if "cli" not in got:
        return rows
    for key, name in (
        ("iscc-sum", "`iscc-sum --narrow` CLI"),
        ("sha256sum", "coreutils `sha256sum`"),
        ("b3sum", "`b3sum` (BLAKE3, multi-threaded)"),
        ("cat", "`cat FILE > /dev/null` (memory-read floor)"),
    ):
        if key in got:
            rows.append(
                _row(
                    g,
                    name,
                    size,
                    got[key],
                    p.big,
                    reference="`iscc-lineage fingerprint`",
                    ref=got["cli"],
                )
            )
            if key == "b3sum":
                rows[-1].note = "b3sum maps the file into memory: its RSS counts the file's pages"
        else:
            rows.append(na_row(g, name, size, b3_note if key == "b3sum" else f"{key} missing"))
    return rows


def bench_many(p: Preset, data: Path) -> list[Row]:
    """Benchmark 2: fingerprint_many on large and on small files vs one stream of their bytes."""
    rows = []
    for (n, size), op, bound in ((p.many_large, ">=", 1.8), (p.many_small, "<=", 2.0)):
        fs = file_set(data, n, size)
        warm([fs.stream, *fs.paths])
        got = _rounds(
            {
                "many": partial(python_child, "many", folder=str(fs.paths[0].parent)),
                "one": partial(python_child, "file", path=str(fs.stream)),
            },
            p.repeats,
            ("many", "one"),
        )
        text = f"{n:,} \u00d7 {fmt_bytes(size)} ({fmt_bytes(fs.total)})"
        ref = f"fingerprint_file of the same bytes as one {fmt_bytes(fs.total)} file"
        row = _row(
            "fingerprint-many",
            f"fingerprint_many, {n:,} files",
            text,
            got["many"],
            fs.total,
            reference=ref,
            ref=got["one"],
            invert=op == ">=",
        )
        row.judge(op, bound)
        row.profile = python_child("many", folder=str(fs.paths[0].parent), sequential=True)[1:]
        if op == ">=" and (os.cpu_count() or 1) != 2:
            row.note = f"goal set for 2 cores; this machine has {os.cpu_count()}"
        rows.append(row)
    return rows


def bench_cache(p: Preset, data: Path) -> list[Row]:
    """Benchmark 3: re-fingerprint unchanged (old) files through a store's stat cache."""
    rows = []
    for n, size in (p.many_large, p.many_small):
        fs = file_set(data, n, size)
        warm(fs.paths)
        folder = str(fs.paths[0].parent)
        got = [
            run(python_child("cache", folder=folder, workdir=str(data)), parse_json=True)
            for _ in range(p.repeats)
        ]
        text = f"{n:,} \u00d7 {fmt_bytes(size)} ({fmt_bytes(fs.total)}), mtime 1 h old"
        row = Row(
            "stat-cache",
            f"re-fingerprint via stat cache, {n:,} files",
            text,
            [s.seconds for s in got],
            [s.rss_kib for s in got],
            "fingerprint_many hashing them",
            [float(s.answer["hash_seconds"]) for s in got],
        )
        row.ratio = paired_ratio(row.ref_samples, row.samples)
        row.ratio_label = "speed"
        row.judge(">=", 100)
        row.profile = python_child("cache", folder=folder, workdir=str(data))[1:]
        missing = [s.answer["cache_entries"] for s in got if s.answer["cache_entries"] != n]
        if missing:
            row.note = f"only {missing[0]} of {n} files entered the cache"
            row.met = False
        rows.append(row)
    return rows
