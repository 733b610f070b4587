"""Check an RO-Crate (folder or zip) against the ISCC codes it declares.

Re-fingerprints every payload file and folder, and every reference (``#``-local or web) whose
original path (``alternateName``) is reachable here, and compares ISCC-SUM, SHA-256, size and,
for a folder, the manifest digest. Web addresses are never fetched. Reads the metadata as
plain JSON; imports no rocrate.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

from iscc_lineage.codes import fingerprint_copy, fingerprint_path
from iscc_lineage.errors import ExportError, FingerprintError
from iscc_lineage.export.crate.sink import check_name
from iscc_lineage.export.crate.terms import DATAHASH_IRI, METADATA
from iscc_lineage.locations import is_url
from iscc_lineage.model import Fingerprint

__all__ = ["CrateCheck", "verify_crate"]

Where = Literal["payload", "local", "web"]
Status = Literal["ok", "changed", "missing", "unreachable", "error"]


@dataclass(frozen=True, slots=True)
class CrateCheck:
    """The verdict on one entity that declares an ISCC."""

    id: str  #: the entity's ``@id``
    where: Where  #: in the payload, a ``#``-local reference, or a web address
    status: Status
    expected: str  #: the ISCC the crate declares
    actual: str | None = None  #: the ISCC found now
    path: str | None = None  #: what was read: crate-relative, or the original path
    detail: str | None = None

    @property
    def failed(self) -> bool:
        """A negative answer: a shipped or reachable file differs, is missing or unreadable."""
        return self.status in ("changed", "missing", "error")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "where": self.where, "status": self.status,
                "expected": self.expected, "actual": self.actual, "path": self.path,
                "detail": self.detail}


def verify_crate(crate: Path) -> list[CrateCheck]:
    """Check every entity with an ``iscc`` in the crate at ``crate`` (a folder or a zip).

    :raises ExportError: not an RO-Crate (no readable ``ro-crate-metadata.json``), or a zip
        with unsafe member names.
    """
    with _opened(Path(crate)) as root:
        try:
            doc = json.loads((root / METADATA).read_text(encoding="utf-8"))
            graph = {e["@id"]: e for e in doc["@graph"] if isinstance(e, dict) and "@id" in e}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ExportError(f"{crate}: not a readable RO-Crate ({exc})") from None
        return [_check(root, ent, graph) for _, ent in sorted(graph.items())
                if isinstance(ent.get("iscc"), str)]


@contextmanager
def _opened(crate: Path) -> Iterator[Path]:
    if crate.is_dir():
        yield crate
        return
    if not zipfile.is_zipfile(crate):
        raise ExportError(f"{crate}: neither a folder nor a zip file")
    with tempfile.TemporaryDirectory(prefix="iscc-lineage-crate-") as tmp, \
            zipfile.ZipFile(crate) as zf:
        for info in zf.infolist():
            name = check_name(info.filename.removesuffix("/"))  # a crafted name must not
            if info.is_dir():                                    # escape the temporary folder
                Path(tmp, *name.split("/")).mkdir(parents=True, exist_ok=True)
            else:
                zf.extract(info, tmp)
        yield Path(tmp)


def _check(root: Path, ent: dict[str, Any], graph: dict[str, Any]) -> CrateCheck:
    eid, want = str(ent["@id"]), str(ent["iscc"])
    if is_url(eid) or eid.startswith("#"):
        where: Where = "web" if is_url(eid) else "local"
        original = ent.get("alternateName")  # the recorded path, checked where it exists
        if isinstance(original, str) and Path(original).exists():
            return _compare(eid, where, Path(original), original, ent, graph)
        return CrateCheck(eid, where, "unreachable", want,
                          path=original if isinstance(original, str) else None,
                          detail="web address: not fetched" if where == "web"
                          else "referenced file not found here")
    rel = unquote(eid).rstrip("/")
    try:
        check_name(rel)
    except ExportError as exc:
        return CrateCheck(eid, "payload", "error", want, detail=str(exc))
    path = root.joinpath(*rel.split("/"))
    if not path.exists():
        return CrateCheck(eid, "payload", "missing", want, path=rel)
    return _compare(eid, "payload", path, rel, ent, graph)


def _compare(eid: str, where: Where, path: Path, shown: str, ent: dict[str, Any],
             graph: dict[str, Any]) -> CrateCheck:
    want = str(ent["iscc"])
    sha: str | None = None
    try:
        if path.is_dir():
            fp: Fingerprint = fingerprint_path(path)
        else:
            fp, sha = fingerprint_copy(path)
    except FingerprintError as exc:
        return CrateCheck(eid, where, "error", want, path=shown, detail=str(exc))
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
    return CrateCheck(eid, where, "changed" if problems else "ok", want, fp.iscc, shown,
                      "; ".join(problems) or None)


def _declared_datahash(ent: dict[str, Any], graph: dict[str, Any]) -> str | None:
    ids = ent.get("identifier")
    for ref in ids if isinstance(ids, list) else [ids]:
        pv = graph.get(str(ref.get("@id"))) if isinstance(ref, dict) else None
        if isinstance(pv, dict) and pv.get("propertyID") == DATAHASH_IRI:
            return str(pv.get("value"))
    return None
