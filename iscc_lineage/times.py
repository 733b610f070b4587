"""Time as the store keeps it: UTC, ISO 8601 with milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["from_epoch", "now"]


def now() -> str:
    """The current UTC time, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def from_epoch(seconds: float) -> str:
    """A POSIX timestamp in the same form as :func:`now`."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
