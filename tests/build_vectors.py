"""Build ``tests/vectors/fingerprint.json``: fingerprint vectors computed by iscc-core.

Inputs are described, not stored: a pattern, a seed and a size regenerate the bytes
(:func:`make_bytes`). Outputs come from iscc-core 1.5 (the reference implementation, an
independent code base from iscc-lib, which ``iscc_lineage.codes.fingerprint`` uses). The sizes
cross our 1 MiB read buffer and iscc-core's and iscc-sum's 2 MiB buffers, where streaming
implementations diverge if they ever do.

Run from the repository root after changing the cases: ``.venv/bin/python tests/build_vectors.py``
"""

from __future__ import annotations

import io
import json
import random
from importlib.metadata import version
from pathlib import Path
from typing import Any

MIB = 1 << 20
VECTORS = Path(__file__).parent / "vectors" / "fingerprint.json"

#: (name, pattern, seed, size)
CASES: list[tuple[str, str, int, int]] = [
    ("empty", "random", 0, 0),
    ("one-byte", "random", 1, 1),
    ("seven", "random", 7, 7),
    ("odd-1023", "random", 1023, 1023),
    ("odd-65537", "random", 65537, 65537),
    ("mib-minus-1", "random", 11, MIB - 1),
    ("mib", "random", 12, MIB),
    ("mib-plus-1", "random", 13, MIB + 1),
    ("2mib-minus-1", "random", 21, 2 * MIB - 1),
    ("2mib", "random", 22, 2 * MIB),
    ("2mib-plus-1", "random", 23, 2 * MIB + 1),
    ("4mib-plus-3", "random", 43, 4 * MIB + 3),
    ("zeros-2mib-plus-1", "zeros", 0, 2 * MIB + 1),
    ("text-1mib-plus-7", "text", 5, MIB + 7),
    ("random-5mib-plus-17", "random", 5017, 5 * MIB + 17),
    ("text-9mb", "text", 9, 9_000_001),
]

_WORDS = (
    "ome",
    "zarr",
    "tiff",
    "nucleus",
    "mask",
    "label",
    "raw",
    "channel",
    "dapi",
    "gfp",
    "segment",
    "threshold",
    "0",
    "1",
    "2",
    "3",
    "\n",
    "\t",
    ",",
    "µm",
)


def make_bytes(pattern: str, seed: int, size: int) -> bytes:
    """The input bytes of a case: seeded random, zeros, or low-entropy text."""
    if pattern == "random":
        return random.Random(seed).randbytes(size)
    if pattern == "zeros":
        return bytes(size)
    if pattern == "text":
        rng = random.Random(seed)
        out = bytearray()
        while len(out) < size:
            out += " ".join(rng.choices(_WORDS, k=4096)).encode()
        return bytes(out[:size])
    raise ValueError(f"unknown pattern {pattern!r}")


def expected(data: bytes) -> dict[str, Any]:
    """Every field we record, from iscc-core: narrow ISCC-SUM, 256-bit units, datahash, size."""
    import iscc_core as ic  # type: ignore[import-untyped]

    data_code = ic.gen_data_code_v0(io.BytesIO(data), 256)["iscc"]
    instance = ic.gen_instance_code_v0(io.BytesIO(data), 256)
    return {
        "iscc": ic.gen_iscc_code_v0([data_code, instance["iscc"]])["iscc"],
        "data_code": data_code,
        "instance_code": instance["iscc"],
        "datahash": instance["datahash"],
        "size": instance["filesize"],
    }


def build() -> dict[str, Any]:
    cases = []
    for name, pattern, seed, size in CASES:
        cases.append(
            {
                "name": name,
                "pattern": pattern,
                "seed": seed,
                "size": size,
                "expected": expected(make_bytes(pattern, seed, size)),
            }
        )
    return {
        "_metadata": {
            "generator": f"tests/build_vectors.py with iscc-core {version('iscc-core')}",
            "description": "bytes (pattern, seed, size; see make_bytes) -> fingerprint fields",
        },
        "cases": cases,
    }


if __name__ == "__main__":
    VECTORS.parent.mkdir(exist_ok=True)
    VECTORS.write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n")
