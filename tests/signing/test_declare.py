"""The HUB declaration payload: its shape against the spec (iscc-core and iscc-crypto as
oracles), the 10-minute window, never re-dated; locally minted ISCC-IDs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("iscc_crypto")

import iscc_core as ic
import iscc_crypto as icr
from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]

from iscc_lineage.codes import fingerprint_bytes
from iscc_lineage.codes.ids import decode_iscc_id, mint_local_iscc_id, units_for_note
from iscc_lineage.errors import SigningError
from iscc_lineage.signing.declare import check_declarable, window_end
from iscc_lineage.signing.keys import init_keys, load_keypair
from iscc_lineage.signing.notes import make_note

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "iscc-note.schema.json"
DATA = bytes(range(256)) * 321


@pytest.fixture
def note(tmp_path: Path) -> dict[str, Any]:
    init_keys(tmp_path)
    keypair, _ = load_keypair(tmp_path)
    fp = fingerprint_bytes(DATA)
    return make_note(
        iscc=fp.iscc,
        datahash=fp.datahash,
        lineage=b"{}",
        keypair=keypair,
        units=units_for_note(fp),
        hub_id=42,
    )


def test_payload_is_what_a_hub_validates(note: dict[str, Any]) -> None:
    payload = check_declarable(note, hub_id=42)
    assert payload == note  # byte for byte the signed note
    schema = json.loads(SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(payload)
    # the HUB's own checks, with the libraries it uses (iscc-core, iscc-crypto)
    assert ic.iscc_validate(payload["iscc_code"], strict=True)
    assert ic.iscc_decode(payload["iscc_code"])[0] == ic.MT.ISCC
    inst = ic.iscc_decode(ic.iscc_decompose(payload["iscc_code"])[-1])[4]
    assert inst[:8] == bytes.fromhex(payload["datahash"][4:])[:8]
    assert icr.decode_node_id(payload["nonce"]) == 42
    assert icr.verify_json(payload).signature_valid
    assert {"version", "pubkey", "proof"} <= set(payload["signature"])
    assert set(payload["signature"]) <= {"version", "pubkey", "proof", "controller", "keyid"}
    assert "Instance" not in str([ic.iscc_explain(u) for u in payload["units"]])
    assert len(json.dumps(payload)) <= 8192


def test_window_and_hub_are_enforced_never_redated(note: dict[str, Any]) -> None:
    signed = datetime.strptime(note["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
    check_declarable(note, hub_id=42, now=signed + timedelta(minutes=9, seconds=59))
    with pytest.raises(SigningError, match="±10 minutes: sign again"):
        check_declarable(note, hub_id=42, now=signed + timedelta(minutes=10, seconds=1))
    with pytest.raises(SigningError, match="±10 minutes"):
        check_declarable(note, hub_id=42, now=signed - timedelta(minutes=11))
    with pytest.raises(SigningError, match="for HUB 42, not 7"):
        check_declarable(note, hub_id=7)
    with pytest.raises(SigningError, match="rejects the fields lineage"):
        check_declarable({**note, "lineage": "x"}, hub_id=42)
    assert window_end(note) > note["timestamp"]


def test_local_iscc_id_is_realm_0_and_matches_iscc_core(note: dict[str, Any]) -> None:
    code = mint_local_iscc_id(note)
    realm, when, hub = decode_iscc_id(code)
    assert (realm, hub) == (0, 42)
    stamp = datetime.strptime(note["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert when == stamp.astimezone(UTC)
    micros = int(stamp.timestamp()) * 1_000_000 + stamp.microsecond
    assert ic.gen_iscc_id_v1(timestamp=micros, hub_id=42, realm_id=0)["iscc"] == code


def test_units_rebuild_the_code_and_folders_carry_none() -> None:
    fp = fingerprint_bytes(DATA)
    units = units_for_note(fp)
    inst = ic.gen_instance_code(__import__("io").BytesIO(DATA), bits=256)["iscc"]
    assert ic.gen_iscc_code([*units, inst])["iscc"] == fp.iscc
    import dataclasses

    assert units_for_note(dataclasses.replace(fp, kind="tree")) == []
