"""The stat state of a folder: one key that changes whenever any member could have changed.

A directory's cached fingerprint is found under this key, so a re-check of an unchanged
OME-Zarr of 10^5 chunks is one pass of ``scandir`` + one ``lstat`` per entry (the floor: a
content edit in place keeps the folder's mtime, so every chunk must be stat'ed), one hash
and one store row, instead of reading the bytes. Content still decides identity: the key
only says "nothing that could change content has changed since these bytes were hashed".
"""

from __future__ import annotations

import gc
import marshal
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager

import iscc_lib as il

from iscc_lineage.codes.fingerprint import IGNORED_NAMES

__all__ = ["gc_paused", "tree_state"]

#: v3: one signature pass over raw names; entries under the v1/v2 keys never match.
#: marshal version 2 has no back-references, so equal states give equal bytes
PREFIX = "tree-v3:"


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection meanwhile: building 10^5 small tuples or members would
    otherwise trigger repeated full collections (measured: half of a cache hit's time)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def tree_state(
    root: os.PathLike[str] | str, max_depth: int, *, want_newest: bool = False
) -> tuple[str, int] | None:
    """``(key, newest)`` of the folder at ``root`` as it is now, or None if it cannot be read.

    Per entry the key holds its raw name, mode, device, inode, size, mtime and ctime
    (``lstat``, as ``DirEntry.stat`` takes it; ctime cannot be set back by user space, so a
    restored mtime still misses); a symlink adds its target's stat, so editing a linked file
    misses. Subfolders count by name, mode, device and inode (their mtime changes with any
    entry, and the entries are in the key themselves). ``.snakemake_timestamp`` is left out,
    as it is out of the content. Entries are sorted per folder, so the listing order of the
    file system does not matter. ``newest`` (with ``want_newest``, else 0) is the largest
    mtime/ctime of the files: the caller caches only what is older than the racy window.
    None (deeper than ``max_depth``, an unreadable folder) sends the caller down the hashing
    path, which names the problem.
    """
    folders: list[tuple[str, list[tuple[object, ...]]]] = []
    stack: list[tuple[str, str, int]] = [(os.fspath(root), "", 0)]
    fmt, is_dir, is_link = stat.S_IFMT(0o177777), stat.S_IFDIR, stat.S_IFLNK
    with gc_paused():  # the hot loop: bytecode only between the two C calls per entry
        while stack:
            folder, rel, depth = stack.pop()
            if depth > max_depth:
                return None
            rows: list[tuple[object, ...]] = []
            try:
                with os.scandir(folder) as it:
                    for e in it:
                        name = e.name
                        if name in IGNORED_NAMES:
                            continue
                        st = e.stat(follow_symlinks=False)
                        mode = st.st_mode
                        kind = mode & fmt
                        if kind == is_dir:
                            rows.append((name, mode, st.st_dev, st.st_ino))
                            stack.append((e.path, rel + name + "/", depth + 1))
                        elif kind == is_link:
                            rows.append((name, mode, *_fields(st), *_target(e.path)))
                        else:
                            rows.append(
                                (
                                    name,
                                    mode,
                                    st.st_dev,
                                    st.st_ino,
                                    st.st_size,
                                    st.st_mtime_ns,
                                    st.st_ctime_ns,
                                )
                            )
            except OSError:
                return None
            rows.sort()
            folders.append((rel, rows))
        digest = il.InstanceHasher()
        digest.update(marshal.dumps(folders, 2))
        newest = _newest(folders) if want_newest else 0
    return PREFIX + digest.finalize(256)["datahash"], newest


def _newest(folders: list[tuple[str, list[tuple[object, ...]]]]) -> int:
    """The newest mtime/ctime of the files and link targets (folders' rows have no times)."""
    times: list[object] = []
    for _, rows in folders:
        for r in rows:
            times += r[5:7]  # a file's or link's own mtime, ctime
            times += r[11:13]  # a resolved link target's
    return max((t for t in times if isinstance(t, int)), default=0)


def _fields(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _target(path: str) -> tuple[object, ...]:
    """A symlink's target stat as key fields, or a marker when it does not resolve."""
    try:
        st = os.stat(path)
    except OSError:
        return ("-",)
    return (st.st_mode, *_fields(st))
