"""Keys, signed IsccNotes and the store's hash chain.

The only place that imports iscc-crypto and cryptography (``keys``, ``notes``), always inside
functions, so nothing is paid until a command signs or verifies. ``chain`` is standard library.
"""

from __future__ import annotations

__all__ = ["crypto_available", "require_crypto"]


def crypto_available() -> bool:
    """True when iscc-crypto (the ``sign`` extra) is installed."""
    from importlib.util import find_spec

    return find_spec("iscc_crypto") is not None


def require_crypto() -> None:
    """:raises SigningError: iscc-crypto is not installed."""
    if not crypto_available():
        from iscc_lineage.errors import SigningError

        raise SigningError(
            "signing and verifying notes needs iscc-crypto: pip install 'iscc-lineage[sign]'"
        )
