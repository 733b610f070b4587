"""Opening an RO-Crate (folder or zip) safely and reading its members, and only them.

A folder crate is read without following any symlink (a link in the payload is an error, never
a way out); a zip is read member by member, streamed from the archive (nothing is extracted),
with a limit on each member's compression ratio and on the bytes read in all. Duplicate member
names, overlapping members and unsafe names refuse the whole crate.
"""

from __future__ import annotations

import functools
import itertools
import os
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Protocol

from iscc_lineage.codes import (
    fingerprint_copy,
    fingerprint_members,
    fingerprint_path,
    fingerprint_stream,
)
from iscc_lineage.errors import ExportError, FingerprintError
from iscc_lineage.export.crate.sink import check_name
from iscc_lineage.export.crate.terms import METADATA
from iscc_lineage.locations import printable
from iscc_lineage.model import Fingerprint

__all__ = [
    "MAX_METADATA",
    "MAX_RATIO",
    "CrateReader",
    "FolderReader",
    "fingerprint_member",
    "open_crate",
    "read_member",
]

MAX_METADATA = 1 << 30  #: the largest ro-crate-metadata.json read (10^5 files is ~100 MB)
MAX_RATIO = 1100  #: above DEFLATE's ceiling (~1032:1): only a crafted member gets here
RATIO_FREE = 1 << 20  #: members that expand to less than this are not ratio-checked
MAX_TOTAL_FLOOR = 8 << 30  #: a zip is read up to max(this, MAX_RATIO x its size) bytes


class CrateReader(Protocol):
    """Reads a crate's members, and only them (a folder or a zip; see :func:`open_crate`)."""

    def metadata(self) -> bytes: ...

    def kind(self, rel: str) -> str: ...  # "file", "dir", "missing", or why it is refused

    def fingerprint(self, rel: str, is_dir: bool) -> tuple[Fingerprint, str | None]: ...

    def files(self) -> Iterator[str]: ...

    def read_bytes(self, rel: str, limit: int) -> bytes: ...


def read_member(reader: CrateReader, rel: str, limit: int = MAX_METADATA) -> bytes:
    """A small member's bytes (a note, a lineage document).

    :raises OSError: missing, a symlink or special file, larger than ``limit``, unreadable.
    """
    kind = reader.kind(rel)
    if kind != "file":
        raise OSError(f"{rel}: {'no such member' if kind == 'missing' else kind}")
    return reader.read_bytes(rel, limit)


def fingerprint_member(reader: CrateReader, rel: str) -> Fingerprint:
    """The fingerprint of a member (a file or a folder), read inside the crate only.

    :raises FingerprintError: missing, a symlink or special file, or unreadable.
    """
    kind = reader.kind(rel)
    if kind not in ("file", "dir"):
        raise FingerprintError(f"{rel}: {'no such member' if kind == 'missing' else kind}")
    return reader.fingerprint(rel, kind == "dir")[0]


class open_crate:  # a context manager used like a function
    """The reader of a folder or zip crate; refuses special files before reading them."""

    def __init__(self, crate: Path) -> None:
        self.crate = crate
        self.zf: zipfile.ZipFile | None = None

    def __enter__(self) -> CrateReader:
        try:
            st = os.stat(self.crate)
        except OSError as exc:
            raise ExportError(f"{printable(self.crate)}: {exc.strerror or exc}") from None
        if stat.S_ISDIR(st.st_mode):
            return FolderReader(self.crate)
        if not stat.S_ISREG(st.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device or socket"
            raise ExportError(f"{printable(self.crate)}: is {kind}, not a regular file")
        try:
            self.zf = zipfile.ZipFile(self.crate)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            raise ExportError(f"{printable(self.crate)}: neither a folder nor a zip file") from None
        try:
            return _Zip(self.crate, self.zf, st.st_size)
        except BaseException:
            self.zf.close()
            raise

    def __exit__(self, *exc: object) -> None:
        if self.zf is not None:
            self.zf.close()


class FolderReader:
    """A folder crate (or the local root): every path is walked with ``lstat``, and a symlink
    anywhere on it, or a special file, is an error instead of a read."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def metadata(self) -> bytes:
        kind = self.kind(METADATA)
        if kind != "file":
            why = "no ro-crate-metadata.json" if kind == "missing" else kind
            raise ExportError(f"{printable(self.root)}: not a readable RO-Crate ({why})")
        try:
            with open(self.root / METADATA, "rb") as f:
                raw = f.read(MAX_METADATA + 1)
        except OSError as exc:
            raise ExportError(
                f"{printable(self.root)}: not a readable RO-Crate ({exc.strerror or exc})"
            ) from None
        if len(raw) > MAX_METADATA:
            raise ExportError(
                f"{printable(self.root)}: ro-crate-metadata.json is larger "
                f"than {MAX_METADATA >> 20} MiB"
            )
        return raw

    def kind(self, rel: str) -> str:
        path = self.root
        parts = rel.split("/")
        for i, part in enumerate(parts):
            path = path / part
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                return "missing"
            except OSError as exc:
                return f"unreadable ({exc.strerror or exc})"
            if stat.S_ISLNK(st.st_mode):
                return "a symlink in the crate (not followed)"
            if i < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
                return "missing"
        if stat.S_ISDIR(st.st_mode):
            return "dir"
        if stat.S_ISREG(st.st_mode):
            return "file"
        return "a FIFO, device or socket, not a regular file"

    def fingerprint(self, rel: str, is_dir: bool) -> tuple[Fingerprint, str | None]:
        path = self.root.joinpath(*rel.split("/"))
        if not is_dir:
            return fingerprint_copy(path)
        for sub in _walk_names(path):  # refuse links and special files before hashing
            if self.kind(f"{rel}/{sub}") not in ("file", "dir"):
                raise FingerprintError(f"{rel}/{sub}: {self.kind(f'{rel}/{sub}')}")
        return fingerprint_path(path), None

    def files(self) -> Iterator[str]:
        for name in _walk_names(self.root):
            if self.kind(name) != "dir":
                yield name

    def read_bytes(self, rel: str, limit: int) -> bytes:
        with open(self.root.joinpath(*rel.split("/")), "rb") as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise OSError(f"{rel}: larger than {limit} bytes")
        return data


def _walk_names(root: Path) -> Iterator[str]:
    """Every entry below ``root`` (relative, ``/``-separated), symlinks not followed."""
    stack = [(root, "")]
    while stack:
        folder, rel = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            raise FingerprintError(f"{printable(folder)}: {exc.strerror or exc}") from None
        for e in entries:
            name = rel + os.fsdecode(e.name)
            yield name
            if e.is_dir(follow_symlinks=False):
                stack.append((Path(e.path), name + "/"))


class _Zip:
    """A zip crate, read in place: members are streamed from the archive, never extracted."""

    def __init__(self, crate: Path, zf: zipfile.ZipFile, size: int) -> None:
        self.crate, self.zf = crate, zf
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.dirs: set[str] = set()
        self.budget = max(MAX_TOTAL_FLOOR, MAX_RATIO * size)
        infos = zf.infolist()
        for info in infos:
            name = info.filename.removesuffix("/")
            if name in self.members or name in self.dirs:
                raise ExportError(
                    f"{printable(crate)}: the member {name!r} is in the zip twice "
                    "(readers would disagree on which one is the crate)"
                )
            try:
                check_name(name)
            except ExportError as exc:
                raise ExportError(f"{printable(crate)}: {exc}") from None
            if info.is_dir():
                self.dirs.add(name)
            else:
                self.members[name] = info
            parts = name.split("/")
            self.dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
        ordered = sorted(infos, key=lambda i: i.header_offset)
        for a, b in itertools.pairwise(ordered):
            if a.header_offset + 30 + a.compress_size > b.header_offset:
                raise ExportError(
                    f"{printable(crate)}: members {a.filename!r} and "
                    f"{b.filename!r} overlap (a zip bomb); not read"
                )

    def metadata(self) -> bytes:
        info = self.members.get(METADATA)
        if info is None:
            raise ExportError(
                f"{printable(self.crate)}: not a readable RO-Crate (no ro-crate-metadata.json)"
            )
        if info.file_size > MAX_METADATA:
            raise ExportError(
                f"{printable(self.crate)}: ro-crate-metadata.json is larger "
                f"than {MAX_METADATA >> 20} MiB"
            )
        with self._open(info) as f:
            try:
                return f.read(MAX_METADATA + 1)
            except _READ_ERRORS as exc:
                raise ExportError(
                    f"{printable(self.crate)}: not a readable RO-Crate ({exc})"
                ) from None

    def kind(self, rel: str) -> str:
        info = self.members.get(rel)
        if info is not None:
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                return "a symlink in the crate (not followed)"
            return "file"
        return "dir" if rel in self.dirs else "missing"

    def fingerprint(self, rel: str, is_dir: bool) -> tuple[Fingerprint, str | None]:
        try:
            if not is_dir:
                with self._open(self.members[rel]) as f:
                    return fingerprint_stream(f)
            prefix = rel + "/"
            inside = {
                n[len(prefix) :]: info for n, info in self.members.items() if n.startswith(prefix)
            }
            for name in inside:
                if self.kind(prefix + name) != "file":
                    raise FingerprintError(f"{prefix}{name}: {self.kind(prefix + name)}")
            openers: dict[str, Callable[[], IO[bytes]]] = {
                name: functools.partial(self._open, info) for name, info in inside.items()
            }
            return fingerprint_members(openers), None
        except _READ_ERRORS as exc:
            raise FingerprintError(f"{rel}: unreadable zip member ({exc})") from None

    def files(self) -> Iterator[str]:
        yield from self.members

    def read_bytes(self, rel: str, limit: int) -> bytes:
        info = self.members[rel]
        if info.file_size > limit:
            raise OSError(f"{rel}: larger than {limit} bytes")
        try:
            with self._open(info) as f:
                return f.read(limit + 1)
        except _READ_ERRORS as exc:
            raise OSError(f"{rel}: unreadable zip member ({exc})") from None

    def _open(self, info: zipfile.ZipInfo) -> IO[bytes]:
        """A member's stream, refused when its ratio is a bomb's or the budget is spent."""
        if info.file_size > RATIO_FREE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ExportError(
                f"{printable(self.crate)}: member {info.filename!r} has a "
                f"compression ratio above {MAX_RATIO}:1 (a zip bomb); not read"
            )
        if info.file_size > self.budget:
            raise ExportError(
                f"{printable(self.crate)}: expands to more than "
                f"{self.budget >> 20} MiB; not read further"
            )
        self.budget -= info.file_size
        return self.zf.open(info)


_READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
)
