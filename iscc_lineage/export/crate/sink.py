"""Where a crate is written: a folder or a zip file, and nowhere else.

Every name is checked to stay inside the output (no absolute paths, no ``..``, no symlinked
folders); an existing output is replaced only with ``force``, and a folder only when it is
a crate. A failed export removes what it wrote. Zip members carry a fixed timestamp (the
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

__all__ = ["Sink", "check_name", "open_sink"]



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


@contextmanager
def open_sink(out: Path, *, as_zip: bool, force: bool, date: str) -> Iterator[Sink]:
    """Prepare ``out`` and yield a sink writing into it; on an error, undo.

    :raises ExportError: ``out`` exists and ``force`` is not given, or it cannot be replaced.
    """
    out = Path(out)
    if not out.parent.is_dir():
        raise ExportError(f"{out.parent}: no such folder")
    existed = _prepare(out, as_zip=as_zip, force=force)
    try:
        if as_zip:
            with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED,
                                 allowZip64=True) as zf:
                yield _ZipSink(zf, date)
        else:
            out.mkdir(exist_ok=True)  # not its parents: nothing is created outside ``out``
            yield _FolderSink(out)
    except BaseException as exc:
        if as_zip:
            out.unlink(missing_ok=True)
        elif existed:
            _clear(out)
        else:
            shutil.rmtree(out, ignore_errors=True)
        if isinstance(exc, OSError):
            raise ExportError(f"{out}: {exc.strerror or exc}") from None
        raise


def _prepare(out: Path, *, as_zip: bool, force: bool) -> bool:
    """Check that ``out`` may be written; clear an old crate under ``force``."""
    if as_zip:
        if out.is_dir():
            raise ExportError(f"{out}: is a folder; --zip writes a file")
        if out.exists() or out.is_symlink():
            if not force:
                raise ExportError(f"{out}: exists (use --force to replace it)")
            out.unlink()
        return False
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ExportError(f"{out}: exists and is not a folder")
    if not out.exists():
        return False
    if not any(out.iterdir()):
        return True
    if not force:
        raise ExportError(f"{out}: is not empty (use --force to replace the crate in it)")
    if not (out / METADATA).is_file():
        raise ExportError(f"{out}: is not empty and holds no {METADATA}; refusing to delete "
                          "it, even with --force")
    _clear(out)
    return True


def _clear(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    if os.listdir(folder):  # pragma: no cover - a race with another writer
        raise ExportError(f"{folder}: could not be emptied")
