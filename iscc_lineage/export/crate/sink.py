"""Where a crate is written: a folder or a zip file, and nowhere else.

Every name is checked to stay inside the output (no absolute paths, no ``..``, no symlinked
folders); an existing output is replaced only with ``force``, and a folder only when it is
a crate. The crate is written to ``OUT.partial`` and renamed when complete, so a failed or
killed export never leaves a half-written OUT. Zip members carry a fixed timestamp (the
crate's ``datePublished``) so that two exports of one store are byte-identical.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol

from iscc_lineage.errors import ExportError
from iscc_lineage.export.crate.terms import METADATA

__all__ = ["Sink", "check_name", "check_out", "open_sink"]


class Sink(Protocol):
    """Opens crate members for writing, by crate-relative POSIX name."""

    def open(self, rel: str) -> IO[bytes]: ...

    def mkdir(self, rel: str) -> None: ...


def check_name(rel: str) -> str:
    """A member name that cannot leave the crate.

    :raises ExportError: absolute, empty parts, ``..``, or a NUL byte.
    """
    parts = rel.split("/")
    if not rel or rel.startswith("/") or "\0" in rel or any(p in ("", ".", "..") for p in parts):
        raise ExportError(f"{rel!r}: not a safe path inside the crate")
    return rel


class _FolderSink:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def open(self, rel: str) -> IO[bytes]:
        dest = self.root.joinpath(*check_name(rel).split("/"))
        dest.parent.mkdir(parents=True, exist_ok=True)
        # the folders are ours, but a name may meet a symlink left by a recorded tree
        if not dest.parent.resolve().is_relative_to(self.root) or dest.is_symlink():
            raise ExportError(f"{rel!r}: would be written outside the crate")
        try:
            return open(dest, "xb")
        except FileExistsError:
            raise ExportError(f"{rel!r}: two files of the crate have this path") from None

    def mkdir(self, rel: str) -> None:
        dest = self.root.joinpath(*check_name(rel).split("/"))
        dest.mkdir(parents=True, exist_ok=True)
        if not dest.resolve().is_relative_to(self.root):
            raise ExportError(f"{rel!r}: would be written outside the crate")


class _ZipSink:
    def __init__(self, zf: zipfile.ZipFile, date: str) -> None:
        self.zf = zf
        self.names: set[str] = set()
        try:
            t = datetime.fromisoformat(date)
            stamp = (t.year, t.month, t.day, t.hour, t.minute, t.second)
        except ValueError:
            stamp = (1980, 1, 1, 0, 0, 0)
        self.stamp = max(stamp, (1980, 1, 1, 0, 0, 0))  # the zip epoch

    def open(self, rel: str) -> IO[bytes]:
        if check_name(rel) in self.names:
            raise ExportError(f"{rel!r}: two files of the crate have this path")
        self.names.add(rel)
        info = zipfile.ZipInfo(rel, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        return self.zf.open(info, "w", force_zip64=True)

    def mkdir(self, rel: str) -> None:
        name = check_name(rel) + "/"
        if name not in self.names:  # an entry, so that an empty folder exists in the zip
            self.names.add(name)
            info = zipfile.ZipInfo(name, date_time=self.stamp)
            info.external_attr = (0o40755 << 16) | 0x10
            self.zf.writestr(info, b"")


PARTIAL = ".partial"  #: suffix of the crate being written; renamed to OUT when complete


@contextmanager
def open_sink(out: Path, *, as_zip: bool, force: bool, date: str) -> Iterator[Sink]:
    """Check ``out``, yield a sink writing into ``OUT.partial``, and rename it to ``out`` when
    everything is written; on an error, or if killed, ``out`` is untouched (a leftover
    ``OUT.partial`` of a killed export is replaced by the next one).

    :raises ExportError: ``out`` exists and ``force`` is not given, or it cannot be replaced.
    """
    out = Path(out)
    check_out(out, as_zip=as_zip, force=force)
    partial = out.with_name(out.name + PARTIAL)
    _remove(partial)
    try:
        if as_zip:
            with zipfile.ZipFile(
                partial, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True
            ) as zf:
                yield _ZipSink(zf, date)
        else:
            partial.mkdir()  # not its parents: nothing is created outside ``out``'s folder
            yield _FolderSink(partial)
        _replace(partial, out)
    except BaseException as exc:
        _remove(partial)
        if isinstance(exc, OSError):
            raise ExportError(f"{out}: {exc.strerror or exc}") from None
        raise


def check_out(out: Path, *, as_zip: bool, force: bool) -> None:
    """Refuse an output that could not be written or replaced (checked before any work).

    :raises ExportError: no such parent folder, or ``out`` exists and may not be replaced.
    """
    out = Path(out)
    if not out.parent.is_dir():
        raise ExportError(f"{out.parent}: no such folder")
    _prepare(out, as_zip=as_zip, force=force)


def _prepare(out: Path, *, as_zip: bool, force: bool) -> None:
    """Check that ``out`` may be written (replaced at the end, only under ``force``)."""
    if as_zip:
        if out.is_dir():
            raise ExportError(f"{out}: is a folder; --zip writes a file")
        if (out.exists() or out.is_symlink()) and not force:
            raise ExportError(f"{out}: exists (use --force to replace it)")
        return
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ExportError(f"{out}: exists and is not a folder")
    if not out.exists() or not any(out.iterdir()):
        return
    if not force:
        raise ExportError(f"{out}: is not empty (use --force to replace the crate in it)")
    if not (out / METADATA).is_file():
        raise ExportError(
            f"{out}: is not empty and holds no {METADATA}; refusing to delete it, even with --force"
        )


def _replace(partial: Path, out: Path) -> None:
    """Put the finished crate in place: a zip atomically, a folder after the old one goes."""
    if partial.is_dir() and out.is_dir() and not out.is_symlink():
        shutil.rmtree(out)  # empty, or an old crate (checked by _prepare)
    elif out.is_symlink():
        out.unlink()
    os.replace(partial, out)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()
