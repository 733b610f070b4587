"""Where the time goes in a benchmark that missed its goal: a profile of the same work.

cProfile sees the main thread only, so fingerprint_many rows are profiled file by file; a
command's start-up is broken down with ``-X importtime``. The Snakemake plugin works on
Snakemake's log-listener thread and its own pool, so it is sampled with py-spy instead.
"""

from __future__ import annotations

import io
import os
import pstats
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from benchmarks.measure import run, tool

__all__ = ["ensure_py_spy", "profile", "spy"]

OURS = ("iscc_lineage/", "snakemake_logger_plugin_iscc/")  #: frames of our code (py-spy paths)

THREADS_NOTE = (
    "Note: cProfile records the main thread only: fingerprint_many rows are profiled"
    " with one fingerprint_path call per file (sequential=true) instead of the"
    " pool; time on a pool thread would show as waiting.\n"
)


def _imports(args: list[str], env: dict[str, str], cwd: Path, top: int) -> str:
    """The slowest imports (cumulative µs) of ``python <args>``."""
    got = run(
        [sys.executable, "-X", "importtime", *args],
        cwd=cwd,
        env=env,
        capture=False,
        keep_stderr=True,
    )
    rows = []
    for line in got.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    rows.sort(reverse=True)
    return "".join(f"{us / 1000:9.1f} ms  {name}\n" for us, name in rows[:top])


def profile(args: list[str], out: Path, top: int = 30) -> Path:
    """Run ``python <args>`` under cProfile; write the top functions to ``out`` (text)."""
    with tempfile.TemporaryDirectory() as tmp:
        prof = Path(tmp) / "run.prof"
        # No store: the CLI must hash, as in the timed runs.
        env = {**os.environ, "ISCC_LINEAGE_STORE": str(Path(tmp) / "none.db")}
        run([sys.executable, "-m", "cProfile", "-o", str(prof), *args], cwd=Path(tmp), env=env)
        text = io.StringIO()
        text.write(f"python {' '.join(args)}\n\n{THREADS_NOTE}\n== by cumulative time ==\n")
        stats = pstats.Stats(str(prof), stream=text)
        stats.strip_dirs()
        stats.sort_stats("cumulative").print_stats(top)
        text.write("\n== by own time ==\n")
        stats.sort_stats("tottime").print_stats(top)
        text.write("\n== slowest imports (cumulative, with what they import) ==\n")
        text.write(_imports(args, env, Path(tmp), 25))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text.getvalue())
    return out


def ensure_py_spy(install: bool) -> str | None:
    """py-spy (samples every thread, unlike cProfile), pip-installed here when allowed."""
    found = tool("py-spy")
    if found or not install:
        return found
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "py-spy"],
        capture_output=True,
        check=False,
    )
    return tool("py-spy")


def spy(
    py_spy: str,
    argv: list[str],
    out: Path,
    *,
    cwd: Path,
    env: dict[str, str],
    ours: tuple[str, ...] = OURS,
    top: int = 25,
) -> Path:
    """Sample ``argv`` (all threads) with py-spy; write per-thread and per-function shares."""
    out.parent.mkdir(parents=True, exist_ok=True)
    folded = out.with_suffix(".folded")
    run(
        [
            py_spy,
            "record",
            "--rate",
            "200",
            "--threads",
            "--format",
            "raw",
            "-o",
            str(folded),
            "--",
            *argv,
        ],
        cwd=cwd,
        env=env,
    )
    threads: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = mine = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        threads[re.sub(r"thread \(\w+\): ", "", frames[0])] += n
        own = {f for f in frames[1:] if any(o in f for o in ours)}
        mine += n if own else 0
        for f in own:
            inclusive[f] += n
        leaf[frames[-1]] += n
    folded.unlink()
    text = io.StringIO()
    text.write(f"py-spy record (all threads, 200 Hz, idle excluded): {' '.join(argv)}\n\n")
    text.write(
        f"{total} samples; {mine} ({100 * mine / max(1, total):.1f}%) with our code "
        f"({', '.join(ours)}) on the stack\n\n== samples per thread ==\n"
    )
    text.writelines(f"{n:7d}  {name}\n" for name, n in threads.most_common(top))
    text.write("\n== our functions, inclusive samples ==\n")
    text.writelines(f"{n:7d}  {name}\n" for name, n in inclusive.most_common(top))
    text.write("\n== leaf functions (where the CPU was), all code ==\n")
    text.writelines(f"{n:7d}  {name}\n" for name, n in leaf.most_common(top))
    out.write_text(text.getvalue())
    return out
