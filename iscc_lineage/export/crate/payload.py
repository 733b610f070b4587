"""Payload files copied into a crate, their content checked and SHA-256-summed in one read."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import quote

from iscc_lineage.codes import fingerprint_bytes, fingerprint_copy, tree_files
from iscc_lineage.errors import ExportError, FingerprintError
from iscc_lineage.export.crate.place import Entry, Policy, content_of
from iscc_lineage.export.crate.sink import Sink

__all__ = ["copy_checked", "generated", "reference_sha256", "ship"]


def ship(sink: Sink, e: Entry, policy: Policy) -> None:
    """Copy one payload entry into the crate, checking its content in the same read."""
    if e.generated is not None:
        with sink.open(e.rel) as f:
            f.write(e.generated)
        e.sha256 = hashlib.sha256(e.generated).hexdigest() if policy.sha256 else None
        return
    assert e.content is not None
    if e.is_tree:
        sink.mkdir(e.rel)  # exists even when empty
        try:  # member names are normalised: copy from the entries the walk really saw
            on_disk = tree_files(Path(e.location))
        except FingerprintError as exc:
            raise ExportError(f"cannot copy into the crate: {exc}") from None
        for m in e.members:
            src = on_disk.get(m.path, Path(e.location) / m.path)
            copy_checked(sink, src, f"{e.rel}/{m.path}", m.datahash)
        return
    sha = copy_checked(sink, Path(e.location), e.rel, e.content.datahash)
    e.sha256 = sha if policy.sha256 else None


def copy_checked(sink: Sink, src: Path, rel: str, want: str | None) -> str:
    try:
        with sink.open(rel) as f:
            fp, sha = fingerprint_copy(src, f)
    except FingerprintError as exc:
        raise ExportError(f"cannot copy into the crate: {exc}") from None
    if fp.datahash != want:
        raise ExportError(f"{src}: changed while it was copied into the crate; export again")
    return sha


def reference_sha256(e: Entry, policy: Policy) -> None:
    """SHA-256 of a referenced file when cheap: small, present, and still the recorded bytes."""
    c = e.content
    if (
        not policy.sha256
        or c is None
        or e.is_tree
        or c.size > policy.max_size
        or e.location.startswith(("http:", "https:"))
        or not os.path.isfile(e.location)
    ):
        return
    try:
        fp, sha = fingerprint_copy(Path(e.location))
    except FingerprintError:
        return
    if fp.datahash == c.datahash:
        e.sha256 = sha


def generated(sink: Sink, rel: str, data: bytes, policy: Policy) -> Entry:
    e = Entry(
        rel,
        "(generated)",
        content_of(fingerprint_bytes(data)),
        generated=data,
        mode="payload",
        id=quote(rel),
    )
    ship(sink, e, policy)
    return e
