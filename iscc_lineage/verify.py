"""Verify: re-fingerprint recorded locations and say what changed, how much, and where."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from iscc_lineage.codes import fingerprint_many, hamming
from iscc_lineage.errors import FingerprintError
from iscc_lineage.model import Content, Fingerprint
from iscc_lineage.store import Store

__all__ = ["Check", "verify", "verify_expected"]

Status = Literal["ok", "changed", "missing", "error"]


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

    @property
    def similarity(self) -> str | None:
        """A word for the distance: near-identical, similar, or unrelated (≈ bits / 2)."""
        if self.data_distance is None:
            return None
        d = self.data_distance * 64 / self.data_bits
        return "near-identical" if d <= 4 else "similar" if d <= 16 else "unrelated"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "status": self.status, "expected": self.expected,
            "actual": self.actual, "data_distance": self.data_distance,
            "data_bits": self.data_bits, "similarity": self.similarity,
            "size_before": self.size_before, "size_now": self.size_now,
            "detail": self.detail, "members": self.members,
        }


def verify(store: Store, *, run_id: str | None = None, paths: Sequence[str] | None = None,
           on_bytes: Callable[[int], None] | None = None) -> list[Check]:
    """Re-hash (never through the stat cache) the latest recorded content of each location."""
    expected = store.observations(run_id=run_id, paths=paths)
    contents = store.contents(h for _, h in expected if h)
    pairs = [(p, contents[h]) for p, h in expected if h in contents]
    return verify_expected(pairs, on_bytes=on_bytes, members=store.members)


def verify_expected(pairs: Sequence[tuple[str, Content]], *,
                    on_bytes: Callable[[int], None] | None = None,
                    members: Callable[[str], dict[str, str | None]] = lambda _: {},
                    ) -> list[Check]:
    """Check each (location, recorded content) pair against the file system now.

    :param members: the recorded manifest of a directory content (path -> datahash).
    """
    results = fingerprint_many([Path(p) for p, _ in pairs], on_bytes=on_bytes)
    return [_judge(p, c, fp, members) for (p, c), fp in zip(pairs, results, strict=True)]


def _judge(path: str, want: Content, got: Fingerprint | FingerprintError,
           members: Callable[[str], dict[str, str | None]]) -> Check:
    if isinstance(got, FingerprintError):
        missing = not Path(path).exists() and not Path(path).is_symlink()
        return Check(path, "missing" if missing else "error", want.datahash,
                     size_before=want.size, detail=None if missing else str(got))
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
    return Check(path, "changed", want.datahash, got.datahash, d64, 64, want.size, got.size,
                 members=diff)
