"""ISCC-SUM fingerprints of directories (OME-Zarr containers, ``directory()`` outputs).

Members in iscc-sum's TREEWALK order (:mod:`~iscc_lineage.codes.treewalk`), symlinks recorded
and never followed, a manifest digest as the directory's identity and the ``iscc-sum --tree``
code as its ISCC.
"""

from __future__ import annotations

import json
import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

import iscc_lib as il

from iscc_lineage.codes.fingerprint import (
    IO_READ_SIZE,
    RACY_SECONDS,
    FingerprintCache,
    OnBytes,
    _cached,
    _check_regular,
    _finish,
    _is_regular,
    fingerprint_file,
)
from iscc_lineage.codes.treestate import gc_paused, tree_state
from iscc_lineage.codes.treewalk import (
    LINK,
    MAX_DEPTH,
    OTHER,
    tree_files,
    treewalk_order,
    walk,
)
from iscc_lineage.errors import FingerprintError
from iscc_lineage.locations import printable
from iscc_lineage.model import Fingerprint, Member

__all__ = ["MAX_DEPTH", "fingerprint_members", "fingerprint_tree", "tree_files", "treewalk_order"]

BATCH = 1 << 20  #: bytes handed to the tree hasher's thread at once


def fingerprint_members(
    members: Mapping[str, Callable[[], IO[bytes]]], *, on_bytes: OnBytes | None = None
) -> Fingerprint:
    """The fingerprint of a folder given as member name -> opener (a zip's members), equal
    to :func:`fingerprint_tree` of the same files on disk. Symlinks cannot be given.

    :raises FingerprintError: names that cannot form a folder.
    :raises OSError: as an opened stream raises it.
    """
    tree = il.SumHasher()
    out: list[Member] = []
    for relpath in treewalk_order(members):
        h = il.InstanceHasher()
        sinks = (h,) if relpath.rsplit("/", 1)[-1].endswith(".iscc.json") else (h, tree)
        with members[relpath]() as f:
            while chunk := f.read(IO_READ_SIZE):
                for sink in sinks:
                    sink.update(chunk)
                if on_bytes is not None:
                    on_bytes(len(chunk))
        r = h.finalize(256)
        out.append(Member(relpath, r["datahash"], int(r["filesize"])))
    iscc, data_code, instance_code, _, size = _finish(tree)
    return Fingerprint(
        iscc, _manifest_digest(out), size, data_code, instance_code, "tree", tuple(out)
    )


class _Feeder:
    """The tree hasher (Data-Code and Instance-Code of all bytes) on its own thread.

    Chunks of small files are joined into :data:`BATCH`-sized blocks, so the thread wakes
    once per MiB instead of once per 4 KiB chunk; the engine releases the GIL while hashing,
    so the main thread meanwhile opens, reads and BLAKE3-hashes the next members.
    """

    def __init__(self, hasher: il.SumHasher) -> None:
        self.hasher = hasher
        self.parts: list[bytes] = []
        self.size = 0
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="iscc-fp-tree", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (block := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.hasher.update(block)
                except BaseException as exc:  # pragma: no cover - the engine does not raise
                    self.error = exc

    def update(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)
        if self.size >= BATCH:
            self.queue.put(b"".join(self.parts) if len(self.parts) > 1 else self.parts[0])
            self.parts, self.size = [], 0

    def close(self) -> None:
        if self.parts:
            self.queue.put(b"".join(self.parts))
            self.parts = []
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:  # pragma: no cover
            raise self.error


def _hash_member(path: str, tree: _Feeder | None, on_bytes: OnBytes | None) -> tuple[str, int]:
    """One regular member file: its datahash and size.

    Opened non-blocking, so a FIFO swapped in since the walk cannot hang the read; read with
    the fd's own calls (no file object per chunk file).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise FingerprintError(f"{printable(path)}: {exc.strerror or exc}") from None
    try:
        h = il.InstanceHasher()
        want, done = FIRST_READ, 0
        while chunk := os.read(fd, want):
            h.update(chunk)
            if tree is not None:
                tree.update(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
            done += len(chunk)
            if len(chunk) < want:  # a short read: at the end if the size says so (no
                st = os.fstat(fd)  # second read per chunk file); else read on
                if st.st_size == done:
                    break
            want = IO_READ_SIZE
        else:
            st = os.fstat(fd)
    except OSError as exc:
        raise FingerprintError(f"{printable(path)}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if not stat.S_ISREG(st.st_mode):
        _check_regular(Path(path))  # raises with the kind (it changed since the walk)
    r = h.finalize(256)
    return r["datahash"], int(r["filesize"])


FIRST_READ = 64 << 10  #: chunk files are small: no 1 MiB buffer for each of them


def _link_member(
    relpath: str, p: Path, seen: dict[Path, Fingerprint], on_bytes: OnBytes | None
) -> Member:
    """A symlink: its target text, and the target's content when that is a regular file."""
    try:
        link = printable(os.fsdecode(os.readlink(p)))
    except OSError as exc:  # pragma: no cover - the link went away since the walk
        raise FingerprintError(f"{printable(p)}: {exc.strerror or exc}") from None
    target = Path(os.path.realpath(p))
    if not _is_regular(target):  # dangling, a loop, a directory, a FIFO: recorded, not followed
        return Member(relpath, None, 0, link)
    if target not in seen:
        seen[target] = fingerprint_file(target, on_bytes=on_bytes)
    return Member(relpath, seen[target].datahash, seen[target].size, link)


def _manifest_digest(members: Sequence[Member]) -> str:
    manifest: list[list[str | int | None]] = []
    for m in members:
        if m.link is None:
            manifest.append([m.path, m.datahash, m.size])
        elif m.datahash is None:
            manifest.append([m.path, "symlink", m.link])
        else:  # a link's content is part of the directory's identity, like a file's
            manifest.append([m.path, "symlink", m.link, m.datahash, m.size])
    digest = il.InstanceHasher()
    digest.update(json.dumps(manifest, separators=(",", ":"), ensure_ascii=False).encode())
    return str(digest.finalize(256)["datahash"])


def fingerprint_tree(
    root: Path, *, on_bytes: OnBytes | None = None, cache: FingerprintCache | None = None
) -> Fingerprint:
    """Fingerprint a directory: per-member fingerprints, a manifest digest and a tree code.

    The manifest digest (the ``datahash``) is BLAKE3 over the canonical JSON list, in
    TREEWALK order, of ``[relpath, datahash, size]`` per file and ``[relpath, "symlink",
    target]`` per symlink (plus ``datahash, size`` when it resolves to a regular file), so a
    renamed or moved chunk changes identity. Symlinked files are fingerprinted through their
    target once; directory symlinks are recorded but not followed.

    The ``iscc`` is the tree code of ``iscc-sum --tree --narrow``: all bytes of the regular
    files in TREEWALK order, without symlinks and ``*.iscc.json``. It differs from iscc-sum
    when the tree holds ``.snakemake_timestamp`` (ignored here, see ``IGNORED_NAMES``) or an
    ``.isccignore`` with patterns (not honoured: ignored files stay content), and for an empty
    tree (iscc-sum refuses it; here it is the code of no bytes).
    """
    state = tree_state(root, MAX_DEPTH) if cache is not None else None
    if cache is not None and state is not None:
        with gc_paused():  # decoding 10^5 members builds as many small objects
            hit = _cached(cache, state[0], on_bytes)
        if hit is not None:
            return hit
    listing = walk(root)
    tree = il.SumHasher()
    feeder = _Feeder(tree)
    members: list[Member] = []
    seen: dict[Path, Fingerprint] = {}
    try:
        for relpath, p, kind in listing:
            if kind == LINK:
                members.append(_link_member(relpath, Path(p), seen, on_bytes))
                continue
            if kind == OTHER:
                _check_regular(Path(p))  # a FIFO, a socket, a device: one-line error
            # members need only datahash and size: skip their Data-Code. *.iscc.json files
            # are members but not tree content (as iscc-sum).
            datahash, size = _hash_member(p, None if p.endswith(".iscc.json") else feeder, on_bytes)
            members.append(Member(relpath, datahash, size))
    finally:
        feeder.close()
    iscc, data_code, instance_code, _, size = _finish(tree)
    datahash = _manifest_digest(members)
    fp = Fingerprint(iscc, datahash, size, data_code, instance_code, "tree", tuple(members))
    if cache is not None and state is not None:
        # cached only if the state after reading is the state before (nothing changed while
        # read) and no member changed within the racy window (mtime granularity)
        after = tree_state(root, MAX_DEPTH, want_newest=True)
        fresh = after is not None and time.time_ns() - after[1] < RACY_SECONDS * 1e9
        if after is not None and after[0] == state[0] and not fresh:
            cache.cache_put([(state[0], fp)])
    return fp
