"""iscc-sum's TREEWALK order of a folder's members (on disk or as names), and member names."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from iscc_lineage.codes.fingerprint import IGNORED_NAMES
from iscc_lineage.errors import FingerprintError
from iscc_lineage.locations import printable

__all__ = [
    "LINK",
    "MAX_DEPTH",
    "OTHER",
    "REGULAR",
    "Entry",
    "tree_files",
    "treewalk_order",
    "walk",
]


#: what the walk saw: a regular file, a symlink, anything else (its stat decides: an error)
REGULAR, LINK, OTHER = 0, 1, 2
Entry = tuple[str, str, int]  #: (relpath, path, kind)


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
    if all(e.name.isascii() for e in entries):  # NFC and escaping leave ASCII alone
        return [e.name for e in entries]
    nfc = [unicodedata.normalize("NFC", e.name) for e in entries]
    twins = {n for n in nfc if nfc.count(n) > 1} if len(set(nfc)) < len(nfc) else set()
    names = [printable(e.name if n in twins else n) for e, n in zip(entries, nfc, strict=True)]
    if len(set(names)) < len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise FingerprintError(
            f"{printable(entries[0].path)}: two members are both named {dup!r} once escaped"
        )
    return names


def walk(root: Path | str) -> list[Entry]:
    """iscc-sum's TREEWALK order: ``(relpath, path, kind)`` per entry.

    Per directory: entries sorted by :func:`_sort_key`; ``.*ignore`` files first, then the
    other non-directories, then each subdirectory in turn. Symlinks are listed in the file
    position (iscc-sum skips them; the tree code does too). Directory symlinks are recorded,
    never followed, so a loop cannot recur. ``relpath`` follows :func:`_names`. Iterative (an
    explicit stack), so any depth up to :data:`MAX_DEPTH` works; a list, and the kind comes
    from the directory listing (``d_type``): no stat and no generator frame per file.
    """
    top = os.fspath(root)
    out: list[Entry] = []
    stack: list[tuple[str, str, int]] = [(top, "", 0)]
    while stack:
        folder, rel, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FingerprintError(
                f"{printable(top)}: folders nested deeper than "
                f"{MAX_DEPTH} levels (not fingerprinted)"
            )
        try:
            with os.scandir(folder) as it:
                entries = [e for e in it if e.name not in IGNORED_NAMES]
        except OSError as exc:
            raise FingerprintError(f"{printable(folder)}: {exc.strerror or exc}") from None
        if all(e.name.isascii() for e in entries):  # ASCII str order is byte order
            entries.sort(key=lambda e: e.name)
        else:
            entries.sort(key=lambda e: _sort_key(e.name))
        first: list[Entry] = []
        files: list[Entry] = []
        dirs: list[tuple[str, str, int]] = []
        for e, name in zip(entries, _names(entries), strict=True):
            relpath = rel + name
            try:
                if e.is_symlink():
                    files.append((relpath, e.path, LINK))
                elif e.is_dir(follow_symlinks=False):
                    dirs.append((e.path, relpath + "/", depth + 1))
                else:
                    kind = REGULAR if e.is_file(follow_symlinks=False) else OTHER
                    (first if _is_ignore_file(e.name) else files).append((relpath, e.path, kind))
            except OSError as exc:
                raise FingerprintError(f"{printable(e.path)}: {exc.strerror or exc}") from None
        out += first
        out += files
        stack.extend(reversed(dirs))  # the first subdirectory is walked next
    return out


def tree_files(root: Path) -> dict[str, Path]:
    """Member name -> the real entry on disk, for every member of the folder at ``root``.

    Stored names are normalised (:func:`_names`), so a copy must open the entry the walk saw.
    """
    return {relpath: Path(p) for relpath, p, _ in walk(root)}


def treewalk_order(names: Iterable[str]) -> list[str]:
    """Member names (``/``-separated, relative) in iscc-sum's TREEWALK order, as
    :func:`walk` yields the members of a folder on disk (for members read from a zip)."""
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
