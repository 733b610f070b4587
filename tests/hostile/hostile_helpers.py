"""Shared helpers for the hostile-input tests: run the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(
    *args: str,
    cwd: Path,
    timeout: float = 60,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m iscc_lineage ARGS`` in ``cwd``, with this tree first on the path."""
    e = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    e.pop("ISCC_LINEAGE_STORE", None)
    return subprocess.run(
        [sys.executable, "-m", "iscc_lineage", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=e,
        input=stdin,
        errors="surrogateescape",
    )


def one_line(proc: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The single stderr line of a clean refusal (exit ``code``, no traceback)."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative name -> sha256): to prove 'nothing written'."""
    import hashlib

    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
