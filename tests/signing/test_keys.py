"""Keys: made in the config folder, private file 0600, passphrase, ORCID, one-line errors."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

pytest.importorskip("iscc_crypto")

import iscc_crypto as icr

from iscc_lineage.errors import SigningError
from iscc_lineage.signing.keys import (
    KEY_FILE,
    init_keys,
    keys_dir,
    load_identity,
    load_keypair,
    normalize_orcid,
)


def test_init_writes_a_0600_key_and_a_public_identity(tmp_path: Path) -> None:
    old = os.umask(0)  # the mode must not depend on the umask
    try:
        ident = init_keys(tmp_path / "k", name="Ada Lovelace", orcid="0000-0002-1825-0097")
    finally:
        os.umask(old)
    key = tmp_path / "k" / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert ident.pubkey.startswith("z6Mk") and ident.did == f"did:key:{ident.pubkey}"
    assert load_identity(tmp_path / "k") == ident
    keypair, again = load_keypair(tmp_path / "k")
    # iscc-crypto derives the same multibase public key from the secret we stored
    assert icr.key_from_secret(keypair.secret_key).public_key == ident.pubkey == again.pubkey
    assert ident.pubkey not in key.read_text()  # PEM, not the multibase secret


def test_passphrase_protects_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ISCC_LINEAGE_PASSPHRASE", raising=False)
    ident = init_keys(tmp_path, passphrase="correct horse")
    assert ident.encrypted and b"ENCRYPTED" in (tmp_path / KEY_FILE).read_bytes()
    with pytest.raises(SigningError, match="protected by a passphrase"):
        load_keypair(tmp_path)
    with pytest.raises(SigningError, match="wrong passphrase"):
        load_keypair(tmp_path, "battery staple")
    assert load_keypair(tmp_path, "correct horse")[0].public_key == ident.pubkey
    monkeypatch.setenv("ISCC_LINEAGE_PASSPHRASE", "correct horse")
    assert load_keypair(tmp_path)[0].public_key == ident.pubkey


def test_missing_open_or_mismatched_keys_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(SigningError, match="keys init"):
        load_keypair(tmp_path / "none")
    ident = init_keys(tmp_path)
    (tmp_path / KEY_FILE).chmod(0o644)
    with pytest.raises(SigningError, match="chmod 600"):
        load_keypair(tmp_path)
    (tmp_path / KEY_FILE).chmod(0o600)
    with pytest.raises(SigningError, match="exists already"):
        init_keys(tmp_path)
    other = init_keys(tmp_path / "other")
    (tmp_path / "identity.json").write_text((tmp_path / "other" / "identity.json").read_text())
    with pytest.raises(SigningError, match=f"names {other.pubkey}.*key is {ident.pubkey}"):
        load_keypair(tmp_path)
    (tmp_path / KEY_FILE).write_text("garbage")
    with pytest.raises(SigningError, match="not a private key"):
        load_keypair(tmp_path)


def test_orcid_checksum() -> None:
    assert normalize_orcid("https://orcid.org/0000-0002-1825-0097") == "0000-0002-1825-0097"
    assert normalize_orcid("0000-0001-5109-3700") == "0000-0001-5109-3700"
    assert normalize_orcid("0000-0002-1694-233X") == "0000-0002-1694-233X"
    with pytest.raises(SigningError, match="check digit"):
        normalize_orcid("0000-0002-1825-0098")
    with pytest.raises(SigningError, match="not an ORCID"):
        normalize_orcid("Ada")


def test_keys_dir_follows_env_then_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISCC_LINEAGE_KEYS", str(tmp_path / "env"))
    assert keys_dir() == tmp_path / "env"
    monkeypatch.delenv("ISCC_LINEAGE_KEYS")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert keys_dir() == tmp_path / "xdg" / "iscc-lineage" / "keys"
