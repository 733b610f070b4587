"""Verify: re-fingerprint recorded locations and say what changed, how much, and where."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from iscc_lineage.codes import fingerprint_many, fingerprint_path, hamming
from iscc_lineage.codes.pixel import ImageCode, pixel_codes
from iscc_lineage.errors import FingerprintError
from iscc_lineage.model import Content, Fingerprint
from iscc_lineage.store import Store

__all__ = ["Check", "verify", "verify_expected"]

Status = Literal["ok", "changed", "missing", "gone", "error"]
#: Below this size (either version) a one-byte edit moves the 64-bit Data-Code by up to
#: 27 bits (4 KiB) or 12 bits (8 KiB), as far as unrelated files: no similarity verdict.
#: Measured on random and CSV-like data, 40 one-byte flips per size (median / max bits):
#: 1 KiB 24/38, 4 KiB 12.5/27, 8 KiB 7/12, 16 KiB 3/8, 32 KiB 1/4, 256 KiB 0/1.
MIN_SIMILARITY_SIZE = 16 << 10
MAX_COMPARE_SIZE = 64 << 20  #: byte-by-byte comparison with a recorded copy up to this size
GONE_TEMP = "temp, expected"  #: the words for a temp() file its workflow deleted


@dataclass(frozen=True, slots=True)
class Check:
    """The verdict on one location: the recorded content against what is there now."""

    path: str
    status: Status
    expected: str  #: recorded datahash
    actual: str | None = None  #: datahash now (None when missing or unreadable)
    data_distance: int | None = None  #: Data-Code Hamming distance over ``data_bits``
    data_bits: int = 64
    size_before: int | None = None
    size_now: int | None = None
    detail: str | None = None
    members: dict[str, list[str]] = field(default_factory=dict)  #: directories: what moved
    bytes_changed: int | None = None  #: against a recorded copy that is still at hand
    #: a changed bioimage recorded with pixel codes: ``identical`` (re-encoded, recompressed,
    #: re-chunked: same image, other bytes) or ``changed`` (the image itself changed)
    pixels: Literal["identical", "changed"] | None = None

    @property
    def failed(self) -> bool:
        """Changed, missing or unreadable; a deleted temp file is expected, not a failure."""
        return self.status not in ("ok", "gone")

    @property
    def similarity(self) -> str | None:
        """A word for the distance: near-identical, similar, or unrelated; or "too small to
        measure" when either version is below :data:`MIN_SIMILARITY_SIZE`."""
        if self.data_distance is None:
            return None
        if min(self.size_before or 0, self.size_now or 0) < MIN_SIMILARITY_SIZE:
            return "too small to measure"
        d = self.data_distance * 64 / self.data_bits
        return "near-identical" if d <= 4 else "similar" if d <= 16 else "unrelated"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "expected": self.expected,
            "actual": self.actual,
            "data_distance": self.data_distance,
            "data_bits": self.data_bits,
            "similarity": self.similarity,
            "size_before": self.size_before,
            "size_now": self.size_now,
            "detail": self.detail,
            "members": self.members,
            "bytes_changed": self.bytes_changed,
            "pixels": self.pixels,
        }


def verify(
    store: Store,
    *,
    run_id: str | None = None,
    paths: Sequence[str] | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> list[Check]:
    """Re-hash (never through the stat cache) the latest recorded content of each location.

    A missing file that Snakemake deleted as ``temp()`` in a recorded run is ``gone``
    (expected), not ``missing``.
    """
    expected = store.observations(run_id=run_id, paths=paths)
    contents = store.contents(h for _, h in expected if h)
    pairs = [(p, contents[h]) for p, h in expected if h in contents]
    temps = removed_temps(store)
    recorded = store.images(c.datahash for _, c in pairs)
    return [
        Check(c.path, "gone", c.expected, size_before=c.size_before, detail=GONE_TEMP)
        if c.status == "missing" and c.path in temps
        else c
        for c in verify_expected(
            pairs, on_bytes=on_bytes, members=store.members, images=lambda h: recorded.get(h, [])
        )
    ]


def removed_temps(store: Store) -> set[str]:
    """Paths that Snakemake deleted as ``temp()`` files in any recorded run."""
    out: set[str] = set()
    for run in store.runs():
        capture = run.info.get("capture") if isinstance(run.info, dict) else None
        removed = capture.get("removed_temp") if isinstance(capture, dict) else None
        if isinstance(removed, list):
            out.update(p for p in removed if isinstance(p, str))
    return out


def verify_expected(
    pairs: Sequence[tuple[str, Content]],
    *,
    on_bytes: Callable[[int], None] | None = None,
    members: Callable[[str], dict[str, str | None]] = lambda _: {},
    images: Callable[[str], list[ImageCode]] = lambda _: [],
) -> list[Check]:
    """Check each (location, recorded content) pair against the file system now.

    :param members: the recorded manifest of a directory content (path -> datahash).
    :param images: the recorded images of a content: a changed file's pixels are compared.
    """
    results = fingerprint_many([Path(p) for p, _ in pairs], on_bytes=on_bytes)
    out = [_judge(p, c, fp, members) for (p, c), fp in zip(pairs, results, strict=True)]
    return [_pixels(c, images(c.expected)) if c.status == "changed" else c for c in out]


def _pixels(check: Check, recorded: list[ImageCode]) -> Check:
    """A changed file with recorded pixel codes: are the images the same?"""
    if not recorded:
        return check
    now = pixel_codes(Path(check.path)).images
    same = [i.pixel_id for i in now] == [i.pixel_id for i in recorded]
    return replace(check, pixels="identical" if same else "changed")


def _judge(
    path: str,
    want: Content,
    got: Fingerprint | FingerprintError,
    members: Callable[[str], dict[str, str | None]],
) -> Check:
    if isinstance(got, FingerprintError):
        missing = not Path(path).exists() and not Path(path).is_symlink()
        return Check(
            path,
            "missing" if missing else "error",
            want.datahash,
            size_before=want.size,
            detail=None if missing else str(got),
        )
    if got.datahash == want.datahash:
        return Check(path, "ok", want.datahash, got.datahash, 0, 64, want.size, got.size)
    d64, _ = hamming(want.data_code, got.data_code, bits=64)
    diff: dict[str, list[str]] = {}
    if got.kind == "tree":
        before = members(want.datahash)
        now = {m.path: m.datahash for m in got.members}
        diff = {
            "added": sorted(now.keys() - before.keys()),
            "removed": sorted(before.keys() - now.keys()),
            "changed": sorted(k for k in now.keys() & before.keys() if now[k] != before[k]),
        }
    return Check(
        path,
        "changed",
        want.datahash,
        got.datahash,
        d64,
        64,
        want.size,
        got.size,
        members=diff,
        bytes_changed=_against_copy(path, want, got),
    )


def _against_copy(path: str, want: Content, got: Fingerprint) -> int | None:
    """Bytes that differ from a recorded copy of the old content still on disk, if any."""
    if got.kind != "file" or max(want.size, got.size) > MAX_COMPARE_SIZE:
        return None
    for other in want.paths:
        p = Path(other)
        try:
            if other == path or not p.is_file() or p.stat().st_size != want.size:
                continue
            if fingerprint_path(p).datahash != want.datahash:
                continue
            return _bytes_differing(p, Path(path))
        except (OSError, FingerprintError):
            continue
    return None


def _bytes_differing(a: Path, b: Path, chunk: int = 1 << 20) -> int:
    """Positions at which two files differ, plus the difference in their lengths."""
    n = 0
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(chunk), fb.read(chunk)
            if not x and not y:
                return n
            n += sum(i != j for i, j in zip(x, y, strict=False)) + abs(len(x) - len(y))
