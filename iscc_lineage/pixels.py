"""Pixel coding of recorded contents: at capture when the user asked for it, or later.

A content gets its images (pixel codes and acquisition metadata) from a file that still holds
exactly that content: the file is fingerprinted again (through the stat cache) and skipped when
it changed since it was recorded, so a code never lands on the wrong content.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from iscc_lineage.codes import FingerprintCache, fingerprint_path
from iscc_lineage.codes.pixel import PixelResult, is_bioimage, pixel_codes
from iscc_lineage.errors import FingerprintError

if TYPE_CHECKING:
    from iscc_lineage.store import Store

__all__ = ["Outcome", "code_contents", "pending"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one content: coded (``result``), or skipped and why."""

    datahash: str
    path: str
    result: PixelResult | None = None
    skipped: str | None = None


def pending(store: Store) -> list[tuple[str, str, int]]:
    """(datahash, path, size) of recorded bioimages never pixel-coded, each at a path that
    still exists (the most recently seen first)."""
    out = []
    for datahash, paths in store.unpixelled():
        images = [p for p in paths if "://" not in p and is_bioimage(Path(p))]
        here = next((p for p in images if os.path.exists(p)), None)
        if here is not None:
            out.append((datahash, here, _size(Path(here))))
    return out


def code_contents(
    store: Store,
    items: Sequence[tuple[str, str]],
    *,
    cache: FingerprintCache | None = None,
    on_bytes: Callable[[int], None] | None = None,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Pixel-code each (datahash, path) and store the images under the datahash.

    A file whose content is no longer the recorded one is skipped (``changed since it was
    recorded``); a file no reader can read is stored as tried, with the reason.
    """
    out = []
    for datahash, path in items:
        try:
            now = fingerprint_path(Path(path), cache=cache).datahash
        except FingerprintError as exc:
            outcome = Outcome(datahash, path, skipped=str(exc))
        else:
            if now != datahash:
                outcome = Outcome(datahash, path, skipped="changed since it was recorded")
            else:
                result = pixel_codes(Path(path), on_bytes=on_bytes)
                store.add_images(datahash, result)
                outcome = Outcome(datahash, path, result)
        out.append(outcome)
        if on_done is not None:
            on_done(outcome)
    return out


def _size(path: Path) -> int:
    """Bytes under a path (a directory: all its files), for a progress bar."""
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.path.getsize(os.path.join(root, name))
    return total
