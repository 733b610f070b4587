"""Locations: where a content was seen. Paths are locations, never identity.

The store keeps absolute POSIX paths (not resolved through symlinks) or URLs as they are.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from iscc_lineage.errors import FingerprintError

__all__ = ["PathLike", "is_url", "location", "printable", "tree_size"]

PathLike = str | os.PathLike[str]
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(text: str) -> bool:
    """A location that is a URL (``https://…``, ``s3://…``), not a path."""
    return bool(_URL.match(text))


def location(path: PathLike, base: Path | None = None) -> str:
    """The store's form of a path: absolute, POSIX, not resolved through symlinks.

    A URL (``s3://bucket/key``, a Snakemake storage query) is kept as it is.

    :raises FingerprintError: the name is not valid UTF-8 (the store keeps UTF-8 paths).
    """
    if isinstance(path, str) and is_url(path):
        return path
    text = os.path.abspath(os.path.join(base or os.getcwd(), os.fspath(path)))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise FingerprintError(f"{printable(text)}: file name is not valid UTF-8") from None
    return Path(text).as_posix()


def printable(path: PathLike) -> str:
    """A path as text that can always be printed (non-UTF-8 bytes escaped as ``\\xff``)."""
    return os.fsdecode(path).encode("utf-8", "backslashreplace").decode("utf-8")


def tree_size(path: PathLike) -> int:
    """Bytes of a file, or of the regular files below a directory (0 where unreadable)."""
    try:
        if not os.path.isdir(path):
            return os.stat(path).st_size
    except OSError:
        return 0
    total = 0
    stack = [os.fspath(path)]
    while stack:  # iterative: os.walk recurses per level (a 1000-deep tree would crash)
        try:
            with os.scandir(stack.pop()) as it:
                for e in it:
                    try:
                        if e.is_dir(follow_symlinks=False):
                            stack.append(e.path)
                        else:
                            total += e.stat().st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total
