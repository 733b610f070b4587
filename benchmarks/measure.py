"""Running one measured thing in a subprocess: wall time, peak RSS, its JSON answer.

Peak RSS is the kernel's ``ru_maxrss`` of that one child (and the children it waited for).
Linux carries the RSS high-water mark of the process that forks into the child's at
``exec``, so a child forked from this (30 MB) Python would never show less than 30 MB:
children are started through GNU ``/usr/bin/time`` (a 2 MB C program) when it is there, and
its ``%M`` is read; otherwise ``os.wait4`` is used and the row says RSS is an upper bound.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "GNU_TIME",
    "BenchError",
    "Sample",
    "median",
    "paired_ratio",
    "python_child",
    "run",
    "tool",
]


def _gnu_time() -> str | None:
    path = "/usr/bin/time"
    if not os.access(path, os.X_OK):
        return None
    probe = subprocess.run([path, "-f", "%M", "true"], capture_output=True, text=True)
    return path if probe.returncode == 0 and probe.stderr.strip().isdigit() else None


GNU_TIME = _gnu_time()  #: None: RSS from os.wait4, inflated by this process's own RSS


class BenchError(RuntimeError):
    """A measured subprocess failed; the message carries the tail of its stderr."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One measured subprocess: wall seconds, peak RSS in KiB, and what it wrote."""

    wall: float
    rss_kib: int
    stdout: str
    answer: dict[str, Any] = field(default_factory=dict)
    stderr: str = ""  #: kept only when asked (``keep_stderr``)

    @property
    def seconds(self) -> float:
        """The child's own timing when it reported one (in-process work), else the wall time."""
        return float(self.answer.get("seconds", self.wall))


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    parse_json: bool = False,
    capture: bool = True,
    keep_stderr: bool = False,
    timeout: float = 3600.0,
) -> Sample:
    """Run ``argv`` to completion; return its wall time, peak RSS and stdout.

    :param capture: keep stdout (else it goes to /dev/null, as for ``cat FILE``).
    :raises BenchError: the command exited non-zero or ran past ``timeout``.
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as rss_file,
    ):
        full = list(argv)
        if GNU_TIME:
            full = [GNU_TIME, "-f", "%M", "-o", rss_file.name, "--", *full]
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            full,
            cwd=cwd,
            env=env,
            stdout=out if capture else subprocess.DEVNULL,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)  # time and what it runs
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        text = out.read().decode("utf-8", "replace")
        errors = err.read().decode("utf-8", "replace")
        if proc.returncode != 0:
            tail = errors[-2000:]
            raise BenchError(f"{' '.join(map(str, argv))[:200]} exited {proc.returncode}:\n{tail}")
        # ru_maxrss is in KiB on Linux (bytes on macOS); so is GNU time's %M.
        rss = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
        if GNU_TIME:
            rss = int(rss_file.read().split()[-1])
    answer = json.loads(text.strip().splitlines()[-1]) if parse_json else {}
    return Sample(wall, int(rss), text, answer, errors if keep_stderr else "")


def python_child(task: str, **args: Any) -> list[str]:
    """The argv that runs one in-process task of :mod:`benchmarks.child` in a fresh interpreter."""
    return [sys.executable, "-m", "benchmarks.child", task, json.dumps(args)]


def tool(name: str) -> str | None:
    """A command next to this interpreter (the venv's scripts) or on PATH, or None."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    return shutil.which(name)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def paired_ratio(num: Sequence[float], den: Sequence[float]) -> float:
    """Median of per-round ratios ``num[i] / den[i]`` (rounds alternate, so drift cancels)."""
    if len(num) == len(den) and num:
        return median([a / b for a, b in zip(num, den, strict=True)])
    return median(num) / median(den)
