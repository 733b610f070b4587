"""IsccNotes: iscc-crypto verifies ours, we verify its; every tamper case is caught."""

from __future__ import annotations

import copy
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("iscc_crypto")

import iscc_core as ic
import iscc_crypto as icr

from iscc_lineage.codes import fingerprint_bytes
from iscc_lineage.signing.keys import Identity, init_keys, load_keypair
from iscc_lineage.signing.notes import (
    NOTE_FIELDS,
    canonical,
    lineage_document,
    make_note,
    note_timestamp,
    verify_note,
)

FIGURE = bytes(range(256)) * 300
OTHER = b"another figure\n" * 1000


@pytest.fixture
def signer(tmp_path: Path) -> tuple[Any, Identity]:
    init_keys(tmp_path / "keys", name="Ada", orcid="0000-0002-1825-0097")
    return load_keypair(tmp_path / "keys")


def _lineage(ident: Identity, datahash: str, step_record: str = "ab" * 32) -> bytes:
    doc = lineage_document(
        {"datahash": datahash, "path": "results/figure.png"},
        [
            {
                "id": "s1",
                "run": "r1",
                "name": "plot",
                "record": step_record,
                "used": [{"path": "raw.tif", "datahash": "1e20" + "0" * 64}],
                "generated": [{"path": "results/figure.png", "datahash": datahash}],
            }
        ],
        {"r1": "cd" * 32},
        ident,
        {"seq": 3, "head": "ef" * 32},
    )
    return canonical(doc)


def _note(signer: tuple[Any, Identity], data: bytes, **kw: Any) -> tuple[dict[str, Any], bytes]:
    keypair, ident = signer
    fp = fingerprint_bytes(data)
    lineage = _lineage(ident, fp.datahash)
    return make_note(
        iscc=fp.iscc,
        datahash=fp.datahash,
        lineage=lineage,
        keypair=keypair,
        units=[fp.data_code],
        **kw,
    ), lineage


def test_iscc_crypto_verifies_our_note(signer: tuple[Any, Identity]) -> None:
    note, lineage = _note(signer, FIGURE, hub_id=7)
    assert icr.verify_json(note).is_valid  # the independent oracle
    assert note["signature"]["version"] == "ISCC-SIG v1.0"
    assert note["signature"]["pubkey"] == signer[1].pubkey
    assert set(note) <= NOTE_FIELDS
    assert icr.decode_node_id(note["nonce"]) == 7
    # what an ISCC-HUB checks, with iscc-core: units + Instance-Code(datahash) rebuild the code
    fp = fingerprint_bytes(FIGURE)
    assert ic.iscc_validate(note["iscc_code"], strict=True)
    assert ic.iscc_decode(note["iscc_code"])[0] == ic.MT.ISCC
    inst = ic.encode_component(
        ic.MT.INSTANCE, ic.ST.NONE, ic.VS.V0, 256, bytes.fromhex(note["datahash"][4:])
    )
    assert ic.gen_iscc_code([*note["units"], f"ISCC:{inst}"])["iscc"] == note["iscc_code"]
    assert ic.gen_instance_code(io.BytesIO(FIGURE))["datahash"] == note["datahash"] == fp.datahash
    # the metahash is BLAKE3 of the canonical lineage (iscc-core hashes it independently)
    assert ic.gen_instance_code(io.BytesIO(lineage))["datahash"] == note["metahash"]
    # timestamp: RFC 3339 UTC, milliseconds, within a second of now
    stamp = datetime.strptime(note["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 5
    v = verify_note(
        note, iscc=fp.iscc, datahash=fp.datahash, lineage=lineage, signer=signer[1].pubkey
    )
    assert v.ok and v.content_ok and v.lineage_ok, v.reason


def test_we_verify_a_note_made_with_iscc_crypto_alone() -> None:
    kp = icr.key_generate()
    fp = fingerprint_bytes(FIGURE)
    note = icr.sign_json(
        {
            "iscc_code": fp.iscc,
            "datahash": fp.datahash,
            "nonce": icr.create_nonce(0),
            "timestamp": note_timestamp(),
        },
        kp,
    )
    v = verify_note(note, iscc=fp.iscc, datahash=fp.datahash, lineage=None)
    assert v.ok and v.pubkey == kp.public_key, v.reason
    # and iscc-crypto's tampered note fails ours
    bad = copy.deepcopy(note)
    bad["nonce"] = icr.create_nonce(1)
    assert not icr.verify_json(bad, raise_on_error=False).is_valid
    assert "signature does not verify" in str(
        verify_note(bad, iscc=None, datahash=None, lineage=None).reason
    )


def test_tamper_cases_each_have_a_reason(signer: tuple[Any, Identity]) -> None:
    note, lineage = _note(signer, FIGURE)
    fp = fingerprint_bytes(FIGURE)

    def check(n: Any, data: bytes = FIGURE, lin: bytes = lineage) -> str:
        f = fingerprint_bytes(data)
        v = verify_note(n, iscc=f.iscc, datahash=f.datahash, lineage=lin)
        assert not v.ok
        assert v.reason and "\n" not in v.reason
        return v.reason

    edited = bytearray(FIGURE)
    edited[1000] ^= 1
    assert "content differs" in check(note, bytes(edited))
    field = copy.deepcopy(note)
    field["timestamp"] = "2020-01-01T00:00:00.000Z"
    assert "signature does not verify" in check(field)
    assert not icr.verify_json(field, raise_on_error=False).is_valid  # the oracle agrees
    swapped = copy.deepcopy(note)
    swapped["signature"]["pubkey"] = icr.key_generate().public_key
    assert "signature does not verify" in check(swapped)
    assert not icr.verify_json(swapped, raise_on_error=False).is_valid
    other_note, _ = _note(signer, OTHER)
    assert "content differs" in check(other_note)
    other_lineage = _lineage(signer[1], fp.datahash, step_record="00" * 32)
    assert "lineage document differs" in check(note, lin=other_lineage)
    # re-signed by someone else: valid, but not the expected signer
    thief = icr.key_generate()
    stolen = icr.sign_json({k: v for k, v in note.items() if k != "signature"}, thief)
    v = verify_note(
        stolen, iscc=fp.iscc, datahash=fp.datahash, lineage=lineage, signer=signer[1].pubkey
    )
    assert not v.ok and f"signed by {thief.public_key}" in str(v.reason)
    assert "not a valid IsccNote" in str(
        verify_note({"iscc_code": 1}, iscc=None, datahash=None, lineage=None).reason
    )


def test_lineage_document_is_canonical(signer: tuple[Any, Identity]) -> None:
    a = lineage_document(
        {"run": "r1"},
        [
            {
                "id": "s2",
                "run": "r1",
                "name": "b",
                "used": [{"path": "y", "datahash": None}, {"path": "x", "datahash": "h"}],
            },
            {"id": "s1", "run": "r1", "name": "a"},
        ],
        {"r1": "h1"},
        signer[1],
    )
    b = lineage_document(
        {"run": "r1"},
        [
            {"id": "s1", "run": "r1", "name": "a"},
            {
                "id": "s2",
                "run": "r1",
                "name": "b",
                "used": [{"path": "x", "datahash": "h"}, {"path": "y", "datahash": None}],
            },
        ],
        {"r1": "h1"},
        signer[1],
    )
    assert canonical(a) == canonical(b)
    assert a["signer"] == {
        "pubkey": signer[1].pubkey,
        "name": "Ada",
        "orcid": "0000-0002-1825-0097",
    }
