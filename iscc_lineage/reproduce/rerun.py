"""Run a plan: stage its files in scratch, run Snakemake there, judge each output by content."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from iscc_lineage.codes import fingerprint_path, hamming
from iscc_lineage.codes.image import image_code, is_image
from iscc_lineage.errors import FingerprintError
from iscc_lineage.reproduce.report import (
    NEAR_BITS,
    Expected,
    Outcome,
    Plan,
    Report,
    ReproduceError,
)

__all__ = ["TAIL", "execute"]

TAIL = 4000  #: characters of Snakemake's output kept when it fails


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _stage(plan: Plan, work: Path) -> None:
    for f in plan.files:
        dest = work / f.dest
        if f.datahash is not None or f.sha256 is not None:
            try:
                if f.source.is_dir():
                    got = fingerprint_path(f.source).datahash
                    ok = f.datahash is None or got == f.datahash
                elif f.datahash is not None:
                    ok = fingerprint_path(f.source).datahash == f.datahash
                else:
                    ok = _sha256(f.source) == f.sha256
            except (FingerprintError, OSError):
                raise ReproduceError(
                    f"{f.source}: recorded, but gone (needed to reproduce)"
                ) from None
            if not ok:
                raise ReproduceError(
                    f"{f.source}: changed since it was recorded; reproducing needs the "
                    "recorded content (restore it, e.g. from git, or reproduce from a crate)"
                )
        dest.parent.mkdir(parents=True, exist_ok=True)
        if f.source.is_dir():
            shutil.copytree(f.source, dest, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(f.source, dest)


def _judge(x: Expected, path: Path) -> Outcome:
    if not path.exists():
        return Outcome(x.path, x.step, "missing", x.datahash or x.sha256 or x.iscc)
    fp = fingerprint_path(path)
    if x.datahash is not None:
        if fp.datahash == x.datahash:
            return Outcome(x.path, x.step, "identical", x.datahash, fp.datahash, 0)
        recorded_code = None
    else:
        if x.sha256 is not None and path.is_file() and _sha256(path) == x.sha256:
            return Outcome(x.path, x.step, "identical", x.sha256, fp.iscc, 0)
        if x.sha256 is None and x.iscc is not None and x.iscc == fp.iscc:
            return Outcome(x.path, x.step, "identical", x.iscc, fp.iscc, 0)
        recorded_code = x.iscc
    d = None
    try:
        if recorded_code is not None:
            d = hamming(recorded_code, fp.iscc, bits=64)[0]
        elif x.data_code is not None:
            d = hamming(x.data_code, fp.data_code, bits=64)[0]
    except Exception:
        d = None
    img = None
    if x.image_code is not None and is_image(path, fp.size):
        now = image_code(path)
        if now is not None:
            img = hamming(x.image_code, now, bits=64)[0]
    near = (d is not None and d <= NEAR_BITS) or (img is not None and img <= NEAR_BITS)
    return Outcome(
        x.path,
        x.step,
        "near-identical" if near else "different",
        x.datahash or x.sha256 or x.iscc,
        fp.datahash,
        d,
        img,
    )


def execute(plan: Plan, scratch: Path, *, cores: int = 1, timeout: float | None = None) -> Report:
    """Stage the plan into ``scratch``, run Snakemake there, judge every expected output."""
    scratch.mkdir(parents=True, exist_ok=True)
    _stage(plan, scratch)
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        plan.snakefile,
        "-d",
        ".",
        "--cores",
        str(cores),
        "--workflow-profile",
        "none",
        *plan.args,
        *plan.targets,
    ]
    env = {k: v for k, v in os.environ.items() if k != "ISCC_LINEAGE_STORE"}
    t0 = time.perf_counter()
    try:
        res = subprocess.run(
            cmd, cwd=scratch, capture_output=True, text=True, env=env, timeout=timeout, check=False
        )
        rc, tail = res.returncode, (res.stdout + res.stderr)[-TAIL:]
    except subprocess.TimeoutExpired:
        rc, tail = 124, f"snakemake did not finish within {timeout} s"
    except OSError as exc:
        raise ReproduceError(f"cannot start snakemake: {exc}") from None
    seconds = time.perf_counter() - t0
    outcomes = [
        _judge(x, scratch / x.path) for x in sorted(plan.expected, key=lambda x: (x.order, x.path))
    ]
    return Report(
        plan.label,
        scratch.as_posix(),
        cmd,
        rc,
        seconds,
        outcomes,
        list(plan.notes),
        tail if rc != 0 else None,
    )
