"""Deprecated: use :mod:`iscc_lineage.codes` (kept for one release, removed in 0.3)."""

import warnings

from iscc_lineage.codes import (
    FingerprintCache,
    fingerprint_bytes,
    fingerprint_copy,
    fingerprint_file,
    fingerprint_many,
    fingerprint_path,
    fingerprint_tree,
    hamming,
    stat_key,
)

__all__ = [
    "FingerprintCache",
    "fingerprint_bytes",
    "fingerprint_copy",
    "fingerprint_file",
    "fingerprint_many",
    "fingerprint_path",
    "fingerprint_tree",
    "hamming",
    "stat_key",
]

warnings.warn(
    "iscc_lineage.fingerprint is deprecated; import from iscc_lineage.codes",
    DeprecationWarning,
    stacklevel=2,
)
