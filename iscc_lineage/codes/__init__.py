"""Bytes and pixels to codes: ISCC-SUM fingerprints, Image-Codes and their distances.

The only package that imports the hashing engine (iscc-lib) and Pillow.
"""

from iscc_lineage.codes.distance import data64, hamming
from iscc_lineage.codes.fingerprint import (
    FingerprintCache,
    fingerprint_bytes,
    fingerprint_copy,
    fingerprint_file,
    fingerprint_stream,
    stat_key,
)
from iscc_lineage.codes.path import fingerprint_many, fingerprint_path
from iscc_lineage.codes.tree import fingerprint_members, fingerprint_tree, tree_files

__all__ = [
    "FingerprintCache",
    "data64",
    "fingerprint_bytes",
    "fingerprint_copy",
    "fingerprint_file",
    "fingerprint_many",
    "fingerprint_members",
    "fingerprint_path",
    "fingerprint_stream",
    "fingerprint_tree",
    "hamming",
    "stat_key",
    "tree_files",
]
