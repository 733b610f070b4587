"""The lineage store on a PostgreSQL server (``postgresql://user@host/db``), with psycopg 3.

The same model, migrations and queries as the SQLite store: every statement is written once,
in SQLite's dialect, and :func:`pg_sql` rewrites the few places where PostgreSQL differs
(placeholders, ``json_each`` lists, JSON functions, ``INSERT OR REPLACE``, identity columns,
the reserved word ``user``). The recursive graph walks are the same CTEs, with the recursive
terms folded into one ``LATERAL`` union (PostgreSQL allows one self-reference).

Concurrency: any number of processes (Snakemake runs of different users) write at once. Each
step is one transaction; write transactions take one advisory lock, so they commit one after
the other as in SQLite, while readers never wait. Credentials come from the URL, the ``PG*``
environment or ``~/.pgpass`` (libpq reads them); the password never appears in
:attr:`PostgresStore.location`, in messages, or in anything recorded.

A read-only role (``GRANT pg_read_all_data``, or ``SELECT`` on the tables) is enough for
trace, impact, verify and export; the stat cache is then not written.

The dialect translation is :mod:`iscc_lineage.store.pg_dialect`, the connection wrapper that
applies it :mod:`iscc_lineage.store.pg_connection`; this module is the store class.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from iscc_lineage.errors import SchemaVersionError, StoreError
from iscc_lineage.model import Fingerprint
from iscc_lineage.store.pg_connection import Connection, Row
from iscc_lineage.store.pg_dialect import META, pg_schema, pg_sql
from iscc_lineage.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, SEALS
from iscc_lineage.store.sqlite import Store

__all__ = ["SCHEMES", "PostgresStore", "Row", "is_postgres_url", "pg_sql", "redact"]

SCHEMES = ("postgresql://", "postgres://")
WRITE_LOCK = APPLICATION_ID  #: the advisory lock key that serialises write transactions


def is_postgres_url(text: str) -> bool:
    return text.startswith(SCHEMES)


def redact(url: str) -> str:
    """The URL without its password (``user:secret@`` -> ``user@``, ``password=`` dropped)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        auth, host = netloc.rsplit("@", 1)
        netloc = auth.split(":", 1)[0] + "@" + host
    query = "&".join(q for q in parts.query.split("&") if q and not q.startswith("password="))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [q.split("=", 1)[1] for q in parts.query.split("&") if q.startswith("password=")]
    return [s for s in found if s]


class PostgresStore(Store):
    """A lineage store in a PostgreSQL database; the same interface as the SQLite store."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        try:
            import psycopg
        except ImportError:
            raise StoreError(
                f"{redact(url)}: PostgreSQL stores need psycopg "
                "(pip install 'iscc-lineage[postgresql]')"
            ) from None
        self._psycopg = psycopg
        self._url = url
        self.location = redact(url)
        self._secret = _secrets(url)
        self._create = create
        self._lock = threading.RLock()
        self._writable: bool | None = None
        try:
            # JIT off in the startup packet (no extra round trip): the recursive walks look
            # expensive to the planner on a large store, which then JIT-compiles them: tens
            # of ms for a query that runs in one (benchmarks/)
            own = "options=" in url  # the URL's own options stay (a kwarg would replace them)
            extra: dict[str, Any] = {} if own else {"options": "-c jit=off"}
            self._conn = psycopg.connect(
                url, autocommit=True, application_name="iscc-lineage", **extra
            )
            if own:
                self._conn.execute("SET jit = off")
        except psycopg.Error as exc:
            raise StoreError(f"{self.location}: cannot connect ({self._clean(exc)})") from None
        self._db = Connection(self._conn)  # type: ignore[assignment]
        try:
            self._migrate()
        except psycopg.Error as exc:
            self._close_quietly()
            raise StoreError(
                f"{self.location}: not a usable iscc-lineage store ({self._clean(exc)})"
            ) from None
        except StoreError:
            self._close_quietly()
            raise

    def _clean(self, exc: BaseException) -> str:
        """An error message with any password taken out, on one line."""
        text = " ".join(str(exc).split())
        for s in self._secret:
            text = text.replace(s, "***")
        return text

    # -- lifecycle ---------------------------------------------------------------------------

    def _close_quietly(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _read_meta(self, db: Any) -> dict[str, str] | None:
        """The meta table's rows, None without one; refuses a database that is not ours."""
        # pg_tables, not to_regclass(): a plain query reads the catalog with this statement's
        # snapshot, so a store created by another process while we waited for the lock shows
        if not db.execute(
            "SELECT count(*) FROM pg_tables WHERE tablename = ? AND schemaname = current_schema()",
            (META,),
        ).fetchone()[0]:
            tables = db.execute(
                "SELECT count(*) FROM information_schema.tables WHERE"
                " table_schema = current_schema()"
            ).fetchone()[0]
            if tables:
                raise StoreError(
                    f"{self.location}: a database with other tables, not an "
                    "iscc-lineage store (use a database of its own)"
                )
            return None
        return self._checked({r[0]: r[1] for r in db.execute(f"SELECT key, value FROM {META}")})

    def _checked(self, meta: dict[str, str]) -> dict[str, str]:
        if meta.get("application_id") != str(APPLICATION_ID):
            raise StoreError(f"{self.location}: {META} is not an iscc-lineage store's")
        version = int(meta.get("schema_version", 0))
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{self.location}: store schema v{version} is newer than this iscc-lineage "
                f"(v{SCHEMA_VERSION}); upgrade iscc-lineage"
            )
        return meta

    def _quick_meta(self) -> dict[str, str] | None:
        """An existing store's meta rows in one round trip (what every command pays before
        its first query); None without the table (then :meth:`_read_meta` decides)."""
        try:
            rows = self._db.execute(f"SELECT key, value FROM {META}").fetchall()
        except self._psycopg.errors.UndefinedTable:
            return None
        return self._checked({r[0]: r[1] for r in rows})

    def _migrate(self) -> None:
        try:
            meta = self._quick_meta() or self._read_meta(self._db)
        except StoreError:
            # a store being created right now shows its tables before its meta row: decide
            # under the migrators' lock, below, once the creator has committed
            meta = None
        if meta is None and not self._create:
            meta = self._read_meta(self._db)  # refuses a foreign database in one line
            if meta is None:
                raise StoreError(
                    f"{self.location}: no lineage store here (record a run first, or pass --store)"
                )
        if meta is not None and int(meta.get("schema_version", 0)) == SCHEMA_VERSION:
            return
        with self.transaction(check=False) as db:  # the lock: one creator / migrator at once
            meta = self._read_meta(db)  # re-read under the lock: another may have done it
            version = int((meta or {}).get("schema_version", 0))
            if version == SCHEMA_VERSION:
                return
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target]:
                    for translated in pg_schema(statement):
                        db.execute(translated)
                if target in SEALS:
                    getattr(self, SEALS[target])(db)
                db.execute(
                    f"INSERT OR REPLACE INTO {META} (key, value) VALUES ('schema_version', ?)",
                    (str(target),),
                )
            db.execute(
                f"INSERT OR REPLACE INTO {META} (key, value) VALUES ('application_id', ?)",
                (str(APPLICATION_ID),),
            )

    @contextmanager
    def transaction(self, check: bool = True) -> Iterator[Any]:
        """One write transaction: all of it is committed or none. Writers take turns.

        :raises StoreError: the server refused (read-only role, connection lost, ...).
        """
        psycopg = self._psycopg
        with self._lock:
            if check:
                self._require_writable()
            try:
                with self._conn.transaction():
                    self._db.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
                    yield self._db
            except psycopg.Error as exc:
                raise StoreError(
                    f"{self.location}: cannot write to the store ({self._clean(exc)})"
                ) from None

    def check_writable(self) -> None:
        """The role may insert into the tables (a read-only role may not record)."""
        with self._lock:
            self._require_writable()

    def _require_writable(self) -> None:
        if self._writable is None:
            try:
                row = self._db.execute(
                    "SELECT bool_and(has_table_privilege(t, 'INSERT'))"
                    " FROM unnest(ARRAY['run', 'step', 'observation', 'content']) t"
                ).fetchone()
            except self._psycopg.Error as exc:
                raise StoreError(
                    f"{self.location}: cannot read the store ({self._clean(exc)})"
                ) from None
            self._writable = bool(row[0]) if row else False
        if not self._writable:
            raise StoreError(f"{self.location}: cannot write to the store (the role may only read)")

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except self._psycopg.Error as exc:
                raise StoreError(
                    f"{self.location}: cannot read the store ({self._clean(exc)})"
                ) from None

    # -- where PostgreSQL differs ------------------------------------------------------------

    def _content_id(self, db: Any, fp: Fingerprint) -> int:
        # Writers hold the advisory lock, so select-then-insert cannot race; the ON CONFLICT
        # guards writers of other versions that might not take it.
        row = db.execute("SELECT id FROM content WHERE datahash = ?", (fp.datahash,)).fetchone()
        if row is not None:
            return int(row[0])
        return super()._content_id(db, fp)

    def _insert_members(self, db: Any, cid: int, fp: Fingerprint) -> None:
        """The manifest rows through COPY: 10^5 members in one stream, not 10^5 statements."""
        known = self._member_ids(db, fp)
        with (
            self._conn.cursor() as cur,
            cur.copy(
                "COPY member (tree_id, path, content_id, datahash, size, link) FROM STDIN"
            ) as copy,
        ):
            for m in fp.members:
                copy.write_row(
                    (
                        cid,
                        m.path,
                        known.get(m.datahash) if m.datahash else None,
                        m.datahash,
                        m.size,
                        m.link,
                    )
                )

    def set_busy_timeout(self, ms: int) -> None:
        """How long a write waits for the writers' lock (``lock_timeout``; 0: no limit).

        :raises StoreError: the connection is gone.
        """
        with self._lock:
            try:
                self._db.execute(f"SET lock_timeout = {max(0, int(ms))}")
            except self._psycopg.Error as exc:
                raise StoreError(f"{self.location}: {self._clean(exc)}") from None

    @property
    def connection_lost(self) -> bool:
        """The server closed the connection (it restarted, or went away): open a new store."""
        return bool(self._conn.closed or self._conn.broken)

    def analyze(self) -> None:
        """Refresh the planner's statistics after a bulk load (``store copy``): with stale
        ones the walks plan sequential scans (benchmarks/: trace 60 ms instead of 10 ms)."""
        with self._lock, suppress(self._psycopg.Error):  # may not analyze: autovacuum will
            self._db.execute("ANALYZE")

    def cache_put(self, entries: Sequence[tuple[str, Fingerprint]]) -> None:
        """Store fingerprints in the stat cache; a read-only role skips it (a cache only)."""
        self._require_writable_quiet()
        if self._writable:
            super().cache_put(entries)

    def _require_writable_quiet(self) -> None:
        if self._writable is None:
            with suppress(StoreError):
                self._require_writable()
