"""ISCC-SUM fingerprints of directories (OME-Zarr containers, ``directory()`` outputs).

Members in iscc-sum's TREEWALK order, symlinks recorded and never followed, a manifest digest
as the directory's identity and the ``iscc-sum --tree`` code as its ISCC.
"""

from __future__ import annotations

import json
import os
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import iscc_lib as il

from iscc_lineage.codes.fingerprint import (
    IGNORED_NAMES,
    IO_READ_SIZE,
    RACY_SECONDS,
    FingerprintCache,
    OnBytes,
    _cached,
    _check_regular,
    _finish,
    _is_regular,
    _read_into,
    _stat,
    fingerprint_file,
    stat_key,
)
from iscc_lineage.errors import FingerprintError
from iscc_lineage.locations import printable
from iscc_lineage.model import Fingerprint, Member

__all__ = ["MAX_DEPTH", "fingerprint_members", "fingerprint_tree", "tree_files", "treewalk_order"]


def _sort_key(name: str) -> tuple[bytes, bytes]:
    # iscc-sum's treewalk.listdir key: NFC UTF-8 bytes, ties (NFC-equal names) by raw bytes.
    # surrogateescape keeps non-UTF-8 names sortable (iscc-sum itself raises on them).
    nfc = unicodedata.normalize("NFC", name)
    return nfc.encode("utf-8", "surrogateescape"), os.fsencode(name)


def _is_ignore_file(name: str) -> bool:
    # iscc-sum yields ".*ignore" files of a directory before its other files.
    return name.startswith(".") and name.endswith("ignore")


MAX_DEPTH = 512  #: folders nested deeper than this are refused (one FingerprintError)


def _names(entries: Sequence[os.DirEntry[str]]) -> list[str]:
    """The member names of one folder's entries: NFC, unless two entries are NFC-equal.

    The identity rule: a name is stored NFC-normalised (so a folder copied between macOS and
    Linux keeps its identity), non-UTF-8 bytes escaped (``\\xff``). Names that are equal
    under NFC (``café`` composed and decomposed side by side) keep their own form instead,
    so each stays a member of its own and no step is lost. Names still equal after that (a
    raw ``\\xff`` beside a byte 0xff) cannot be told apart: the folder is refused.
    """
    nfc = [unicodedata.normalize("NFC", e.name) for e in entries]
    twins = {n for n in nfc if nfc.count(n) > 1} if len(set(nfc)) < len(nfc) else set()
    names = [printable(e.name if n in twins else n) for e, n in zip(entries, nfc, strict=True)]
    if len(set(names)) < len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise FingerprintError(f"{printable(entries[0].path)}: two members are both named "
                               f"{dup!r} once escaped")
    return names


def _walk(root: Path) -> Iterator[tuple[str, Path, bool]]:
    """iscc-sum's TREEWALK order; yields ``(relpath, path, is_symlink)``.

    Per directory: entries sorted by :func:`_sort_key`; ``.*ignore`` files first, then the
    other non-directories, then each subdirectory in turn. Symlinks are yielded in the file
    position (iscc-sum skips them; the tree code does too). Directory symlinks are recorded,
    never followed, so a loop cannot recur. ``relpath`` follows :func:`_names`. Iterative (an
    explicit stack), so any depth up to :data:`MAX_DEPTH` works.
    """
    stack: list[tuple[Path, str, int]] = [(root, "", 0)]
    while stack:
        folder, rel, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FingerprintError(f"{printable(root)}: folders nested deeper than "
                                   f"{MAX_DEPTH} levels (not fingerprinted)")
        try:
            with os.scandir(folder) as it:
                entries = sorted((e for e in it if e.name not in IGNORED_NAMES),
                                 key=lambda e: _sort_key(e.name))
        except OSError as exc:
            raise FingerprintError(f"{printable(folder)}: {exc.strerror or exc}") from None
        first: list[tuple[str, Path, bool]] = []
        files: list[tuple[str, Path, bool]] = []
        dirs: list[tuple[Path, str, int]] = []
        for e, name in zip(entries, _names(entries), strict=True):
            relpath = rel + name
            try:
                is_link = e.is_symlink()
                is_dir = not is_link and e.is_dir(follow_symlinks=False)
            except OSError as exc:
                raise FingerprintError(f"{printable(e.path)}: {exc.strerror or exc}") from None
            if is_link:
                files.append((relpath, Path(e.path), True))
            elif is_dir:
                dirs.append((Path(e.path), relpath + "/", depth + 1))
            else:
                (first if _is_ignore_file(e.name) else files).append(
                    (relpath, Path(e.path), False))
        yield from first
        yield from files
        stack.extend(reversed(dirs))  # the first subdirectory is walked next


def tree_files(root: Path) -> dict[str, Path]:
    """Member name -> the real entry on disk, for every member of the folder at ``root``.

    Stored names are normalised (:func:`_names`), so a copy must open the entry the walk saw.
    """
    return {relpath: p for relpath, p, _ in _walk(Path(root))}


def treewalk_order(names: Iterable[str]) -> list[str]:
    """Member names (``/``-separated, relative) in iscc-sum's TREEWALK order, as
    :func:`_walk` yields the members of a folder on disk (for members read from a zip)."""
    root: dict[str, Any] = {}
    for name in names:
        node = root
        *dirs, leaf = name.split("/")
        for d in dirs:
            sub = node.setdefault(d, {})
            if sub is None:  # a file and a folder of one name
                raise FingerprintError(f"{name}: a member below a file")
            node = sub
        if leaf in IGNORED_NAMES:
            continue
        if isinstance(node.get(leaf), dict):
            raise FingerprintError(f"{name}: a file and a folder of one name")
        node[leaf] = None
    out: list[str] = []
    stack: list[tuple[dict[str, Any], str]] = [(root, "")]
    while stack:
        node, rel = stack.pop()
        keys = sorted(node, key=_sort_key)
        files = [k for k in keys if node[k] is None]
        out.extend(rel + k for k in files if _is_ignore_file(k))
        out.extend(rel + k for k in files if not _is_ignore_file(k))
        stack.extend((node[k], rel + k + "/") for k in reversed(keys) if node[k] is not None)
    return out


def fingerprint_members(members: Mapping[str, Callable[[], IO[bytes]]], *,
                        on_bytes: OnBytes | None = None) -> Fingerprint:
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
    return Fingerprint(iscc, _manifest_digest(out), size, data_code, instance_code, "tree",
                       tuple(out))


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
    listing = list(_walk(root))
    key = _tree_state(listing)[0] if cache is not None else None
    if cache is not None and key is not None:
        hit = _cached(cache, key, on_bytes)
        if hit is not None:
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
