"""Store URLs and their secrets: a password is used to connect, never shown or stored."""

from __future__ import annotations

import os
import re

__all__ = ["SERVER_SCHEMES", "is_server_url", "redact_credentials"]

SERVER_SCHEMES = ("postgresql://", "postgres://")
_CREDENTIALS = re.compile(r"\b(postgres(?:ql)?://[^:/@\s]*):[^@\s]*@")
_PASSWORD_PARAM = re.compile(r"([?&])password=[^&\s]*&?")


def is_server_url(location: str | os.PathLike[str]) -> bool:
    """A server store's URL (``postgresql://…``), as opposed to a SQLite file."""
    return isinstance(location, str) and location.startswith(SERVER_SCHEMES)


def redact_credentials(text: str) -> str:
    """``text`` with the password of every store URL in it taken out (for messages, records).

    ``postgresql://user:secret@host/db`` -> ``postgresql://user@host/db``; a ``password=``
    query parameter is dropped.
    """
    text = _CREDENTIALS.sub(r"\1@", text)
    return _PASSWORD_PARAM.sub(lambda m: m.group(1) if m.group(0).endswith("&") else "", text)
