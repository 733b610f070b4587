"""Any path (a file or a directory), one or many, through the stat cache.

Large files go to a thread pool (the engine releases the GIL); small ones are hashed serially,
where two threads would only contend for the GIL.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from iscc_lineage.codes.fingerprint import (
    FingerprintCache,
    OnBytes,
    _cached,
    _check_regular,
    _hash_and_cache,
    _is_small,
    _lookup,
    _mark_pool_thread,
    _stat,
    stat_key,
)
from iscc_lineage.codes.tree import fingerprint_tree
from iscc_lineage.errors import FingerprintError
from iscc_lineage.model import Fingerprint

__all__ = ["fingerprint_many", "fingerprint_path"]


def fingerprint_path(
    path: Path, *, cache: FingerprintCache | None = None, on_bytes: OnBytes | None = None
) -> Fingerprint:
    """Fingerprint a file or a directory, through the stat cache when one is given.

    :raises FingerprintError: with a one-line message naming the path and the problem.
    """
    path = Path(path)
    return _fingerprint_stat(path, _stat(path, follow=True), cache, on_bytes)


def _fingerprint_stat(
    path: Path, st: os.stat_result | None, cache: FingerprintCache | None, on_bytes: OnBytes | None
) -> Fingerprint:
    """:func:`fingerprint_path` given the path's stat (None if it failed)."""
    # One stat decides directory / regular file; per-file cost matters for many small files
    # (benchmarks: 10,000 x 4 KiB). Anything else goes to _check_regular for its message.
    if st is not None and stat.S_ISDIR(st.st_mode):
        return fingerprint_tree(path, on_bytes=on_bytes, cache=cache)
    if st is None or not stat.S_ISREG(st.st_mode):
        st = _check_regular(path)
    key = stat_key(st)
    if cache is not None:
        hit = _cached(cache, key, on_bytes, st.st_size)
        if hit is not None:
            return hit
    return _hash_and_cache(path, key, st.st_size, cache, on_bytes)


def fingerprint_many(
    paths: Sequence[Path],
    *,
    cache: FingerprintCache | None = None,
    on_bytes: OnBytes | None = None,
    workers: int | None = None,
) -> list[Fingerprint | FingerprintError]:
    """Fingerprint many paths: large ones on a thread pool (the engine releases the GIL).

    Results come back in the order of ``paths``; a path that cannot be fingerprinted yields
    its :class:`FingerprintError` in place rather than aborting the others.
    """

    def one(i: int) -> Fingerprint | FingerprintError:
        try:
            st = stats[i]
            if keys[i] is not None and st is not None:
                return _hash_and_cache(Path(paths[i]), keys[i] or "", st.st_size, cache, on_bytes)
            return _fingerprint_stat(Path(paths[i]), stats[i], cache, on_bytes)
        except FingerprintError as exc:
            return exc

    done: dict[int, Fingerprint | FingerprintError] = {}
    keys: list[str | None] = [None] * len(paths)
    many = getattr(cache, "cache_get_many", None)
    if cache is not None and many is not None:
        # One stat per path, then one query for all their keys (not one per file: a store
        # query costs more than the stat; benchmarks/: 10^4 small files re-checked).
        sts = [_stat(Path(p), follow=True) for p in paths]
        for i, st in enumerate(sts):
            if st is not None and stat.S_ISREG(st.st_mode):
                keys[i] = stat_key(st)
        hits = many([k for k in keys if k is not None])
        for i, k in enumerate(keys):
            if k is not None and k in hits:
                done[i] = hits[k]
                if on_bytes is not None:
                    on_bytes(sts[i].st_size)  # type: ignore[union-attr]
    elif cache is not None:
        # A cache hit is a stat and a lookup, microseconds of Python: on the pool it only
        # contends for the GIL and the store's lock (4x slower per file, see benchmarks/).
        for i, p in enumerate(paths):
            got = _lookup(Path(p), cache, on_bytes)
            if isinstance(got, Fingerprint):
                done[i] = got
            else:
                keys[i] = got
    # Small files go one after another on this thread: their cost is syscalls and Python,
    # both under the GIL, so on two threads they only contend (46 vs 18 us per 4 KiB file).
    # Large files and directories go to the pool, where hashing runs without the GIL.
    todo = [i for i in range(len(paths)) if i not in done]
    stats = {i: _stat(Path(paths[i]), follow=True) for i in todo}
    small = [i for i in todo if _is_small(stats[i])]
    large = [i for i in todo if not _is_small(stats[i])]
    if len(large) <= 1:
        small, large = todo, []
    done.update((i, one(i)) for i in small)
    if large:
        n = workers or min(len(large), os.cpu_count() or 1)
        with ThreadPoolExecutor(
            max_workers=n, thread_name_prefix="iscc-fp", initializer=_mark_pool_thread
        ) as pool:
            done.update(zip(large, pool.map(one, large), strict=True))
    return [done[i] for i in range(len(paths))]
