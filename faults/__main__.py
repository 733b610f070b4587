"""``python -m faults [--quick]``: run every fault catalogue and print one table.

Each catalogue is a module here with ``run(work: Path, **sizes) -> dict`` of counts; the
table says what was tried and what held. Exit 1 if anything did not hold.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from pathlib import Path

#: module, row label, (count that held, count tried) keys, quick sizes
CATALOGUES = [
    ("changes", "changes caught / tried (verify)", ("caught", "tried"), {"files": 30}),
]


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m faults")
    ap.add_argument("--quick", action="store_true", help="smaller catalogues (CI)")
    args = ap.parse_args()
    rows, ok = [], True
    for module, label, (held, tried), quick in CATALOGUES:
        mod = importlib.import_module(f"faults.{module}")
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"faults-{module}-") as tmp:
            counts = mod.run(Path(tmp), **(quick if args.quick else {}))
        good = counts[held] == counts[tried]
        ok &= good
        rows.append((label, f"{counts[held]} / {counts[tried]}", "yes" if good else "NO",
                     f"{time.monotonic() - t0:.0f} s", counts))
    print("| fault | result | holds | time |\n|---|---|---|---|")
    for label, result, good, took, _ in rows:
        print(f"| {label} | {result} | {good} | {took} |")
    for label, _, _, _, counts in rows:
        print(f"{label}: {counts}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
