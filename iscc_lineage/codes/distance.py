"""Distances between ISCC units: Hamming distance of code bodies and 64-bit prefixes."""

from __future__ import annotations

import iscc_lib as il

__all__ = ["body", "data64", "hamming", "prefix64"]


def body(code: str) -> bytes:
    """The body (the hash bits) of an ISCC unit."""
    return bytes(il.iscc_decode(code)[4])


def prefix64(code: str) -> int:
    """The first 64 bits of a unit's body as an unsigned integer."""
    return int.from_bytes(body(code)[:8], "big")


def data64(data_code: str) -> int:
    """The first 64 bits of a Data-Code body as a signed integer (an SQLite INTEGER column)."""
    return int.from_bytes(body(data_code)[:8], "big", signed=True)


def hamming(code_a: str, code_b: str, bits: int | None = None) -> tuple[int, int]:
    """Bit distance between the bodies of two ISCC units of the same type.

    Bodies are truncated to the shorter (short codes are prefixes of long ones), or to
    ``bits`` when given (64 gives the distance of the narrow codes).

    :return: ``(distance, bits compared)``
    """
    da = body(code_a)
    db = body(code_b)
    n = min(len(da), len(db), (bits or 1 << 16) // 8)
    x = int.from_bytes(da[:n], "big") ^ int.from_bytes(db[:n], "big")
    return x.bit_count(), n * 8
