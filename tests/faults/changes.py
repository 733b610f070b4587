"""Changes caught / tried: every single-byte change to a recorded file must make ``verify``
exit 1 and name that file; every restored file must verify ``ok`` again.

Files of 0 B to a few MiB (log-uniform sizes, random bytes), recorded as the outputs of one
``iscc-lineage record`` step; then, per kind of change, every file is changed at once, one
``iscc-lineage verify --json`` runs, and the changed files it reports are counted.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

Change = Callable[[Path, random.Random], bool]  #: changes a file; False if it cannot


def _flip_byte(p: Path, rng: random.Random) -> bool:
    data = bytearray(p.read_bytes())
    if not data:
        return False
    i = rng.randrange(len(data))
    data[i] ^= rng.randrange(1, 256)
    p.write_bytes(bytes(data))
    return True


def _flip_bit(p: Path, rng: random.Random) -> bool:
    data = bytearray(p.read_bytes())
    if not data:
        return False
    i = rng.randrange(len(data))
    data[i] ^= 1 << rng.randrange(8)
    p.write_bytes(bytes(data))
    return True


def _truncate(p: Path, rng: random.Random) -> bool:
    size = p.stat().st_size
    if not size:
        return False
    os.truncate(p, size - 1)
    return True


def _append(p: Path, rng: random.Random) -> bool:
    with open(p, "ab") as f:
        f.write(bytes([rng.randrange(256)]))
    return True


def _flip_keep_mtime(p: Path, rng: random.Random) -> bool:
    st = p.stat()
    ok = _flip_byte(p, rng)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    return ok


KINDS: dict[str, Change] = {
    "one byte changed": _flip_byte,
    "one bit flipped": _flip_bit,
    "one byte cut off": _truncate,
    "one byte appended": _append,
    "byte changed, size and mtime kept": _flip_keep_mtime,
}


def run(work: Path, *, files: int = 60, max_size: int = 4 << 20, seed: int = 7) -> dict[str, int]:
    """Counts: ``tried``, ``caught`` (verify exit 1 naming exactly the changed files) and
    ``restored_ok`` (verify clean again after restoring)."""
    rng = random.Random(seed)
    data = work / "data"
    data.mkdir(parents=True)
    originals = {}
    for i in range(files):
        size = 0 if i == 0 else int(2 ** rng.uniform(0, max_size.bit_length() - 1))
        p = data / f"f{i:03}.bin"
        originals[p] = rng.randbytes(size)
        p.write_bytes(originals[p])
    env = {**os.environ, "ISCC_LINEAGE_STORE": str(work / "lineage.db")}
    cli = [sys.executable, "-m", "iscc_lineage"]
    outs = [a for p in originals for a in ("-o", str(p))]
    subprocess.run([*cli, "record", "-n", "make", *outs], env=env, check=True, capture_output=True)
    tried = caught = restored = 0
    for change in KINDS.values():
        changed = {p for p in originals if change(p, rng)}
        res = subprocess.run(
            [*cli, "verify", "--json", "-q"], env=env, capture_output=True, text=True
        )
        reported = {Path(c["path"]) for c in json.loads(res.stdout) if c["status"] == "changed"}
        tried += len(changed)
        caught += len(changed & reported) if res.returncode == 1 else 0
        for p, original in originals.items():
            p.write_bytes(original)
        again = subprocess.run([*cli, "verify", "-q"], env=env, capture_output=True)
        restored += again.returncode == 0
    return {"tried": tried, "caught": caught, "restored_ok": restored, "kinds": len(KINDS)}


def main() -> int:
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=60)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="iscc-faults-changes-") as tmp:
        counts = run(Path(tmp), files=a.files)
    print(
        f"changes caught / tried: {counts['caught']} / {counts['tried']} "
        f"(restored and verified clean: {counts['restored_ok']} / {counts['kinds']})"
    )
    if a.json:
        a.json.write_text(json.dumps(counts))
    return 0 if counts["caught"] == counts["tried"] else 1


if __name__ == "__main__":
    sys.exit(main())
