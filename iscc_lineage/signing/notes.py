"""Signed IsccNotes binding a content's ISCC-CODE to its lineage, and their offline check.

A note is exactly what iscc-crypto and an ISCC-HUB call an IsccNote: ``iscc_code``,
``datahash``, ``nonce`` (128 bits, the first 12 the target HUB-ID), ``timestamp`` (RFC 3339 UTC,
milliseconds, ``Z``), optional ``units`` (the 256-bit Data-Code; never the Instance-Code) and
``metahash``, signed with ISCC-SIG v1.0 (Ed25519 over the JCS-canonical note, the public key
embedded, so anyone verifies it offline). No other field is added, so a hub would accept it.

``metahash`` is the lineage reference: the BLAKE3 multihash of a canonical lineage document
(RFC 8785 JSON) naming the recorded steps behind the content, each with the hash of its record
in the store's chain (:mod:`iscc_lineage.signing.chain`). The document travels beside the note.
The timestamp is the signer's claim, not a trusted time (that needs a HUB's receipt).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from iscc_lineage.errors import SigningError
from iscc_lineage.signing.keys import Identity

__all__ = [
    "LINEAGE_TYPE",
    "NOTE_FIELDS",
    "NoteVerdict",
    "canonical",
    "lineage_document",
    "make_note",
    "note_timestamp",
    "parse_timestamp",
    "verify_note",
]

LINEAGE_TYPE = "iscc-lineage/lineage-v1"
#: the fields an ISCC-HUB accepts in an IsccNote (anything else is rejected)
NOTE_FIELDS = frozenset(
    {"iscc_code", "datahash", "nonce", "timestamp", "signature", "units", "metahash", "gateway"}
)
_REQUIRED = ("iscc_code", "datahash", "nonce", "timestamp", "signature")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_MULTIHASH = re.compile(r"^1e20[0-9a-f]{64}$")


def canonical(doc: Any) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON document, as ISCC-SIG signs them."""
    import jcs

    out: bytes = jcs.canonicalize(doc)
    return out


def blake3_multihash(data: bytes) -> str:
    """``1e20`` + BLAKE3-256 hex, the form of ``datahash`` and ``metahash``."""
    from iscc_lineage.codes import fingerprint_bytes

    return fingerprint_bytes(data).datahash


def note_timestamp(when: datetime | None = None) -> str:
    """RFC 3339 UTC with milliseconds and ``Z``: ``2026-12-07T03:14:15.926Z``."""
    t = (when or datetime.now(UTC)).astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    """The instant a note's ``timestamp`` names."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def lineage_document(
    subject: Mapping[str, Any],
    steps: Iterable[Mapping[str, Any]],
    runs: Mapping[str, str],
    signer: Identity,
    chain: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The lineage a note refers to, as plain JSON (its canonical bytes give ``metahash``).

    ``subject``: ``{"datahash", "iscc", "path"}`` for a content or ``{"run": id}``; ``steps``:
    ``{"id", "run", "name", "record", "used": [{path, datahash}], "generated": [...]}`` where
    ``record`` is the step's content hash in the chain; ``runs``: run id -> its record hash;
    ``chain``: the store's chain head when signed (``{"seq", "head"}``).
    """

    def edges(es: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return sorted(
            ({"path": e["path"], "datahash": e.get("datahash")} for e in es),
            key=lambda e: (e["path"], e["datahash"] or ""),
        )

    doc: dict[str, Any] = {
        "type": LINEAGE_TYPE,
        "subject": dict(subject),
        "signer": {
            k: v
            for k, v in (("pubkey", signer.pubkey), ("name", signer.name), ("orcid", signer.orcid))
            if v
        },
        "runs": [{"id": r, "record": h} for r, h in sorted(runs.items())],
        "steps": sorted(
            (
                {
                    "id": s["id"],
                    "run": s["run"],
                    "name": s["name"],
                    "record": s.get("record"),
                    "used": edges(s.get("used", ())),
                    "generated": edges(s.get("generated", ())),
                }
                for s in steps
            ),
            key=lambda s: str(s["id"]),
        ),
    }
    if chain is not None:
        doc["chain"] = dict(chain)
    return doc


def make_note(
    *,
    iscc: str,
    datahash: str,
    lineage: bytes,
    keypair: Any,
    units: Sequence[str] = (),
    hub_id: int = 0,
    when: datetime | None = None,
) -> dict[str, Any]:
    """A signed IsccNote for a content, referring to ``lineage`` (canonical bytes).

    :raises SigningError: ``hub_id`` outside 0-4095.
    """
    from iscc_crypto import SigType, create_nonce, sign_json

    if not 0 <= hub_id <= 4095:
        raise SigningError(f"HUB-ID {hub_id} is outside 0-4095")
    note: dict[str, Any] = {
        "iscc_code": iscc,
        "datahash": datahash,
        "nonce": create_nonce(hub_id),
        "timestamp": note_timestamp(when),
    }
    if units:
        note["units"] = list(units)
    note["metahash"] = blake3_multihash(lineage)
    signed: dict[str, Any] = sign_json(note, keypair, SigType.SELF_VERIFYING)
    return signed


@dataclass(frozen=True, slots=True)
class NoteVerdict:
    """The offline check of one note: ``ok``, or the first thing wrong (one line)."""

    ok: bool
    reason: str | None  #: None when ok
    pubkey: str | None
    timestamp: str | None
    iscc: str | None
    datahash: str | None
    content_ok: bool = False
    lineage_ok: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "reason": self.reason,
            "pubkey": self.pubkey,
            "timestamp": self.timestamp,
            "iscc": self.iscc,
            "datahash": self.datahash,
            "content_ok": self.content_ok,
            "lineage_ok": self.lineage_ok,
        }


def _malformed(note: Any) -> str | None:
    if not isinstance(note, dict):
        return "not a JSON object"
    missing = [f for f in _REQUIRED if f not in note]
    if missing:
        return f"no {', '.join(missing)}"
    extra = sorted(set(note) - NOTE_FIELDS)
    if extra:
        return f"fields an IsccNote does not have: {', '.join(extra)}"
    sig = note["signature"]
    if not isinstance(sig, dict) or not isinstance(sig.get("pubkey"), str):
        return "the signature embeds no public key (cannot verify offline)"
    if not isinstance(note["timestamp"], str) or not _TIMESTAMP.match(note["timestamp"]):
        return f"timestamp {note['timestamp']!r} is not RFC 3339 UTC with milliseconds"
    if not isinstance(note["datahash"], str) or not _MULTIHASH.match(note["datahash"]):
        return "datahash is not a BLAKE3 multihash"
    return None


def verify_note(
    note: Any,
    *,
    iscc: str | None,
    datahash: str | None,
    lineage: bytes | None,
    signer: str | None = None,
) -> NoteVerdict:
    """Check a note offline: signature under its embedded key, then the content (``iscc`` and
    ``datahash`` found now; None: not checked), then ``lineage`` (canonical bytes; None: not
    checked), then, if given, that ``signer`` (a ``z6Mk…`` key) made it."""
    bad = _malformed(note)
    if bad is not None:
        return NoteVerdict(False, f"not a valid IsccNote: {bad}", None, None, None, None)
    from iscc_crypto import verify_json

    pubkey = note["signature"]["pubkey"]
    base = {
        "pubkey": pubkey,
        "timestamp": note["timestamp"],
        "iscc": note["iscc_code"],
        "datahash": note["datahash"],
    }
    result = verify_json(note, raise_on_error=False)
    if not result.signature_valid:
        return NoteVerdict(
            False,
            f"signature does not verify under the embedded key {pubkey} "
            f"({result.message or 'invalid'})",
            **base,
        )
    if datahash is not None and note["datahash"] != datahash:
        return NoteVerdict(
            False,
            f"content differs from the signed one (datahash now "
            f"{datahash[:16]}…, signed {note['datahash'][:16]}…)",
            **base,
        )
    if iscc is not None and note["iscc_code"] != iscc:
        return NoteVerdict(False, f"ISCC-CODE now {iscc}, signed {note['iscc_code']}", **base)
    content_ok = datahash is not None
    if lineage is not None and note.get("metahash") != blake3_multihash(lineage):
        return NoteVerdict(
            False,
            "the lineage document differs from the one signed (metahash mismatch)",
            **base,
            content_ok=content_ok,
        )
    if signer is not None and pubkey != signer:
        return NoteVerdict(
            False,
            f"signed by {pubkey}, not by the expected {signer}",
            **base,
            content_ok=content_ok,
            lineage_ok=lineage is not None,
        )
    return NoteVerdict(True, None, **base, content_ok=content_ok, lineage_ok=lineage is not None)
