"""ISCC-SUM fingerprints of files and directories, in one streaming read per file.

The only module that imports the hashing engine (iscc-lib: conformant, releases the GIL).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import stat
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Protocol

import iscc_lib as il

from iscc_lineage.errors import FingerprintError
from iscc_lineage.model import Fingerprint, Member

__all__ = [
    "IGNORED_NAMES",
    "IO_READ_SIZE",
    "FingerprintCache",
    "fingerprint_bytes",
    "fingerprint_copy",
    "fingerprint_file",
    "fingerprint_many",
    "fingerprint_path",
    "hamming",
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
    return _show_name(os.fsdecode(path))


def _show_name(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


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
        raise FingerprintError(f"{_show(path)}: {exc.strerror or exc}") from None


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


def fingerprint_copy(path: Path, dst: IO[bytes] | None = None, *,
                     on_bytes: OnBytes | None = None) -> tuple[Fingerprint, str]:
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


class _Writer:
    """A sink that writes what it is fed (errors become FingerprintError, as reads do)."""

    def __init__(self, dst: IO[bytes]) -> None:
        self.dst = dst

    def update(self, data: bytes, /) -> None:
        try:
            self.dst.write(data)
        except OSError as exc:
            raise FingerprintError(f"cannot write copy: {exc.strerror or exc}") from None


def _sort_key(name: str) -> tuple[bytes, bytes]:
    # iscc-sum's treewalk.listdir key: NFC UTF-8 bytes, ties (NFC-equal names) by raw bytes.
    # surrogateescape keeps non-UTF-8 names sortable (iscc-sum itself raises on them).
    nfc = unicodedata.normalize("NFC", name)
    return nfc.encode("utf-8", "surrogateescape"), os.fsencode(name)


def _is_ignore_file(name: str) -> bool:
    # iscc-sum yields ".*ignore" files of a directory before its other files.
    return name.startswith(".") and name.endswith("ignore")


def _walk(root: Path, rel: str = "") -> Iterable[tuple[str, Path, bool]]:
    """iscc-sum's TREEWALK order; yields ``(relpath, path, is_symlink)``.

    Per directory: entries sorted by :func:`_sort_key`; ``.*ignore`` files first, then the
    other non-directories, then each subdirectory recursively. Symlinks are yielded in the
    file position (iscc-sum skips them; the tree code does too). Directory symlinks are
    recorded, never followed, so a loop cannot recur. ``relpath`` is NFC-normalised, with
    non-UTF-8 bytes escaped so that it can be stored and printed.
    """
    try:
        with os.scandir(root) as it:
            entries = sorted(it, key=lambda e: _sort_key(e.name))
    except OSError as exc:
        raise FingerprintError(f"{_show(root)}: {exc.strerror or exc}") from None
    first: list[tuple[str, Path, bool]] = []
    files: list[tuple[str, Path, bool]] = []
    dirs: list[tuple[str, Path]] = []
    for e in entries:
        if e.name in IGNORED_NAMES:
            continue
        relpath = rel + _show_name(unicodedata.normalize("NFC", e.name))
        if e.is_symlink():
            files.append((relpath, Path(e.path), True))
        elif e.is_dir(follow_symlinks=False):
            dirs.append((relpath, Path(e.path)))
        else:
            (first if _is_ignore_file(e.name) else files).append((relpath, Path(e.path), False))
    yield from first
    yield from files
    for relpath, sub in dirs:
        yield from _walk(sub, relpath + "/")


def _stat(p: Path, *, follow: bool) -> os.stat_result | None:
    try:
        return os.stat(p, follow_symlinks=follow)
    except OSError:
        return None


def _tree_state(listing: Sequence[tuple[str, Path, bool]]) -> tuple[str, int]:
    """The cache key of a listing and the newest mtime/ctime in it.

    A symlink contributes its own stat and its target's, so editing a linked file misses.
    """
    parts = []
    newest = 0
    for relpath, p, is_link in listing:
        stats = [_stat(p, follow=True)]
        if is_link:
            stats.insert(0, _stat(p, follow=False))
        for st in stats:
            if st is not None:
                newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
        parts.append(relpath + "\0" + "\0".join(stat_key(st) if st else "-" for st in stats))
    digest = il.InstanceHasher()
    digest.update("\n".join(parts).encode("utf-8"))
    # v2: iscc-sum's order and symlink targets; entries cached under the v1 rules never match
    return "tree-v2:" + digest.finalize(256)["datahash"], newest


def _link_member(relpath: str, p: Path, seen: dict[Path, Fingerprint],
                 on_bytes: OnBytes | None) -> Member:
    """A symlink: its target text, and the target's content when that is a regular file."""
    try:
        link = _show_name(os.fsdecode(os.readlink(p)))
    except OSError as exc:  # pragma: no cover - the link went away since the walk
        raise FingerprintError(f"{_show(p)}: {exc.strerror or exc}") from None
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
    listing = list(_walk(root))
    key = _tree_state(listing)[0] if cache is not None else None
    if cache is not None and key is not None:
        hit = cache.cache_get(key)
        if hit is not None:
            if on_bytes is not None:
                on_bytes(hit.size)
            return hit
    tree = il.SumHasher()
    members: list[Member] = []
    seen: dict[Path, Fingerprint] = {}
    for relpath, p, is_link in listing:
        if is_link:
            members.append(_link_member(relpath, p, seen, on_bytes))
            continue
        _check_regular(p)
        h = il.InstanceHasher()  # members need only datahash and size: skip their Data-Code
        sinks = (h,) if p.name.endswith(".iscc.json") else (h, tree)  # as iscc-sum
        _read_into(p, sinks, on_bytes)
        r = h.finalize(256)
        members.append(Member(relpath, r["datahash"], int(r["filesize"])))
    iscc, data_code, instance_code, _, size = _finish(tree)
    datahash = _manifest_digest(members)
    fp = Fingerprint(iscc, datahash, size, data_code, instance_code, "tree", tuple(members))
    if cache is not None and key is not None:
        after, newest = _tree_state(listing)
        if after == key and time.time_ns() - newest >= RACY_SECONDS * 1e9:
            cache.cache_put([(key, fp)])
    return fp


def _is_regular(p: Path) -> bool:
    try:
        return stat.S_ISREG(p.stat().st_mode)
    except OSError:
        return False


def fingerprint_path(
    path: Path, *, cache: FingerprintCache | None = None, on_bytes: OnBytes | None = None
) -> Fingerprint:
    """Fingerprint a file or a directory, through the stat cache when one is given.

    :raises FingerprintError: with a one-line message naming the path and the problem.
    """
    path = Path(path)
    return _fingerprint_stat(path, _stat(path, follow=True), cache, on_bytes)


def _fingerprint_stat(path: Path, st: os.stat_result | None, cache: FingerprintCache | None,
                      on_bytes: OnBytes | None) -> Fingerprint:
    """:func:`fingerprint_path` given the path's stat (None if it failed)."""
    # One stat decides directory / regular file; per-file cost matters for many small files
    # (benchmarks: 10,000 x 4 KiB). Anything else goes to _check_regular for its message.
    if st is not None and stat.S_ISDIR(st.st_mode):
        return fingerprint_tree(path, on_bytes=on_bytes, cache=cache)
    if st is None or not stat.S_ISREG(st.st_mode):
        st = _check_regular(path)
    key = stat_key(st)
    if cache is not None:
        hit = cache.cache_get(key)
        if hit is not None:
            if on_bytes is not None:
                on_bytes(st.st_size)
            return hit
    return _hash_and_cache(path, key, st.st_size, cache, on_bytes)


def _hash_and_cache(path: Path, key: str, size: int, cache: FingerprintCache | None,
                    on_bytes: OnBytes | None) -> Fingerprint:
    """Hash a regular file last seen with stat ``key``; cache it if still so and not racy."""
    fp = _hash_file(path, on_bytes, size)
    if cache is not None:
        after = _stat(path, follow=True)  # unchanged while read, and old enough to trust
        if after is not None and stat_key(after) == key:
            newest = max(after.st_mtime_ns, after.st_ctime_ns)
            if time.time_ns() - newest >= RACY_SECONDS * 1e9:
                cache.cache_put([(key, fp)])
    return fp


def _lookup(path: Path, cache: FingerprintCache, on_bytes: OnBytes | None
            ) -> Fingerprint | str | None:
    """A regular file's cached fingerprint, its stat key on a miss, None if not a file."""
    st = _stat(path, follow=True)
    if st is None or not stat.S_ISREG(st.st_mode):
        return None
    key = stat_key(st)
    hit = cache.cache_get(key)
    if hit is None:
        return key
    if on_bytes is not None:
        on_bytes(st.st_size)
    return hit


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
                return _hash_and_cache(Path(paths[i]), keys[i] or "", st.st_size, cache,
                                       on_bytes)
            return _fingerprint_stat(Path(paths[i]), stats[i], cache, on_bytes)
        except FingerprintError as exc:
            return exc

    done: dict[int, Fingerprint | FingerprintError] = {}
    keys: list[str | None] = [None] * len(paths)
    if cache is not None:
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
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="iscc-fp",
                                initializer=_mark_pool_thread) as pool:
            done.update(zip(large, pool.map(one, large), strict=True))
    return [done[i] for i in range(len(paths))]


def _mark_pool_thread() -> None:
    """Pool threads already keep every core busy: no second thread per file there."""
    _pool_thread.busy = True


def _is_small(st: os.stat_result | None) -> bool:
    """A regular file under :data:`SMALL_FILE` bytes (errors count as small: they are cheap)."""
    return st is None or (stat.S_ISREG(st.st_mode) and st.st_size < SMALL_FILE)


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
