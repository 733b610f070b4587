"""Persistence: the lineage store. Callers see :class:`LineageStore` methods, never SQL.

:func:`open_store` picks a backend by the location's scheme: a file path or a ``sqlite://``
URL opens the embedded SQLite store (the default, ``.iscc-lineage/lineage.db``); a
``postgresql://`` URL a lab-wide store on a PostgreSQL server (:mod:`.postgres`, psycopg 3).
"""

from __future__ import annotations

import os
from pathlib import Path

from iscc_lineage.errors import StoreError
from iscc_lineage.store.base import LineageStore
from iscc_lineage.store.credentials import is_server_url, redact_credentials
from iscc_lineage.store.sqlite import Store
from iscc_lineage.times import now

__all__ = [
    "DEFAULT_STORE",
    "STORE_ENV",
    "LineageStore",
    "Store",
    "default_store_path",
    "find_store",
    "is_server_url",
    "now",
    "open_store",
    "redact_credentials",
    "resolve_location",
    "sqlite_path",
]

DEFAULT_STORE = Path(".iscc-lineage") / "lineage.db"
STORE_ENV = "ISCC_LINEAGE_STORE"


def default_store_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--store`` if given, else ``$ISCC_LINEAGE_STORE``, else ``.iscc-lineage/lineage.db``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(STORE_ENV)
    return Path(env) if env else DEFAULT_STORE


def find_store(start: Path) -> Path | None:
    """The nearest ``.iscc-lineage/lineage.db`` in ``start`` or a folder above it."""
    here = start.absolute()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_STORE
        if candidate.is_file():
            return candidate
    return None


def resolve_location(location: str | os.PathLike[str], base: Path) -> str | Path:
    """A store location typed in ``base``: a server URL as it is, a path made absolute."""
    text = os.fspath(location)
    if is_server_url(text) or "://" in text:
        return text
    return Path(os.path.abspath(base / text))


def sqlite_path(location: str) -> str | None:
    """The file (or ``:memory:``) of a SQLite location; None for another scheme."""
    if location.startswith("sqlite://"):
        rest = location.removeprefix("sqlite://")
        return rest if rest else ":memory:"  # sqlite:///abs/path, sqlite://rel/path
    return None if "://" in location else location


def open_store(location: str | os.PathLike[str] | None = None, *, create: bool = True) -> Store:
    """Open the store at ``location``: a path, ``:memory:``, a ``sqlite://`` or a
    ``postgresql://user@host/db`` URL (credentials also from ``PG*`` and ``~/.pgpass``).

    :raises StoreError: an unknown scheme, or a store that cannot be opened (one line).
    """
    text = os.fspath(location) if location is not None else os.fspath(default_store_path())
    if text.startswith(("postgresql://", "postgres://")):
        from iscc_lineage.store.postgres import PostgresStore  # psycopg only when asked for

        return PostgresStore(text, create=create)
    path = sqlite_path(text)
    if path is None:
        scheme = text.split("://", 1)[0]
        raise StoreError(
            f"{scheme}:// stores are not supported (a file path, sqlite:///path "
            "or postgresql://user@host/db)"
        )
    return Store(path, create=create)
