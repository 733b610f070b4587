"""Check an RO-Crate (folder or zip) against the ISCC codes it declares.

Reads only inside the crate, through :mod:`iscc_lineage.export.crate.reader` (no symlink
followed, nothing extracted, zip bombs and unsafe names refused). Every payload file must be
declared with an ISCC: one that is not is named.

``#``-local references (files the crate describes but does not ship) are checked only on
request, under a folder given as ``local_root`` (the workflow folder), with the same rules;
their ``alternateName`` is never read. Web addresses are never fetched. Reads the metadata as
plain JSON; imports no rocrate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

from iscc_lineage.errors import ExportError, FingerprintError
from iscc_lineage.export.crate.reader import (
    MAX_METADATA,
    MAX_RATIO,
    CrateReader,
    FolderReader,
    fingerprint_member,
    open_crate,
    read_member,
)
from iscc_lineage.export.crate.sink import check_name
from iscc_lineage.export.crate.terms import DATAHASH_IRI, METADATA
from iscc_lineage.locations import is_url

# the reader's names stay importable from here, as before the split
__all__ = [
    "MAX_METADATA",
    "MAX_RATIO",
    "CrateCheck",
    "CrateReader",
    "check_opened",
    "fingerprint_member",
    "open_crate",
    "read_member",
    "verify_crate",
]

Where = Literal["payload", "local", "web"]
Status = Literal["ok", "changed", "missing", "unreachable", "error", "undeclared"]

#: written by other RO-Crate tools, described by the metadata itself
UNDECLARED_OK = frozenset({METADATA, "ro-crate-preview.html"})


@dataclass(frozen=True, slots=True)
class CrateCheck:
    """The verdict on one entity that declares an ISCC (or one payload file that does not)."""

    id: str  #: the entity's ``@id`` (for an undeclared file: its name in the crate)
    where: Where  #: in the payload, a ``#``-local reference, or a web address
    status: Status
    expected: str | None  #: the ISCC the crate declares (None: undeclared)
    actual: str | None = None  #: the ISCC found now
    path: str | None = None  #: what was read, crate-relative (or under the local root)
    detail: str | None = None

    @property
    def failed(self) -> bool:
        """A negative answer: a shipped or reachable file differs, is missing, unreadable or
        undeclared."""
        return self.status in ("changed", "missing", "error", "undeclared")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "where": self.where,
            "status": self.status,
            "expected": self.expected,
            "actual": self.actual,
            "path": self.path,
            "detail": self.detail,
        }


def verify_crate(crate: Path, *, local_root: Path | None = None) -> list[CrateCheck]:
    """Check every entity with an ``iscc`` in the crate at ``crate`` (a folder or a zip),
    then name every payload file that no entity declares.

    :param local_root: check ``#``-local references under this folder (else unreachable).
    :raises ExportError: not an RO-Crate (no readable ``ro-crate-metadata.json``), a special
        file, or a zip with unsafe, duplicate or overlapping members or a bomb's ratio.
    """
    with open_crate(Path(crate)) as reader:
        return check_opened(Path(crate), reader, local_root)[0]


def check_opened(
    crate: Path, reader: CrateReader, local_root: Path | None = None
) -> tuple[list[CrateCheck], dict[str, dict[str, Any]]]:
    """The checks of :func:`verify_crate` on an opened crate, and its graph (id -> entity)."""
    graph = _graph(crate, reader.metadata())
    local = FolderReader(local_root) if local_root is not None else None
    checks = [
        _check(reader, local, ent, graph)
        for _, ent in sorted(graph.items())
        if isinstance(ent.get("iscc"), str)
    ]
    covered_files = {c.path for c in checks if c.where == "payload" and c.path}
    covered_dirs = tuple(
        c.path + "/" for c in checks if c.where == "payload" and c.path and c.id.endswith("/")
    )
    for rel in sorted(reader.files()):
        if rel in UNDECLARED_OK or rel in covered_files or rel.startswith(covered_dirs):
            continue
        checks.append(
            CrateCheck(
                rel,
                "payload",
                "undeclared",
                None,
                path=rel,
                detail="shipped in the crate, but declares no ISCC",
            )
        )
    return checks, graph


def _graph(crate: Path, raw: bytes) -> dict[str, dict[str, Any]]:
    try:
        doc = json.loads(raw.decode("utf-8"))
        entities = doc["@graph"]
        if not isinstance(entities, list):
            raise TypeError("@graph is not a list")
    except RecursionError:
        raise ExportError(f"{crate}: not a readable RO-Crate (metadata nested too deep)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ExportError(f"{crate}: not a readable RO-Crate ({exc})") from None
    return {e["@id"]: e for e in entities if isinstance(e, dict) and isinstance(e.get("@id"), str)}


def _check(
    reader: CrateReader, local: FolderReader | None, ent: dict[str, Any], graph: dict[str, Any]
) -> CrateCheck:
    eid, want = str(ent["@id"]), str(ent["iscc"])
    if is_url(eid):
        return CrateCheck(eid, "web", "unreachable", want, detail="web address: not fetched")
    if eid.startswith("#"):
        rel = unquote(eid[1:]).rstrip("/")
        if local is None or "@" in eid or rel.startswith("external/") or _unsafe(rel):
            detail = (
                "referenced, not in the crate (give --local-root to check it)"
                if local is None
                else "referenced from outside the workflow folder"
                if rel.startswith("external/")
                else "an older content of that path"
            )
            return CrateCheck(eid, "local", "unreachable", want, detail=detail)
        return _look(local, eid, "local", rel, ent, graph)
    rel = unquote(eid).rstrip("/")
    problem = _unsafe(rel)
    if problem:
        return CrateCheck(eid, "payload", "error", want, detail=problem)
    return _look(reader, eid, "payload", rel, ent, graph)


def _unsafe(rel: str) -> str | None:
    try:
        check_name(rel)
    except ExportError as exc:
        return str(exc)
    return None


def _look(
    reader: CrateReader,
    eid: str,
    where: Where,
    rel: str,
    ent: dict[str, Any],
    graph: dict[str, Any],
) -> CrateCheck:
    want = str(ent["iscc"])
    kind = reader.kind(rel)
    if kind == "missing":
        return CrateCheck(eid, where, "missing", want, path=rel)
    if kind not in ("file", "dir"):
        return CrateCheck(eid, where, "error", want, path=rel, detail=kind)
    try:
        fp, sha = reader.fingerprint(rel, kind == "dir")
    except FingerprintError as exc:
        return CrateCheck(eid, where, "error", want, path=rel, detail=str(exc))
    problems = []
    if fp.iscc != want:
        problems.append("ISCC differs")
    if isinstance(ent.get("sha256"), str) and sha is not None and sha != ent["sha256"]:
        problems.append("SHA-256 differs")
    if isinstance(ent.get("contentSize"), str) and ent["contentSize"] != str(fp.size):
        problems.append(f"size {fp.size} bytes, declared {ent['contentSize']}")
    manifest = _declared_datahash(ent, graph)
    if fp.kind == "tree" and manifest is not None and manifest != fp.datahash:
        problems.append("folder manifest differs (files renamed, added or removed)")
    return CrateCheck(
        eid, where, "changed" if problems else "ok", want, fp.iscc, rel, "; ".join(problems) or None
    )


def _declared_datahash(ent: dict[str, Any], graph: dict[str, Any]) -> str | None:
    ids = ent.get("identifier")
    for ref in ids if isinstance(ids, list) else [ids]:
        pv = graph.get(str(ref.get("@id"))) if isinstance(ref, dict) else None
        if isinstance(pv, dict) and pv.get("propertyID") == DATAHASH_IRI:
            return str(pv.get("value"))
    return None
