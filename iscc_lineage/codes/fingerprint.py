"""ISCC-SUM fingerprints of single files, in one streaming read per file.

One regular file at a time (a lone large file on two threads), a copy with SHA-256 in the same
read, and the stat-cache protocol. Directories are in :mod:`~iscc_lineage.codes.tree`; any path
and batches of paths in :mod:`~iscc_lineage.codes.path`.
"""

from __future__ import annotations

import hashlib
import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Protocol

import iscc_lib as il

from iscc_lineage.errors import FingerprintError
from iscc_lineage.locations import printable
from iscc_lineage.model import Fingerprint

__all__ = [
    "IGNORED_NAMES",
    "IO_READ_SIZE",
    "FingerprintCache",
    "OnBytes",
    "fingerprint_bytes",
    "fingerprint_copy",
    "fingerprint_file",
    "fingerprint_stream",
    "stat_key",
]

IO_READ_SIZE = 1 << 20  #: 1 MiB reads are the fastest for iscc-lib (notes/iscc.md §6)
IGNORED_NAMES = frozenset({".snakemake_timestamp"})  #: never part of a directory's content
SPLIT_MIN = 16 << 20  #: a lone file this large hashes its Data-Code on a second thread
SMALL_FILE = 256 << 10  #: smaller files are hashed serially, not on the thread pool
RACY_SECONDS = 2.0  #: files changed this recently are not cached (mtime granularity)

OnBytes = Callable[[int], None]
_pool_thread = threading.local()


class FingerprintCache(Protocol):
    """Maps a stat key to the fingerprint taken when the file had that stat (the store is one)."""

    def cache_get(self, key: str) -> Fingerprint | None: ...

    def cache_put(self, entries: Sequence[tuple[str, Fingerprint]]) -> None: ...


def stat_key(st: os.stat_result) -> str:
    """The cache key of a file: any change of device, inode, size, mtime or ctime misses."""
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def _finish(hasher: il.SumHasher) -> tuple[str, str, str, str, int]:
    r = hasher.finalize(bits=256, add_units=True)
    data_code, instance_code = r["units"]
    narrow = il.gen_iscc_code_v0([data_code, instance_code])["iscc"]
    return narrow, data_code, instance_code, r["datahash"], int(r["filesize"])


def _check_regular(path: Path) -> os.stat_result:
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise FingerprintError(f"{printable(path)}: dangling symlink") from None
        raise FingerprintError(f"{printable(path)}: no such file or directory") from None
    except OSError as exc:
        raise FingerprintError(f"{printable(path)}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device or socket"
        raise FingerprintError(f"{printable(path)}: is {kind}, not a regular file")
    return st


class _Sink(Protocol):
    def update(self, data: bytes, /) -> None: ...


def _read_into(path: Path, sinks: Sequence[_Sink], on_bytes: OnBytes | None) -> None:
    try:
        with open(path, "rb", buffering=0) as f:
            while chunk := f.read(IO_READ_SIZE):
                for h in sinks:
                    h.update(chunk)
                if on_bytes is not None:
                    on_bytes(len(chunk))
    except OSError as exc:
        raise FingerprintError(f"{printable(path)}: {exc.strerror or exc}") from None


def fingerprint_file(path: Path, *, on_bytes: OnBytes | None = None) -> Fingerprint:
    """Fingerprint one regular file (symlinks are followed).

    :param on_bytes: called with the number of bytes after each read, for progress.
    :raises FingerprintError: missing, unreadable, not a regular file, a symlink loop.
    """
    path = Path(path)
    return _hash_file(path, on_bytes, _check_regular(path).st_size)


def _hash_file(path: Path, on_bytes: OnBytes | None, size: int) -> Fingerprint:
    """Hash a regular file whose size the caller has just seen (it picks the code path)."""
    if size >= SPLIT_MIN and os.cpu_count() != 1 and not getattr(_pool_thread, "busy", False):
        return _hash_split(path, on_bytes)
    h = il.SumHasher()
    _read_into(path, (h,), on_bytes)
    iscc, data_code, instance_code, datahash, size = _finish(h)
    return Fingerprint(iscc, datahash, size, data_code, instance_code)


class _Background:
    """Feeds a hasher on its own thread, chunks in order (the engine releases the GIL)."""

    def __init__(self, hasher: _Sink) -> None:
        self.hasher = hasher
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="iscc-fp-data", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (chunk := self.queue.get()) is not None:
            if self.error is None:  # after a failure keep draining, so update() never blocks
                try:
                    self.hasher.update(chunk)
                except BaseException as exc:  # pragma: no cover - the engine does not raise
                    self.error = exc

    def update(self, data: bytes, /) -> None:
        self.queue.put(data)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:  # pragma: no cover
            raise self.error


def _hash_split(path: Path, on_bytes: OnBytes | None) -> Fingerprint:
    """One file, two cores: the Data-Code (the slow half) on a second thread, BLAKE3 here.

    Bit-identical to :class:`iscc_lib.SumHasher` (the conformance tests cover both paths);
    ~20 % faster for one large file (benchmarks/: 1 GiB in 0.8 s instead of 1.0 s).
    """
    data, instance = il.DataHasher(), il.InstanceHasher()
    background = _Background(data)
    try:
        _read_into(path, (background, instance), on_bytes)
    finally:
        background.close()
    data_code = data.finalize(256)["iscc"]
    r = instance.finalize(256)
    narrow = il.gen_iscc_code_v0([data_code, r["iscc"]])["iscc"]
    return Fingerprint(narrow, r["datahash"], int(r["filesize"]), data_code, r["iscc"])


def fingerprint_bytes(data: bytes) -> Fingerprint:
    """Fingerprint bytes held in memory (content known only as text, e.g. a conda env YAML)."""
    h = il.SumHasher()
    h.update(data)
    iscc, data_code, instance_code, datahash, size = _finish(h)
    return Fingerprint(iscc, datahash, size, data_code, instance_code)


def fingerprint_copy(
    path: Path, dst: IO[bytes] | None = None, *, on_bytes: OnBytes | None = None
) -> tuple[Fingerprint, str]:
    """Fingerprint a regular file and take its SHA-256 in the same read, copying to ``dst``.

    One pass over the bytes serves identity (ISCC-SUM), fixity for generic tools (SHA-256)
    and the copy into an export (a file or a zip member opened for writing).

    :return: the fingerprint and the SHA-256 hex digest
    :raises FingerprintError: as :func:`fingerprint_file`
    """
    path = Path(path)
    _check_regular(path)
    h = il.SumHasher()
    sha = hashlib.sha256()
    sinks: tuple[_Sink, ...] = (h, sha) if dst is None else (h, sha, _Writer(dst))
    _read_into(path, sinks, on_bytes)
    iscc, data_code, instance_code, datahash, size = _finish(h)
    return Fingerprint(iscc, datahash, size, data_code, instance_code), sha.hexdigest()


def fingerprint_stream(
    src: IO[bytes], *, on_bytes: OnBytes | None = None
) -> tuple[Fingerprint, str]:
    """Fingerprint and SHA-256 of what a readable stream yields (a zip member, read in place).

    :raises OSError: as the stream raises it (the caller knows what it reads).
    """
    h = il.SumHasher()
    sha = hashlib.sha256()
    while chunk := src.read(IO_READ_SIZE):
        h.update(chunk)
        sha.update(chunk)
        if on_bytes is not None:
            on_bytes(len(chunk))
    iscc, data_code, instance_code, datahash, size = _finish(h)
    return Fingerprint(iscc, datahash, size, data_code, instance_code), sha.hexdigest()


class _Writer:
    """A sink that writes what it is fed (errors become FingerprintError, as reads do)."""

    def __init__(self, dst: IO[bytes]) -> None:
        self.dst = dst

    def update(self, data: bytes, /) -> None:
        try:
            self.dst.write(data)
        except OSError as exc:
            raise FingerprintError(f"cannot write copy: {exc.strerror or exc}") from None


def _stat(p: Path, *, follow: bool) -> os.stat_result | None:
    try:
        return os.stat(p, follow_symlinks=follow)
    except OSError:
        return None


def _is_regular(p: Path) -> bool:
    try:
        return stat.S_ISREG(p.stat().st_mode)
    except OSError:
        return False


def _hash_and_cache(
    path: Path, key: str, size: int, cache: FingerprintCache | None, on_bytes: OnBytes | None
) -> Fingerprint:
    """Hash a regular file last seen with stat ``key``; cache it if still so and not racy."""
    fp = _hash_file(path, on_bytes, size)
    if cache is not None:
        after = _stat(path, follow=True)  # unchanged while read, and old enough to trust
        if after is not None and stat_key(after) == key:
            newest = max(after.st_mtime_ns, after.st_ctime_ns)
            if time.time_ns() - newest >= RACY_SECONDS * 1e9:
                cache.cache_put([(key, fp)])
    return fp


def _cached(
    cache: FingerprintCache, key: str, on_bytes: OnBytes | None, size: int | None = None
) -> Fingerprint | None:
    """The cached fingerprint under ``key``, or None on a miss. A hit counts ``size`` bytes
    (the file's size on disk; by default the fingerprint's) as done for ``on_bytes``."""
    hit = cache.cache_get(key)
    if hit is not None and on_bytes is not None:
        on_bytes(hit.size if size is None else size)
    return hit


def _lookup(
    path: Path, cache: FingerprintCache, on_bytes: OnBytes | None
) -> Fingerprint | str | None:
    """A regular file's cached fingerprint, its stat key on a miss, None if not a file."""
    st = _stat(path, follow=True)
    if st is None or not stat.S_ISREG(st.st_mode):
        return None
    key = stat_key(st)
    return _cached(cache, key, on_bytes, st.st_size) or key


def _mark_pool_thread() -> None:
    """Pool threads already keep every core busy: no second thread per file there."""
    _pool_thread.busy = True


def _is_small(st: os.stat_result | None) -> bool:
    """A regular file under :data:`SMALL_FILE` bytes (errors count as small: they are cheap)."""
    return st is None or (stat.S_ISREG(st.st_mode) and st.st_size < SMALL_FILE)
