"""Fingerprint the files of running jobs on a small thread pool, off Snakemake's logging thread.

Snakemake calls the plugin on its log listener thread; hashing there would make us lag behind
and serialise every job behind the slowest file. Each file is a task of its own, so one large
file holds one worker while the others go on (the hashing engine releases the GIL).

Within a run a path is hashed once: a consumer's input reuses the fingerprint taken of the
producer's output (a pending one too) as long as the file is unchanged or already gone (a
deleted ``temp()`` file keeps the content it had). Across runs the store's stat cache applies.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from iscc_lineage.codes import FingerprintCache, fingerprint_path, stat_key
from iscc_lineage.errors import FingerprintError
from iscc_lineage.locations import tree_size
from iscc_lineage.model import Artifact
from iscc_lineage.size import format_size

__all__ = ["INTERRUPTED", "MISSING", "FileHasher", "Hashed", "Role", "when_all"]

MISSING = "missing"  #: note of a path that was gone when we came to hash it
NOTE_NO_HASH = "not fingerprinted (--logger-iscc-no-hash-inputs)"
INTERRUPTED = "not fingerprinted: interrupted"  #: the run was interrupted (Ctrl-C) first
Role = Literal["input", "output"]


@dataclass(frozen=True, slots=True)
class Hashed:
    """A fingerprinted (or content-less) location and the stat key it had when read."""

    artifact: Artifact
    key: str | None = None


class FileHasher:
    """Fingerprints paths asynchronously, memoised per path for the run.

    :param cache: the store's stat cache (consulted first, and for files not read at all).
    :param max_size: files (or directories) larger than this are recorded without content.
    :param hash_inputs: if False, an input gets content only from this run's outputs or the
        stat cache, never by reading it.
    """

    def __init__(
        self,
        cache: FingerprintCache | None,
        *,
        max_size: int | None = None,
        hash_inputs: bool = True,
        workers: int | None = None,
    ) -> None:
        self.cache = cache
        self.max_size = max_size
        self.hash_inputs = hash_inputs
        n = workers or max(2, min(4, os.cpu_count() or 1))
        self._pool = ThreadPoolExecutor(n, thread_name_prefix="iscc-lineage-fp")
        self._memo: dict[str, Future[Hashed]] = {}
        self._lock = threading.Lock()
        self._abort = threading.Event()

    def submit(self, path: str, role: Role) -> Future[Hashed]:
        """Fingerprint an absolute ``path`` (or reuse this run's fingerprint of it)."""
        with self._lock:
            known = self._memo.get(path)
            if known is not None and self._reusable(path, known, role):
                return known
            fut = self._pool.submit(self._hash, path, role)
            self._memo[path] = fut
            return fut

    def shutdown(self) -> None:
        """Wait for every pending fingerprint."""
        self._pool.shutdown(wait=True)

    def abort(self) -> None:
        """Give up: queued files are cancelled, files being read stop at their next chunk.

        Their fingerprints become :data:`INTERRUPTED` (a cancelled future: see callers).
        """
        self._abort.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _check_abort(self, _: int) -> None:
        if self._abort.is_set():
            raise _Aborted

    @staticmethod
    def _reusable(path: str, fut: Future[Hashed], role: Role) -> bool:
        if not fut.done():
            return True  # being hashed right now: the producer's output, still fresh
        if fut.exception() is not None:
            return False
        done = fut.result()
        now = _key(path)
        if now is None:
            return True  # gone (a deleted temp file): the content it had is the best we know
        return done.key == now and (done.artifact.fingerprint is not None or role == "input")

    def _hash(self, path: str, role: Role) -> Hashed:
        if self._abort.is_set():
            return Hashed(Artifact(path, None, INTERRUPTED))
        try:
            return self._hash_now(path, role)
        except _Aborted:
            return Hashed(Artifact(path, None, INTERRUPTED))

    def _hash_now(self, path: str, role: Role) -> Hashed:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return Hashed(Artifact(path, None, MISSING))
        except OSError as exc:
            return Hashed(Artifact(path, None, f"not fingerprinted: {exc.strerror or exc}"))
        key = _key_of(st)
        if stat.S_ISFIFO(st.st_mode):
            return Hashed(Artifact(path, None, "pipe"), key)
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            return Hashed(Artifact(path, None, "not a regular file"), key)
        is_file = stat.S_ISREG(st.st_mode)
        if role == "input" and not self.hash_inputs:
            hit = self.cache.cache_get(key) if (self.cache and is_file) else None
            return Hashed(Artifact(path, hit, None if hit else NOTE_NO_HASH), key)
        if self.max_size is not None:
            size = st.st_size if is_file else tree_size(path)
            if size > self.max_size:
                hit = self.cache.cache_get(key) if (self.cache and is_file) else None
                if hit is None:
                    note = (
                        f"not fingerprinted: {format_size(size)} > max size "
                        f"{format_size(self.max_size)}"
                    )
                    return Hashed(Artifact(path, None, note), key)
                return Hashed(Artifact(path, hit), key)
        try:
            fp = fingerprint_path(Path(path), cache=self.cache, on_bytes=self._check_abort)
        except FingerprintError as exc:
            if self._abort.is_set():
                return Hashed(Artifact(path, None, INTERRUPTED), key)
            if not os.path.lexists(path):
                return Hashed(Artifact(path, None, MISSING), key)
            return Hashed(Artifact(path, None, f"not fingerprinted: {exc}"), key)
        return Hashed(Artifact(path, fp), key)


class _Aborted(Exception):
    """Raised from the read loop to stop hashing at once."""


def _key_of(st: os.stat_result) -> str:
    if stat.S_ISDIR(st.st_mode):
        # Within one run a directory output is written once; its own stat marks a rewrite.
        return f"dir:{st.st_dev}:{st.st_ino}:{st.st_mtime_ns}"
    return stat_key(st)


def _key(path: str) -> str | None:
    try:
        return _key_of(os.stat(path))
    except OSError:
        return None


def when_all(futures: Sequence[Future[Hashed]], then: Callable[[], None]) -> None:
    """Call ``then`` once every future is done, in the thread that finishes the last one.

    No thread waits, so a step whose files are slow never holds up the steps behind it.
    """
    if not futures:
        then()
        return
    remaining = [len(futures)]
    lock = threading.Lock()

    def one_done(_: Future[Hashed]) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            then()

    for f in futures:
        f.add_done_callback(one_done)
