"""The SQLite lineage store: one file, WAL, its connection, transactions and migrations.

Callers use the methods of :class:`~iscc_lineage.store.base.LineageStore` and never see SQL;
:func:`iscc_lineage.store.open_store` picks this backend for a path or a ``sqlite://`` URL.
The SQL of each concept lives in a mixin: contents, runs, walk, codes, chain, images.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from iscc_lineage.errors import StoreError
from iscc_lineage.store.chain import ChainedRecords
from iscc_lineage.store.codes import CodeQueries
from iscc_lineage.store.contents import ContentQueries
from iscc_lineage.store.images import ImageQueries
from iscc_lineage.store.runs import RunRecords, pid_alive
from iscc_lineage.store.schema import SCHEMA_VERSION, check, upgrade
from iscc_lineage.store.walk import GraphWalks

__all__ = ["Store", "pid_alive"]

BUSY_TIMEOUT_MS = 60_000  #: two Snakemake runs may record into one store at once


def _make_parent(path: Path) -> None:
    """Create the store's folder, or say in one line why it cannot be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        why = f"{blocker} is not a directory" if blocker else exc.strerror
        raise StoreError(f"{path}: cannot create store: {why}") from None
    if not os.access(path.parent, os.W_OK):
        raise StoreError(f"{path}: cannot create store: {path.parent} is not writable")


class Store(ContentQueries, RunRecords, CodeQueries, GraphWalks, ChainedRecords, ImageQueries):
    """An open SQLite lineage store. Thread-safe: one connection, serialised by a lock."""

    def __init__(
        self, location: str, *, create: bool = True, busy_timeout_ms: int = BUSY_TIMEOUT_MS
    ) -> None:
        self.location = location
        memory = location == ":memory:"
        if not memory:
            path = Path(location)
            if path.is_dir():
                raise StoreError(f"{location}: is a directory, not a lineage store")
            if not path.exists():
                if not create:
                    raise StoreError(
                        f"{location}: no lineage store here (record a run first, or pass --store)"
                    )
                _make_parent(path)
        self._create = create
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(
                location,
                timeout=busy_timeout_ms / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self._open_waiting(memory, time.monotonic() + busy_timeout_ms / 1000)
            self._db.execute("PRAGMA synchronous = NORMAL")
            # up to 64 MiB of pages, taken only as used: a directory of 10^5 chunk files adds
            # 10^5 random keys to the member datahash index (2 s with the default 2 MiB, ~1 s)
            self._db.execute("PRAGMA cache_size = -65536")
            self._db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            what = (
                "cannot open store"
                if "unable to open" in str(exc) or "readonly" in str(exc)
                else "not a readable iscc-lineage store"
            )
            raise StoreError(f"{location}: {what} ({exc})") from None
        except StoreError:
            self._close_quietly()
            raise

    # -- lifecycle ---------------------------------------------------------------------------

    def _close_quietly(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()

    def close(self) -> None:
        """Close the connection (again is harmless); the last one out removes -wal and -shm."""
        with self._lock:
            self._db.close()

    def set_busy_timeout(self, ms: int) -> None:
        """How long a write waits for another process's write lock before it fails."""
        with self._lock:
            self._db.execute(f"PRAGMA busy_timeout = {max(0, int(ms))}")

    def check_writable(self) -> None:
        """Take and release the write lock (``BEGIN IMMEDIATE``): fails on a read-only store."""
        with self.transaction():
            pass

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open_waiting(self, memory: bool, deadline: float) -> None:
        """Check or create the schema, then switch to WAL; wait out another opener.

        SQLite answers ``database is locked`` at once, without its busy handler, in a few
        places of a first open (a read upgraded to a write; the switch to WAL while another
        process creates the file): two runs that create one store at once must both get it.
        """
        pause = 0.01
        while True:
            try:
                self._migrate()
                if not memory:
                    self._db.execute("PRAGMA journal_mode = WAL")
                return
            except (sqlite3.OperationalError, StoreError) as exc:
                if "database is locked" not in str(exc) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)

    def _migrate(self) -> None:
        """Refuse what is not a store of this version or older; bring an older one up to date."""
        if check(self._db, self.location, create=self._create) == SCHEMA_VERSION:
            return
        with self.transaction() as db:
            upgrade(db, lambda name, conn: getattr(self, name)(conn))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): all of it is committed or none.

        :raises StoreError: SQLite could not write (read-only, locked past the timeout, damaged).
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.location}: cannot write to the store ({exc})") from None
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    with suppress(sqlite3.DatabaseError):  # a damaged page can fail it too
                        self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.DatabaseError):
                    raise StoreError(
                        f"{self.location}: cannot write to the store ({exc})"
                    ) from None
                raise

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                cur = self._db.execute(sql, params)
                cur.row_factory = sqlite3.Row
                return cur.fetchall()
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.location}: cannot read the store ({exc})") from None

    def stats(self) -> dict[str, int]:
        tables = ("content", "run", "step", "observation")
        return {t: self._query(f"SELECT count(*) FROM {t}")[0][0] for t in tables}
