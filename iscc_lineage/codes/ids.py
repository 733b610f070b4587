"""ISCC-ID v1 minted locally, and the ISCC-UNITs an IsccNote may carry (iscc-lib).

A *local* ISCC-ID (realm 0, the sandbox realm) is the note's own timestamp and target HUB-ID
packed as iscc-lib's ``gen_iscc_id_v1`` does: useful as a stable local handle, never a
registered identifier. Only an ISCC-HUB issues registered ISCC-IDs (with its clock and a signed
receipt), so these are always labelled local.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import iscc_lib as il

from iscc_lineage.model import Fingerprint

__all__ = ["LOCAL_REALM", "decode_iscc_id", "instance_code", "mint_local_iscc_id", "units_for_note"]

LOCAL_REALM = 0  #: the sandbox realm: never mistaken for an operational (realm 1) ISCC-ID


def instance_code(datahash: str) -> str:
    """The 256-bit Instance-Code of a ``1e20…`` datahash (how a HUB rebuilds it)."""
    body = il.encode_component(
        int(il.MT.INSTANCE), int(il.ST.NONE), int(il.VS.V0), 256, bytes.fromhex(datahash[4:])
    )
    return f"ISCC:{body}"


def instance_prefix(iscc: str) -> str:
    """The hex BLAKE3 prefix (64 bits for ISO codes) in an ISCC-CODE's Instance-Code.

    :raises ValueError: not an ISCC-CODE with an Instance-Code.
    """
    try:
        last = il.iscc_decompose(iscc)[-1]
        mt, _, _, _, digest = il.iscc_decode(last)
    except Exception as exc:  # iscc-lib raises ValueError or its own errors on bad input
        raise ValueError(f"{iscc}: not an ISCC-CODE ({exc})") from None
    if int(mt) != int(il.MT.INSTANCE):
        raise ValueError(f"{iscc}: no Instance-Code in it")
    return bytes(digest).hex()


def units_for_note(fp: Fingerprint) -> list[str]:
    """``[Data-Code 256]`` when it and the datahash's Instance-Code rebuild the ISCC-CODE (as a
    HUB checks); none for a folder, whose datahash is a manifest digest, not BLAKE3 of bytes."""
    if fp.kind != "file":
        return []
    rebuilt = il.gen_iscc_code_v0([fp.data_code, instance_code(fp.datahash)])["iscc"]
    return [fp.data_code] if rebuilt == fp.iscc else []


def mint_local_iscc_id(note: dict[str, Any]) -> str:
    """A realm-0 ISCC-ID v1 from the note's timestamp (µs) and its nonce's HUB-ID."""
    when = datetime.strptime(note["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    micros = int(when.timestamp()) * 1_000_000 + when.microsecond
    hub_id = int(note["nonce"][:3], 16)
    out: str = il.gen_iscc_id_v1(micros, hub_id, LOCAL_REALM)["iscc"]
    return out


def decode_iscc_id(code: str) -> tuple[int, datetime, int]:
    """``(realm, time, hub_id)`` of an ISCC-ID v1."""
    mt, st, vs, _, body = il.iscc_decode(code)
    if int(mt) != int(il.MT.ID) or int(vs) != 1:
        raise ValueError(f"{code} is not an ISCC-ID v1")
    value = int.from_bytes(body, "big")
    micros, hub = value >> 12, value & 0xFFF
    return int(st), datetime.fromtimestamp(micros / 1_000_000, UTC), hub
