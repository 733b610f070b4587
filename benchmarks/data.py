"""Input files for the fingerprint benchmarks, made once and kept under ``benchmarks/.data/``.

A set of ``n`` files of ``size`` bytes is cut from one random file of ``n * size`` bytes, so
"one stream of the same bytes" is that file. The files of a set are made old (mtime an hour
back, and the 2 s racy window waited out for the ctime that ``os.utime`` bumps) so the stat
cache takes them.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

__all__ = ["DEFAULT_DATA", "FileSet", "age", "file_set", "random_file", "warm"]

DEFAULT_DATA = Path(__file__).resolve().parent / ".data"
RACY_SECONDS = 2.0  #: as iscc_lineage.codes.fingerprint: younger files are never cached
BLOCK = 1 << 20


class FileSet:
    """``n`` files of ``size`` bytes (sorted paths) and the stream file they were cut from."""

    def __init__(self, stream: Path, paths: list[Path], size: int) -> None:
        self.stream = stream
        self.paths = paths
        self.size = size

    @property
    def total(self) -> int:
        return self.size * len(self.paths)


def random_file(data: Path, size: int) -> Path:
    """A file of ``size`` random bytes (made once; the name carries the size)."""
    path = data / f"random-{size}.bin"
    if path.exists() and path.stat().st_size == size:
        return path
    data.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        left = size
        while left:
            n = min(BLOCK, left)
            f.write(os.urandom(n))
            left -= n
    tmp.rename(path)
    return path


def file_set(data: Path, n: int, size: int) -> FileSet:
    """``n`` files of ``size`` bytes cut in order from ``random_file(data, n * size)``."""
    stream = random_file(data, n * size)
    folder = data / f"set-{n}x{size}"
    paths = [folder / f"{i:06d}.bin" for i in range(n)]
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with open(stream, "rb") as src:
            for p in paths:
                p.write_bytes(src.read(size))
        age(paths)
        (folder / ".complete").touch()
    return FileSet(stream, paths, size)


def age(paths: list[Path]) -> None:
    """Set mtimes an hour back, then wait until every ctime is past the racy window."""
    past = time.time() - 3600
    for p in paths:
        os.utime(p, (past, past))
    newest = max(p.stat().st_ctime for p in paths)
    wait = RACY_SECONDS + 0.2 - (time.time() - newest)
    if wait > 0:
        time.sleep(wait)


def warm(paths: list[Path]) -> None:
    """Read files once so they are in the page cache before anything is timed."""
    buf = bytearray(BLOCK)
    for p in paths:
        with open(p, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass
