"""The plugin's ``--logger-iscc-*`` settings as plain values, and opening the capture store.

The shim's dataclass is what Snakemake parses; :class:`CaptureSettings` is what capture uses:
store path resolved against the launch directory, exclude globs from every repetition of the
flag, the size limit in bytes, and whether inputs are read.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iscc_lineage.errors import SettingsError, StoreError
from iscc_lineage.size import format_size, parse_size
from iscc_lineage.store import STORE_ENV, Store, open_store, resolve_location

__all__ = [
    "EXCLUDE_FLAG",
    "CaptureSettings",
    "SettingsError",
    "check_capture_store",
    "open_capture_store",
]

EXCLUDE_FLAG = "--logger-iscc-exclude"


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    """What live capture was asked to do."""

    #: a SQLite file or a server URL; None: ``.iscc-lineage/lineage.db`` in the working directory
    store: Path | str | None = None
    exclude: tuple[str, ...] = ()
    max_size: int | None = None
    hash_inputs: bool = True
    pixels: bool = False  #: pixel-code bioimages as jobs finish (``--logger-iscc-pixels``)

    @classmethod
    def from_plugin(cls, s: Any, launch_dir: Path, argv: list[str]) -> CaptureSettings:
        """From the shim's settings object (None: all defaults).

        An explicit store or ``$ISCC_LINEAGE_STORE`` is resolved against the launch directory,
        as the user typed it there; the default is decided later, in the working directory.

        :raises SettingsError: an invalid ``--logger-iscc-max-size``.
        """
        explicit = getattr(s, "store", None) or os.environ.get(STORE_ENV) or None
        store = resolve_location(explicit, launch_dir) if explicit else None
        size_text = getattr(s, "max_size", None)
        try:
            max_size = parse_size(size_text) if size_text else None
        except ValueError as exc:
            raise SettingsError(f"--logger-iscc-max-size: {exc}") from None
        globs = [*(getattr(s, "exclude", None) or ()), *exclude_from_argv(argv)]
        hash_inputs = not bool(getattr(s, "no_hash_inputs", False))
        return cls(
            store,
            tuple(dict.fromkeys(str(g) for g in globs)),
            max_size,
            hash_inputs,
            bool(getattr(s, "pixels", False)),
        )

    def describe(self) -> dict[str, Any]:
        """The settings as recorded in the run's ``info.capture``."""
        return {
            "plugin": "snakemake-logger-plugin-iscc",
            "exclude": list(self.exclude),
            "max_size": format_size(self.max_size) if self.max_size else None,
            "hash_inputs": self.hash_inputs,
            "pixels": self.pixels,
        }


def exclude_from_argv(argv: list[str]) -> list[str]:
    """Every value of every ``--logger-iscc-exclude`` on the command line.

    Snakemake parses plugin flags with argparse's plain store action, so a repeated flag keeps
    only its last values; the user asked for all of them.
    """
    out: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word.startswith(EXCLUDE_FLAG + "="):
            out.append(word.split("=", 1)[1])
        elif word == EXCLUDE_FLAG:
            i += 1
            while i < len(argv) and not argv[i].startswith("-"):
                out.append(argv[i])
                i += 1
            continue
        i += 1
    return out


def open_capture_store(path: Path | str) -> Store:
    """Open (or create) the store and prove that it takes a write.

    :raises StoreError: it cannot be created, is not a store, or is read-only.
    """
    store = open_store(path, create=True)
    try:
        store.check_writable()  # takes the write lock: fails now on a read-only store
    except Exception as exc:
        store.close()
        raise StoreError(
            f"{store.location}: the lineage store cannot be written "
            f"({str(exc).removeprefix(store.location + ': ')})"
        ) from None
    return store


_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_capture_store(path: Path | str) -> None:
    """Refuse, before any job, a store path that can never hold lineage; never opens SQLite.

    The Snakemake process must not map the store (see :mod:`iscc_lineage.snakemake.writer`),
    so this reads at most the file's 100-byte header: a directory, a FIFO or device, a file
    that is not SQLite, a SQLite file of another application, or an unwritable place is
    refused. A store that is merely locked by another process is fine (the run spools).

    :raises StoreError: in one line.
    """
    from iscc_lineage.store.schema import APPLICATION_ID

    if isinstance(path, str):  # a server store (postgresql://): no file to map; prove a write
        with open_store(path, create=True) as server:
            server.check_writable()
        return
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        parent = next((p for p in path.parents if p.exists()), None)
        if parent is None or not parent.is_dir():
            raise StoreError(f"{path}: cannot create store: {parent} is not a directory") from None
        if not os.access(parent, os.W_OK):
            raise StoreError(f"{path}: cannot create store: {parent} is not writable") from None
        return
    except OSError as exc:
        raise StoreError(f"{path}: cannot open store ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise StoreError(f"{path}: is a directory, not a lineage store")
    if not stat.S_ISREG(st.st_mode):
        raise StoreError(f"{path}: not a regular file, not a lineage store")
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        raise StoreError(f"{path}: the lineage store cannot be written (read-only)")
    if st.st_size == 0:
        return  # an empty file becomes a store, as open_store does
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise StoreError(f"{path}: cannot open store ({exc.strerror or exc})") from None
    if len(head) < 100 or not head.startswith(_SQLITE_MAGIC):
        raise StoreError(f"{path}: not a readable iscc-lineage store (not an SQLite file)")
    app = int.from_bytes(head[68:72], "big")
    if app not in (0, APPLICATION_ID):
        raise StoreError(
            f"{path}: not a readable iscc-lineage store (another application's SQLite file)"
        )
