"""fingerprint_many with a stat cache: hits are taken before the pool, misses hashed on it.

As in test_stat_cache.py, a hit is shown by a marker fingerprint planted under a file's stat
key coming back as is; hashed results are checked against iscc-sum (an independent engine).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from iscc_sum import IsccSumProcessor

from iscc_lineage.codes import fingerprint_many, stat_key
from iscc_lineage.codes.fingerprint import RACY_SECONDS
from iscc_lineage.errors import FingerprintError
from iscc_lineage.model import Fingerprint
from iscc_lineage.store import Store

MARKER = Fingerprint(
    "ISCC:KUACL4F2WZY7KBXBV4JUTOPV7GQ2M",
    "1e20" + "cd" * 32,
    777,
    "ISCC:GADSL4F2WZY7KBXBYUZPREWZ26IXUJJOPJJAQMXVSY5IZVHJU7RRFNI",
    "ISCC:IAD26E2JXH27TINGUBAE32RW3TEUTG6LEXE23QISW7GJVE6K4QPTEYQ",
)


def oracle(data: bytes) -> str:
    p = IsccSumProcessor()
    p.update(data)
    return str(p.result(wide=False, add_units=False).datahash)


@pytest.fixture(scope="module")
def old_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six files and a directory, older than the racy window (one wait for the module)."""
    root = tmp_path_factory.mktemp("many")
    for i in range(6):
        (root / f"f{i}.bin").write_bytes(os.urandom(3000 + i))
    (root / "dir").mkdir()
    (root / "dir" / "member").write_bytes(b"member bytes")
    time.sleep(RACY_SECONDS + 0.2)
    return root


def test_planted_hit_comes_back_and_misses_are_hashed(old_files: Path, tmp_path: Path) -> None:
    store = Store(str(tmp_path / "lineage.db"))
    files = sorted(old_files.glob("f*.bin"))
    store.cache_put([(stat_key(files[2].stat()), MARKER)])
    paths = [*files, old_files / "dir", old_files / "missing.bin"]
    got = fingerprint_many(paths, cache=store)
    assert got[2] == MARKER
    for i in (0, 1, 3, 4, 5):
        fp = got[i]
        assert isinstance(fp, Fingerprint)
        assert fp.datahash == oracle(files[i].read_bytes())
    assert isinstance(got[6], Fingerprint) and got[6].kind == "tree"
    assert isinstance(got[7], FingerprintError) and "missing.bin" in str(got[7])
    # The misses were old enough to enter the cache: a second pass returns the same.
    again = fingerprint_many(paths[:6], cache=store)
    assert again == got[:6]


def test_a_hit_reports_its_size_once(old_files: Path, tmp_path: Path) -> None:
    store = Store(str(tmp_path / "lineage.db"))
    path = old_files / "f0.bin"
    store.cache_put([(stat_key(path.stat()), MARKER)])
    seen: list[int] = []
    assert fingerprint_many([path], cache=store, on_bytes=seen.append) == [MARKER]
    assert seen == [path.stat().st_size]


def test_without_cache_order_and_errors_hold(old_files: Path) -> None:
    files = sorted(old_files.glob("f*.bin"))
    got = fingerprint_many([old_files / "nope", *files])
    assert isinstance(got[0], FingerprintError)
    assert [g.datahash for g in got[1:] if isinstance(g, Fingerprint)] == [
        oracle(f.read_bytes()) for f in files
    ]
