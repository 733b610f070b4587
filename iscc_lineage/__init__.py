"""iscc-lineage: content-addressed provenance for Snakemake pipelines with ISCC codes.

Content is identity (the BLAKE3 ``datahash`` of an ISCC-SUM); paths are locations.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from iscc_lineage._version import __version__

# eager: the submodule ``iscc_lineage.verify`` shares the function's name, and an import of
# the submodule would otherwise leave the module, not the function, under ``verify``
from iscc_lineage.verify import Check, verify

if TYPE_CHECKING:
    from iscc_lineage.codes import (
        fingerprint_file,
        fingerprint_many,
        fingerprint_path,
        fingerprint_tree,
    )
    from iscc_lineage.errors import (
        ExportError,
        FingerprintError,
        LineageError,
        NotFoundError,
        SchemaVersionError,
        StoreError,
    )
    from iscc_lineage.lineage import identify, impact, trace
    from iscc_lineage.model import Artifact, Content, Edge, Fingerprint, Lineage, Run, Step
    from iscc_lineage.recorder import Recorder
    from iscc_lineage.store import Store, open_store

#: public name -> the module that defines it, imported on first use (PEP 562): a command that
#: needs only the hashing engine and the store does not pay for the lineage walks (startup)
_LAZY = {
    **dict.fromkeys(
        ("fingerprint_file", "fingerprint_many", "fingerprint_path", "fingerprint_tree"),
        "iscc_lineage.codes",
    ),
    **dict.fromkeys(
        (
            "ExportError",
            "FingerprintError",
            "LineageError",
            "NotFoundError",
            "SchemaVersionError",
            "StoreError",
        ),
        "iscc_lineage.errors",
    ),
    **dict.fromkeys(("identify", "impact", "trace"), "iscc_lineage.lineage"),
    **dict.fromkeys(
        ("Artifact", "Content", "Edge", "Fingerprint", "Lineage", "Run", "Step"),
        "iscc_lineage.model",
    ),
    "Recorder": "iscc_lineage.recorder",
    "Store": "iscc_lineage.store",
    "open_store": "iscc_lineage.store",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'iscc_lineage' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Artifact",
    "Check",
    "Content",
    "Edge",
    "ExportError",
    "Fingerprint",
    "FingerprintError",
    "Lineage",
    "LineageError",
    "NotFoundError",
    "Recorder",
    "Run",
    "SchemaVersionError",
    "Step",
    "Store",
    "StoreError",
    "__version__",
    "fingerprint_file",
    "fingerprint_many",
    "fingerprint_path",
    "fingerprint_tree",
    "identify",
    "impact",
    "open_store",
    "trace",
    "verify",
]
