"""``make test-faults``: every fault catalogue, one table (issue 9's reliability table).

Runs each catalogue of this folder as its own process against the real CLI and the real
Snakemake plugin, reads its counts, and prints what was tried and what held. Exit 1 when
anything did not hold. ``--quick`` is the CI size.

    python tests/faults/table.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _run(script: str, args: list[str]) -> tuple[dict, float, int]:
    with tempfile.TemporaryDirectory(prefix="iscc-faults-table-") as tmp:
        out = Path(tmp) / "counts.json"
        t0 = time.monotonic()
        res = subprocess.run(
            [sys.executable, str(HERE / script), *args, "--json", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        took = time.monotonic() - t0
        if not out.exists():
            print(res.stdout[-3000:], file=sys.stderr)
            raise SystemExit(f"{script}: wrote no counts (exit {res.returncode})")
        return json.loads(out.read_text()), took, res.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller catalogues (CI)")
    a = ap.parse_args()
    kills, t_kill, rc_kill = _run("kill_points.py", ["--kills", "4" if a.quick else "12"])
    hostile, t_host, rc_host = _run("hostile.py", [])
    changes, t_chg, rc_chg = _run("changes.py", ["--files", "30" if a.quick else "120"])
    k, plugin = kills["kills"], kills["plugin"]
    fail = sum(r["failed"] for r in plugin)
    slow = sum(r["slower"] and not r["failed"] for r in plugin)
    rows = [
        (
            "kill -9 points tried / survived (store opens, integrity_check ok)",
            f"{k['tried']} / {k['survived']}",
            k["survived"] == k["tried"],
        ),
        (
            "steps lost (outputs without a step after rerun + import)",
            str(k["lost"]),
            k["lost"] == 0,
        ),
        (
            "runs the plugin made fail / slower",
            f"{fail} / {slow} of {len(plugin)}",
            fail == slow == 0,
        ),
        (
            "bad inputs tried / handled",
            f"{hostile['bad_inputs']['tried']} / {hostile['bad_inputs']['handled']}",
            hostile["bad_inputs"]["tried"] == hostile["bad_inputs"]["handled"],
        ),
        (
            "crafted files tried / contained",
            f"{hostile['crafted_files']['tried']} / {hostile['crafted_files']['contained']}",
            hostile["crafted_files"]["tried"] == hostile["crafted_files"]["contained"],
        ),
        (
            "changes caught / tried (single-byte, verify)",
            f"{changes['caught']} / {changes['tried']}",
            changes["caught"] == changes["tried"],
        ),
    ]
    print("| fault | result | holds |\n|---|---|---|")
    for label, result, ok in rows:
        print(f"| {label} | {result} | {'yes' if ok else 'NO'} |")
    print(
        f"\n(kill points {t_kill:.0f} s, hostile input {t_host:.0f} s, changes {t_chg:.0f} s"
        f"{', quick' if a.quick else ''})"
    )
    for r in plugin:
        print(
            f"  plugin under {r['scenario']}: rc {r['rc_without']} -> {r['rc_with']}, "
            f"{r['s_without']} s -> {r['s_with']} s"
        )
    return 0 if all(ok for _, _, ok in rows) and not (rc_kill or rc_host or rc_chg) else 1


if __name__ == "__main__":
    sys.exit(main())
