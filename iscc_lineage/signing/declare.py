"""The declaration an ISCC-HUB accepts (``POST /declaration``), prepared offline.

What a HUB checks (ISCC Discovery Protocol, iscc-hub ``validators.py``): only the IsccNote
fields; a composite ``iscc_code``; ``datahash`` a BLAKE3 multihash whose first 64 bits are the
code's Instance-Code; ``nonce`` 32 lowercase hex digits whose first 12 bits are the HUB's id;
``timestamp`` RFC 3339 UTC with milliseconds, **within 10 minutes of the HUB's clock**;
``units`` + the Instance-Code of ``datahash`` rebuilding ``iscc_code``; the ISCC-SIG v1.0
signature with an embedded public key. The payload is the signed note, byte for byte: any
change after signing would break the signature, and the timestamp is never moved.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from iscc_lineage.errors import SigningError
from iscc_lineage.signing.notes import NOTE_FIELDS, note_timestamp, parse_timestamp

__all__ = ["HUB_WINDOW", "check_declarable", "window_end"]

HUB_WINDOW = timedelta(minutes=10)  #: iscc-hub TIMESTAMP_TOLERANCE_MINUTES
MAX_JSON = 8192  #: iscc-hub MAX_JSON_SIZE


def window_end(note: dict[str, Any]) -> str:
    """The last instant a HUB accepts this note (its timestamp + 10 minutes)."""
    return note_timestamp(parse_timestamp(note["timestamp"]) + HUB_WINDOW)


def check_declarable(
    note: dict[str, Any], *, hub_id: int, now: datetime | None = None
) -> dict[str, Any]:
    """The payload for HUB ``hub_id``: the note itself, if a HUB would take it now.

    :raises SigningError: extra fields, a nonce for another HUB, or a timestamp outside the
        HUB's window (sign again instead; a note is never re-dated).
    """
    import json

    extra = sorted(set(note) - NOTE_FIELDS)
    if extra:
        raise SigningError(f"a HUB rejects the fields {', '.join(extra)}")
    nonce = str(note.get("nonce", ""))
    if len(nonce) != 32 or int(nonce[:3], 16) != hub_id:
        raise SigningError(
            f"the note's nonce is for HUB {int(nonce[:3] or '0', 16)}, "
            f"not {hub_id}; sign again with --hub-id {hub_id}"
        )
    when = parse_timestamp(note["timestamp"])
    skew = abs((now or datetime.now(UTC)) - when)
    if skew > HUB_WINDOW:
        raise SigningError(
            f"the note was signed at {note['timestamp']}, {skew} from now; "
            "a HUB accepts only ±10 minutes: sign again and declare at once"
        )
    if len(json.dumps(note)) > MAX_JSON:
        raise SigningError(f"the note is larger than a HUB accepts ({MAX_JSON} bytes)")
    return note
