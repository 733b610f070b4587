"""Byte sizes as people write them (``10G``, ``100MB``, ``2GiB``) and read them (``12.0 GiB``)."""

from __future__ import annotations

import re

__all__ = ["format_size", "parse_size"]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(i?B?)\s*$", re.I)
_POWERS = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5}


def parse_size(text: str) -> int:
    """Bytes from ``"10G"``: K/M/G/T and KiB/GiB are powers of 1024, kB/MB/GB powers of 1000.

    :raises ValueError: not a size.
    """
    m = _SIZE.match(text)
    if m is None:
        raise ValueError(f"{text!r} is not a size such as 500M, 100MB or 2GiB")
    number, prefix, unit = float(m.group(1)), m.group(2).upper(), m.group(3).upper()
    base = 1000 if unit == "B" and prefix else 1024
    return int(number * base ** _POWERS[prefix])


def format_size(n: int) -> str:
    """``12.0 GiB``-style text for messages and READMEs."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover
