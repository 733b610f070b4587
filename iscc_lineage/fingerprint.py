"""ISCC-SUM fingerprints of files and directories, in one streaming read per file.

The only module that imports the hashing engine (iscc-lib: conformant, releases the GIL).
"""

from __future__ import annotations

import json
import os
import stat
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import iscc_lib as il

from iscc_lineage.errors import FingerprintError
from iscc_lineage.model import Fingerprint, Member

__all__ = [
    "IGNORED_NAMES",
    "IO_READ_SIZE",
    "FingerprintCache",
    "fingerprint_file",
    "fingerprint_many",
    "fingerprint_path",
    "hamming",
    "stat_key",
]

IO_READ_SIZE = 1 << 20  #: 1 MiB reads are the fastest for iscc-lib (notes/iscc.md §6)
IGNORED_NAMES = frozenset({".snakemake_timestamp"})  #: never part of a directory's content
RACY_SECONDS = 2.0  #: files changed this recently are not cached (mtime granularity)

OnBytes = Callable[[int], None]


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
            raise FingerprintError(f"{_show(path)}: dangling symlink") from None
        raise FingerprintError(f"{_show(path)}: no such file or directory") from None
    except OSError as exc:
        raise FingerprintError(f"{_show(path)}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device or socket"
        raise FingerprintError(f"{_show(path)}: is {kind}, not a regular file")
    return st


def _show(path: Path) -> str:
    """A path as text that can always be printed (non-UTF-8 bytes escaped)."""
    return os.fsdecode(path).encode("utf-8", "backslashreplace").decode("utf-8")


def _read_into(path: Path, sinks: Sequence[il.SumHasher], on_bytes: OnBytes | None) -> None:
    try:
        with open(path, "rb", buffering=0) as f:
            while chunk := f.read(IO_READ_SIZE):
                for h in sinks:
                    h.update(chunk)
                if on_bytes is not None:
                    on_bytes(len(chunk))
    except OSError as exc:
        raise FingerprintError(f"{_show(path)}: {exc.strerror or exc}") from None


def fingerprint_file(path: Path, *, on_bytes: OnBytes | None = None) -> Fingerprint:
    """Fingerprint one regular file (symlinks are followed).

    :param on_bytes: called with the number of bytes after each read, for progress.
    :raises FingerprintError: missing, unreadable, not a regular file, a symlink loop.
    """
    path = Path(path)
    _check_regular(path)
    h = il.SumHasher()
    _read_into(path, (h,), on_bytes)
    iscc, data_code, instance_code, datahash, size = _finish(h)
    return Fingerprint(iscc, datahash, size, data_code, instance_code)


def _walk(root: Path, rel: str = "") -> Iterable[tuple[str, Path, bool]]:
    """TREEWALK order: NFC-sorted names, files before subdirectories; yields symlinks as such.

    Directory symlinks are recorded, never followed, so a loop cannot recur.
    """
    try:
        entries = list(os.scandir(root))
    except OSError as exc:
        raise FingerprintError(f"{_show(root)}: {exc.strerror or exc}") from None
    named = sorted(
        ((unicodedata.normalize("NFC", os.fsdecode(e.name)), e) for e in entries),
        key=lambda t: t[0].encode("utf-8", "surrogateescape"),
    )
    dirs = []
    for name, e in named:
        if name in IGNORED_NAMES:
            continue
        relpath = f"{rel}{name}"
        if e.is_symlink():
            yield relpath, Path(e.path), True
        elif e.is_dir(follow_symlinks=False):
            dirs.append((relpath, Path(e.path)))
        else:
            yield relpath, Path(e.path), False
    for relpath, sub in dirs:
        yield from _walk(sub, relpath + "/")


def _tree_key(listing: Sequence[tuple[str, Path, bool]]) -> str:
    parts = []
    for relpath, p, is_link in listing:
        st = p.lstat() if is_link else p.stat()
        parts.append(f"{relpath}\0{stat_key(st)}")
    digest = il.InstanceHasher()
    digest.update("\n".join(parts).encode("utf-8", "surrogateescape"))
    return "tree:" + digest.finalize(256)["datahash"]


def fingerprint_tree(
    root: Path, *, on_bytes: OnBytes | None = None, cache: FingerprintCache | None = None
) -> Fingerprint:
    """Fingerprint a directory: per-member fingerprints, a manifest digest and a tree code.

    The manifest digest (the ``datahash``) is BLAKE3 over the canonical JSON list of
    ``[relpath, datahash, size]`` (symlinks: ``[relpath, "symlink", target]``), so a renamed or
    moved chunk changes identity. Symlinked files are fingerprinted through their target once;
    directory symlinks are recorded but not followed.
    """
    listing = list(_walk(root))
    key = _tree_key(listing) if cache is not None else None
    if cache is not None and key is not None:
        hit = cache.cache_get(key)
        if hit is not None:
            return hit
    tree = il.SumHasher()
    members: list[Member] = []
    seen: dict[Path, Fingerprint] = {}
    for relpath, p, is_link in listing:
        if is_link:
            target = Path(os.path.realpath(p))
            link = os.readlink(p)
            if target.is_file() and _is_regular(target):
                if target not in seen:
                    seen[target] = fingerprint_file(target, on_bytes=on_bytes)
                fp = seen[target]
                members.append(Member(relpath, fp.datahash, fp.size, os.fsdecode(link)))
            else:
                members.append(Member(relpath, None, 0, os.fsdecode(link)))
            continue
        _check_regular(p)
        h = il.SumHasher()
        _read_into(p, (h, tree), on_bytes)
        _, _, _, datahash, size = _finish(h)
        members.append(Member(relpath, datahash, size))
    iscc, data_code, instance_code, _, size = _finish(tree)
    manifest = [
        [m.path, "symlink", m.link] if m.link is not None else [m.path, m.datahash, m.size]
        for m in members
    ]
    digest = il.InstanceHasher()
    digest.update(json.dumps(manifest, separators=(",", ":"), ensure_ascii=False).encode())
    datahash = digest.finalize(256)["datahash"]
    fp = Fingerprint(iscc, datahash, size, data_code, instance_code, "tree", tuple(members))
    if cache is not None and key is not None and not _racy(listing):
        cache.cache_put([(key, fp)])
    return fp


def _is_regular(p: Path) -> bool:
    try:
        return stat.S_ISREG(p.stat().st_mode)
    except OSError:
        return False


def _racy(listing: Sequence[tuple[str, Path, bool]]) -> bool:
    now = time.time_ns()
    horizon = int(RACY_SECONDS * 1e9)
    for _, p, is_link in listing:
        st = p.lstat() if is_link else p.stat()
        if now - max(st.st_mtime_ns, st.st_ctime_ns) < horizon:
            return True
    return False


def fingerprint_path(
    path: Path, *, cache: FingerprintCache | None = None, on_bytes: OnBytes | None = None
) -> Fingerprint:
    """Fingerprint a file or a directory, through the stat cache when one is given.

    :raises FingerprintError: with a one-line message naming the path and the problem.
    """
    path = Path(path)
    try:
        is_dir = path.is_dir()
    except OSError as exc:
        raise FingerprintError(f"{_show(path)}: {exc.strerror or exc}") from None
    if is_dir:
        return fingerprint_tree(path, on_bytes=on_bytes, cache=cache)
    st = _check_regular(path)
    key = stat_key(st)
    if cache is not None:
        hit = cache.cache_get(key)
        if hit is not None:
            if on_bytes is not None:
                on_bytes(st.st_size)
            return hit
    fp = fingerprint_file(path, on_bytes=on_bytes)
    if cache is not None:
        after = path.stat()
        fresh = time.time_ns() - max(after.st_mtime_ns, after.st_ctime_ns) < RACY_SECONDS * 1e9
        if stat_key(after) == key and not fresh:
            cache.cache_put([(key, fp)])
    return fp


def fingerprint_many(
    paths: Sequence[Path],
    *,
    cache: FingerprintCache | None = None,
    on_bytes: OnBytes | None = None,
    workers: int | None = None,
) -> list[Fingerprint | FingerprintError]:
    """Fingerprint many paths on a thread pool (the engine releases the GIL).

    Results come back in the order of ``paths``; a path that cannot be fingerprinted yields
    its :class:`FingerprintError` in place rather than aborting the others.
    """

    def one(p: Path) -> Fingerprint | FingerprintError:
        try:
            return fingerprint_path(p, cache=cache, on_bytes=on_bytes)
        except FingerprintError as exc:
            return exc

    if len(paths) <= 1:
        return [one(p) for p in paths]
    n = workers or min(len(paths), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="iscc-fp") as pool:
        return list(pool.map(one, paths))


def hamming(code_a: str, code_b: str, bits: int | None = None) -> tuple[int, int]:
    """Bit distance between the bodies of two ISCC units of the same type.

    Bodies are truncated to the shorter (short codes are prefixes of long ones), or to
    ``bits`` when given (64 gives the distance of the narrow codes).

    :return: ``(distance, bits compared)``
    """
    da = il.iscc_decode(code_a)[4]
    db = il.iscc_decode(code_b)[4]
    n = min(len(da), len(db), (bits or 1 << 16) // 8)
    x = int.from_bytes(da[:n], "big") ^ int.from_bytes(db[:n], "big")
    return x.bit_count(), n * 8
