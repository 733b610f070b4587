"""Record the post-hoc import fixtures: real Snakemake runs of ``tests/workflows/import``.

Each case runs real ``snakemake -c1`` (no plugin) in a fresh directory, does what the case says
after the run (edit an output, change an input, run again), and copies into
``tests/vectors/snakemake-<case>/`` what the importer reads: ``.snakemake/metadata/``,
``.snakemake/log/*.snakemake.log``, ``.snakemake/metadata.db`` (db backend), and the working
directory's files (workflow, inputs, outputs, logs, benchmarks). ``fixture.json`` keeps the
Snakemake version, the directory the run happened in (the run log names it) and every file's
and directory's mtime in nanoseconds, so tests can put the tree back as it was.

Run once, and again after a Snakemake upgrade changes ``.snakemake/``::

    PYTHONPATH=$PWD .venv/bin/python tests/vectors/build_snakemake_fixtures.py

Runs use ``TZ=UTC``: Snakemake names its log files by local time, and the tests read them under
the same zone. Each case takes a few seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKFLOW = HERE.parent / "workflows" / "import"
RAW = {"raw/a.txt": "1\n2\n3\n", "raw/b.txt": "4\n5\n"}

Action = Callable[[Path], str]  # does one thing in the workdir, returns what it did


def run(*args: str, ok: bool = True) -> Action:
    def act(wd: Path) -> str:
        cmd = [sys.executable, "-m", "snakemake", "-c1", *args]
        p = subprocess.run(
            cmd,
            cwd=wd,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "TZ": "UTC"},
            check=False,
        )
        if (p.returncode == 0) != ok:
            raise SystemExit(f"snakemake {' '.join(args)}: exit {p.returncode}\n{p.stderr}")
        return " ".join(["snakemake -c1", *args]) + ("" if ok else " (fails)")

    return act


def write(rel: str, text: str) -> Action:
    def act(wd: Path) -> str:
        time.sleep(1.1)  # well past the importer's 1 s slack: "after the run" is unambiguous
        (wd / rel).write_text(text)
        return f"write {rel}"

    return act


CASES: dict[str, list[Action]] = {
    # A successful run: script/shell/run rules, a temp() output deleted after use, a two-output
    # job, a directory() output, a record name split over two path parts.
    "plain": [run()],
    # The summary job re-runs (its params changed) and fails: Snakemake removes its output, the
    # record of the first run still says incomplete: false, the second run log says failed.
    "failed": [run(), run("--config", "fail=1", ok=False)],
    # The same with --quiet (as the demo runs): the failed run's log names no job at all.
    "failed-quiet": [run("-q"), run("-q", "--config", "fail=1", ok=False)],
    # An output edited after the run (mtime and content differ from the record).
    "edited-output": [run(), write("results/a.sum", "999\n")],
    # An input changed after the run (its sha256 no longer matches input_checksums).
    "changed-input": [run(), write("raw/a.txt", "100\n")],
    # Two runs in one workdir: the second re-runs what depends on the changed raw/b.txt.
    "two-runs": [run(), write("raw/b.txt", "7\n8\n9\n"), run()],
    # The experimental database backend: records in .snakemake/metadata.db.
    "db": [run("--persistence-backend", "db")],
}

KEEP = ("metadata", "log", "metadata.db")  #: what the importer reads below .snakemake/


def snakemake_version() -> str:
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "--version"], check=True, capture_output=True, text=True
    ).stdout
    return out.strip()


def record(case: str, actions: list[Action], root: Path) -> Path:
    wd = root / case
    shutil.copytree(WORKFLOW, wd)
    for rel, text in RAW.items():
        (wd / rel).parent.mkdir(parents=True, exist_ok=True)
        (wd / rel).write_text(text)
    steps = [act(wd) for act in actions]
    dest = HERE / f"snakemake-{case}"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(wd, dest, ignore=shutil.ignore_patterns(".snakemake", "__pycache__"))
    for name in KEEP:
        src = wd / ".snakemake" / name
        if src.is_dir() and any(src.iterdir()):  # git keeps no empty directory
            shutil.copytree(src, dest / ".snakemake" / name)
        elif src.is_file():
            (dest / ".snakemake").mkdir(exist_ok=True)
            shutil.copy2(src, dest / ".snakemake" / name)
    mtimes = {}
    for dirpath, dirnames, filenames in os.walk(dest):
        dirnames.sort()
        for name in [*dirnames, *sorted(filenames)]:
            p = Path(dirpath) / name
            mtimes[p.relative_to(dest).as_posix()] = p.stat().st_mtime_ns
    manifest = {
        "case": case,
        "snakemake": snakemake_version(),
        "recorded_in": str(wd),
        "tz": "UTC",
        "steps": steps,
        "mtimes": mtimes,
    }
    (dest / "fixture.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return dest


def main(argv: list[str]) -> None:
    cases = argv or list(CASES)
    with tempfile.TemporaryDirectory(prefix="iscc-lineage-fixtures-") as tmp:
        for case in cases:
            dest = record(case, CASES[case], Path(tmp))
            size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
            print(f"{dest.relative_to(HERE.parent.parent)}: {size / 1024:.1f} KiB")


if __name__ == "__main__":
    main(sys.argv[1:])
