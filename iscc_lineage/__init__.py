"""iscc-lineage: content-addressed provenance for Snakemake pipelines with ISCC codes.

Content is identity (the BLAKE3 ``datahash`` of an ISCC-SUM); paths are locations.
"""

from iscc_lineage._version import __version__
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
from iscc_lineage.verify import Check, verify

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
