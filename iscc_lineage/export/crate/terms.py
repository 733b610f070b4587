"""Vocabulary of the crate: IRIs, profiles, media types with PRONOM ids, time and id forms.

Constants and small pure functions shared by the crate modules; imports no rocrate.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ACTION_STATUS",
    "DATAHASH_IRI",
    "FORMATS",
    "ISCC_IRI",
    "METADATA",
    "PROFILES",
    "WORKFLOW_RUN_CONTEXT",
    "iso_ms",
    "media_type",
    "pronom_iri",
    "ref",
    "refs",
    "slug",
]

METADATA = "ro-crate-metadata.json"  #: the crate's metadata file (RO-Crate 1.1 §3.1)
ISCC_IRI = "http://purl.org/iscc/terms/#iscc"  #: iscc-schema: an ISCC-CODE, ISO 24138:2024
DATAHASH_IRI = "http://purl.org/iscc/terms/#datahash"  #: iscc-schema: a BLAKE3 multihash
WORKFLOW_RUN_CONTEXT = "https://w3id.org/ro/terms/workflow-run/context"  #: defines sha256
PRONOM = "https://www.nationalarchives.gov.uk/PRONOM/"
BIOSCHEMAS_WORKFLOW = "https://bioschemas.org/profiles/ComputationalWorkflow/1.0-RELEASE"
BIOSCHEMAS_PARAMETER = "https://bioschemas.org/profiles/FormalParameter/1.0-RELEASE"

#: Root ``conformsTo``: WRROC 0.5 (process, workflow, provenance) on Workflow RO-Crate 1.0.
PROFILES = (
    ("https://w3id.org/ro/wfrun/process/0.5", "Process Run Crate", "0.5"),
    ("https://w3id.org/ro/wfrun/workflow/0.5", "Workflow Run Crate", "0.5"),
    ("https://w3id.org/ro/wfrun/provenance/0.5", "Provenance Run Crate", "0.5"),
    ("https://w3id.org/workflowhub/workflow-ro-crate/1.0", "Workflow RO-Crate", "1.0"),
)

#: The validator accepts only these two strings (an ``{"@id": …}`` fails, notes §2).
ACTION_STATUS = {
    "finished": "http://schema.org/CompletedActionStatus",
    "failed": "http://schema.org/FailedActionStatus",
}

#: Extension -> (IANA media type, PRONOM PUID or None). PUIDs checked against the PRONOM
#: signature file v109 shipped with opf-fido; only unambiguous, version-free formats get one.
FORMATS: dict[str, tuple[str, str | None]] = {
    ".png": ("image/png", "fmt/13"),
    ".tif": ("image/tiff", "fmt/353"),
    ".tiff": ("image/tiff", "fmt/353"),
    ".csv": ("text/csv", "x-fmt/18"),
    ".tsv": ("text/tab-separated-values", "x-fmt/13"),
    ".txt": ("text/plain", "x-fmt/111"),
    ".log": ("text/plain", "x-fmt/62"),
    ".json": ("application/json", "fmt/817"),
    ".yaml": ("application/yaml", "fmt/818"),
    ".yml": ("application/yaml", "fmt/818"),
    ".md": ("text/markdown", "fmt/1149"),
    ".py": ("text/x-python", "fmt/938"),
    ".ipynb": ("application/x-ipynb+json", "fmt/1119"),
    ".czi": ("application/octet-stream", "fmt/1143"),
    ".zip": ("application/zip", "x-fmt/263"),
    ".gz": ("application/gzip", "x-fmt/266"),
    ".svg": ("image/svg+xml", None),
    ".pdf": ("application/pdf", None),
    ".jpg": ("image/jpeg", None),
    ".jpeg": ("image/jpeg", None),
    ".h5": ("application/x-hdf5", None),
    ".html": ("text/html", None),
    ".xml": ("application/xml", None),
    ".sh": ("application/x-sh", None),
    ".smk": ("text/plain", None),
}
_NAMES = {"Snakefile": ("text/plain", None)}


def media_type(path: str) -> tuple[str, str | None] | None:
    """The media type and PRONOM PUID of a file, from its name (None when unknown)."""
    name = path.rstrip("/").rpartition("/")[2]
    if name in _NAMES:
        return _NAMES[name]
    dot = name.rfind(".")
    return FORMATS.get(name[dot:].lower()) if dot > 0 else None


def pronom_iri(puid: str) -> str:
    return PRONOM + puid


def iso_ms(text: str | None) -> str | None:
    """An ISO 8601 time as the validator wants it: UTC, milliseconds, ``+00:00``, no ``Z``."""
    if not text:
        return None
    if _CANONICAL.match(text):  # what the store writes: already in form
        return text
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat(timespec="milliseconds")


_CANONICAL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def slug(text: str) -> str:
    """A fragment-safe form of a rule or step name (``segment``, ``Fiji-export``)."""
    return _SLUG.sub("-", text).strip("-") or "step"


def ref(entity_id: str) -> dict[str, str]:
    return {"@id": entity_id}


def refs(ids: list[str]) -> Any:
    """A reference or a list of references: a single value is never a one-element list."""
    if len(ids) == 1:
        return {"@id": ids[0]}
    unique = list(dict.fromkeys(ids))
    if len(unique) == 1:
        return {"@id": unique[0]}
    return [{"@id": i} for i in unique]
