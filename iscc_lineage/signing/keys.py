"""The signer's Ed25519 key pair in the user's config folder, never in a store or a crate.

Two files in ``$ISCC_LINEAGE_KEYS`` (else ``<user config dir>/iscc-lineage/keys``):

- ``signing.key``: the private key, PKCS#8 PEM, encrypted with the passphrase if one was given
  (``cryptography``'s best available scheme), file mode 0600, refused when others may read it;
- ``identity.json``: what others may see: the public key as iscc-crypto encodes it (multibase
  ``z6Mk…``), its ``did:key``, and an optional name and ORCID iD, which are the signer's claims.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from iscc_lineage.errors import SigningError

__all__ = [
    "KEYS_ENV",
    "PASSPHRASE_ENV",
    "Identity",
    "init_keys",
    "keys_dir",
    "load_identity",
    "load_keypair",
    "normalize_orcid",
]

KEYS_ENV = "ISCC_LINEAGE_KEYS"
PASSPHRASE_ENV = "ISCC_LINEAGE_PASSPHRASE"
KEY_FILE = "signing.key"
IDENTITY_FILE = "identity.json"
_ORCID = re.compile(r"^(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")


@dataclass(frozen=True, slots=True)
class Identity:
    """The public side of a key: safe to print, store and ship."""

    pubkey: str  #: multibase ``z6Mk…`` (ED01 multicodec prefix, base58btc), as iscc-crypto
    name: str | None = None
    orcid: str | None = None  #: ``0000-0002-1825-0097`` form, checksum verified
    created: str | None = None
    encrypted: bool = False

    @property
    def did(self) -> str:
        """The key as a self-resolving ``did:key`` identifier."""
        return f"did:key:{self.pubkey}"

    @property
    def orcid_url(self) -> str | None:
        return f"https://orcid.org/{self.orcid}" if self.orcid else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "pubkey": self.pubkey,
            "did": self.did,
            "name": self.name,
            "orcid": self.orcid,
            "created": self.created,
            "encrypted": self.encrypted,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Identity:
        return cls(
            str(d["pubkey"]),
            d.get("name"),
            d.get("orcid"),
            d.get("created"),
            bool(d.get("encrypted", False)),
        )


def keys_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``explicit``, else ``$ISCC_LINEAGE_KEYS``, else the user's config folder (XDG)."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(KEYS_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("iscc-lineage")) / "keys"


def normalize_orcid(text: str) -> str:
    """``0000-0002-1825-0097`` (or its orcid.org URL) checked by its ISO 7064 11,2 digit.

    :raises SigningError: not an ORCID iD.
    """
    m = _ORCID.match(text.strip())
    if m is None:
        raise SigningError(f"{text!r} is not an ORCID iD (0000-0000-0000-000X)")
    digits = m.group(1).replace("-", "")
    total = 0
    for d in digits[:-1]:
        total = (total + int(d)) * 2
    check = (12 - total % 11) % 11
    if digits[-1] != ("X" if check == 10 else str(check)):
        raise SigningError(f"{text!r}: the ORCID iD's check digit is wrong (a typo?)")
    return m.group(1)


def init_keys(
    folder: Path,
    *,
    passphrase: str | None = None,
    name: str | None = None,
    orcid: str | None = None,
    force: bool = False,
) -> Identity:
    """Create a new Ed25519 key pair in ``folder`` and return its public identity.

    :raises SigningError: keys exist there (and not ``force``), or the folder is not writable.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from iscc_crypto import pubkey_encode

    orcid = normalize_orcid(orcid) if orcid else None
    key_path, id_path = folder / KEY_FILE, folder / IDENTITY_FILE
    if key_path.exists() and not force:
        raise SigningError(
            f"{key_path}: a signing key exists already (--force replaces it; "
            "notes signed with it stay verifiable by their embedded key)"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise SigningError(f"{folder}: cannot create the key folder ({exc.strerror})") from None
    secret = ed25519.Ed25519PrivateKey.generate()
    algo: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    pem = secret.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, algo)
    ident = Identity(
        pubkey_encode(secret.public_key()),
        name or None,
        orcid,
        datetime.now(UTC).isoformat(timespec="seconds"),
        bool(passphrase),
    )
    tmp = key_path.with_name(KEY_FILE + ".tmp")
    try:
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)  # whatever the umask
            f.write(pem)
        id_tmp = id_path.with_name(IDENTITY_FILE + ".tmp")
        id_tmp.write_text(json.dumps(ident.to_dict(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, key_path)
        os.replace(id_tmp, id_path)
    except OSError as exc:
        raise SigningError(f"{folder}: cannot write the key ({exc.strerror})") from None
    return ident


def load_identity(folder: Path) -> Identity:
    """The public identity in ``folder``.

    :raises SigningError: no key there, or its identity file is unreadable.
    """
    id_path = folder / IDENTITY_FILE
    if not (folder / KEY_FILE).exists() and not id_path.exists():
        raise SigningError(f"{folder}: no signing key here (run `iscc-lineage keys init`)")
    try:
        return Identity.from_dict(json.loads(id_path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not an identity file"
        raise SigningError(f"{id_path}: cannot read the key's identity ({why})") from None


def load_keypair(folder: Path, passphrase: str | None = None) -> tuple[Any, Identity]:
    """The iscc-crypto ``KeyPair`` and the identity in ``folder``.

    ``passphrase`` defaults to ``$ISCC_LINEAGE_PASSPHRASE``.

    :raises SigningError: missing, unreadable or too open key file; wrong or missing passphrase;
        the key does not match its identity file.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from iscc_crypto import key_from_secret, seckey_encode

    ident = load_identity(folder)
    key_path = folder / KEY_FILE
    try:
        st = key_path.stat()
        if stat.S_IMODE(st.st_mode) & 0o077:
            raise SigningError(
                f"{key_path}: others may read this private key (mode "
                f"{stat.S_IMODE(st.st_mode):o}); run chmod 600 on it"
            )
        pem = key_path.read_bytes()
    except FileNotFoundError:
        raise SigningError(f"{key_path}: no private key (run `iscc-lineage keys init`)") from None
    except OSError as exc:
        raise SigningError(f"{key_path}: cannot read the private key ({exc.strerror})") from None
    if passphrase is None:
        passphrase = os.environ.get(PASSPHRASE_ENV) or None
    encrypted = b"ENCRYPTED" in pem.split(b"\n", 1)[0]
    if encrypted and not passphrase:
        raise SigningError(
            f"{key_path}: the key is protected by a passphrase; "
            f"set {PASSPHRASE_ENV} or run in a terminal"
        )
    try:
        secret = serialization.load_pem_private_key(
            pem, passphrase.encode() if encrypted and passphrase else None
        )
    except (ValueError, TypeError) as exc:
        why = "wrong passphrase" if encrypted else f"not a private key ({exc})"
        raise SigningError(f"{key_path}: cannot load the key: {why}") from None
    if not isinstance(secret, ed25519.Ed25519PrivateKey):
        raise SigningError(f"{key_path}: not an Ed25519 key")
    keypair = key_from_secret(seckey_encode(secret))
    if keypair.public_key != ident.pubkey:
        raise SigningError(
            f"{folder}: {IDENTITY_FILE} names {ident.pubkey}, but the private "
            f"key is {keypair.public_key}"
        )
    return keypair, ident
