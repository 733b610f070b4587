"""Benchmark 4: what ``--logger iscc`` adds to a real ``snakemake -c2`` run.

Runs alternate without / with the plugin, each in a fresh copy of the workflow from
``benchmarks/plugin_workflow.py``; the ratio is the median of per-pair time ratios.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.measure import BenchError, Sample, paired_ratio, run, tool
from benchmarks.presets import Preset
from benchmarks.profile import ensure_py_spy, spy
from benchmarks.report import Row, fmt_bytes, na_row

__all__ = ["bench_plugin"]


def _recorded_steps(store: Path) -> int:
    from iscc_lineage.store import open_store

    if not store.exists():
        return 0
    with open_store(store, create=False) as s:
        return s.stats()["step"]


def bench_plugin(
    p: Preset, data: Path, *, profile_out: Path | None = None, install: bool = False
) -> list[Row]:
    """Time ``snakemake -c2`` with and without ``--logger iscc`` over the same workflow.

    :param profile_out: when the goal is missed, sample one more run with py-spy into it.
    """
    jobs = p.plugin_jobs
    what = f"{jobs}-job workflow, `snakemake -c2`, {p.plugin_pairs} pair(s)"
    name = "Snakemake plugin overhead (`--logger iscc`)"
    try:  # written by another hand; may not exist yet
        plugin_workflow = importlib.import_module("benchmarks.plugin_workflow")
    except ImportError:
        return [
            na_row(
                "plugin", name, what, "not available yet: benchmarks/plugin_workflow.py is missing"
            )
        ]
    snakemake = tool("snakemake")
    if snakemake is None:
        return [na_row("plugin", name, what, "snakemake is not installed")]
    tmp = Path(tempfile.mkdtemp(prefix="plugin-", dir=data))
    got: dict[str, list[Sample]] = {"without": [], "with": []}
    steps = []
    try:
        for i in range(p.plugin_pairs):
            for mode in ("without", "with"):
                work = tmp / f"{mode}-{i}"
                work.mkdir()
                snakefile = plugin_workflow.write_workflow(work, jobs)
                store = work / "lineage.db"
                argv = [snakemake, "-c2", "-s", str(snakefile), "-d", str(work)]
                if mode == "with":
                    argv += ["--logger", "iscc"]
                env = {**os.environ, "ISCC_LINEAGE_STORE": str(store)}
                got[mode].append(run(argv, cwd=work, env=env, timeout=3600))
                if mode == "with":
                    steps.append(_recorded_steps(store))
        row = _row(got, steps, jobs, what, name)
        if row.met is False and profile_out is not None:
            row.note = _profile(
                row.note,
                tmp / "profiled",
                jobs,
                profile_out,
                install,
                plugin_workflow.write_workflow,
            )
    except BenchError as exc:
        return [na_row("plugin", name, what, f"snakemake failed: {str(exc)[-300:]}")]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [row]


def _profile(
    note: str, work: Path, jobs: int, out: Path, install: bool, write: Callable[[Path, int], Path]
) -> str:
    """Sample one run with the plugin, all threads, with py-spy (the plugin is not on main)."""
    py_spy = ensure_py_spy(install)
    if py_spy is None:
        return (note + "; " if note else "") + "goal missed; py-spy not available to profile"
    snakefile = write(work, jobs)
    env = {**os.environ, "ISCC_LINEAGE_STORE": str(work / "lineage.db")}
    spy(
        py_spy,
        [
            sys.executable,
            "-m",
            "snakemake",
            "-c2",
            "-s",
            str(snakefile),
            "-d",
            str(work),
            "--logger",
            "iscc",
        ],
        out,
        cwd=work,
        env=env,
    )
    return (note + "; " if note else "") + f"goal missed: py-spy profile in {out.name}"


def _row(got: dict[str, list[Sample]], steps: list[int], jobs: int, what: str, name: str) -> Row:
    rss_without = max(s.rss_kib for s in got["without"])
    row = Row(
        "plugin",
        name,
        f"{what}; {min(steps)} steps recorded per run",
        [s.wall for s in got["with"]],
        [s.rss_kib for s in got["with"]],
        f"the same run without the plugin (peak RSS {fmt_bytes(rss_without * 1024)})",
        [s.wall for s in got["without"]],
    )
    row.ratio = paired_ratio(row.samples, row.ref_samples)
    row.ratio_label = "time"
    row.judge("<=", 1.05)
    row.extra["recorded_steps"] = steps
    row.extra["rss_without_kib"] = [s.rss_kib for s in got["without"]]
    if min(steps) < jobs:
        row.note = (
            f"the plugin recorded {min(steps)} of {jobs} jobs as steps: an overhead "
            "measured without the recording is not the real one"
        )
        row.met = None if min(steps) == 0 else row.met
    return row
