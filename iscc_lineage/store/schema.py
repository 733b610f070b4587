"""The store's SQL schema as numbered migrations; ``PRAGMA user_version`` is the version.

A migration is a list of statements run in one transaction. Never edit a released one: add the
next number. Keep one store written by each old version under ``tests/data/`` to test upgrades.
"""

import functools
import sqlite3
from collections.abc import Callable

from iscc_lineage.errors import SchemaVersionError, StoreError

__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SEALS",
    "check",
    "check_objects",
    "expected_objects",
    "probe",
    "upgrade",
]

APPLICATION_ID = 0x4953434C  #: "ISCL", marks a SQLite file as an iscc-lineage store

MIGRATIONS: dict[int, list[str]] = {
    1: [
        # One row per distinct content (datahash). Further codes go to content_code.
        """CREATE TABLE content (
            id INTEGER PRIMARY KEY,
            datahash TEXT NOT NULL UNIQUE,
            iscc TEXT NOT NULL,
            size INTEGER NOT NULL,
            data_code TEXT NOT NULL,
            instance_code TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'file' CHECK (kind IN ('file', 'tree')),
            data64 INTEGER NOT NULL,
            first_seen TEXT NOT NULL)""",
        "CREATE INDEX content_iscc ON content (iscc)",
        # Room for an image Content-Code, a pixel-level code, signatures, accessions, ...
        """CREATE TABLE content_code (
            content_id INTEGER NOT NULL REFERENCES content (id),
            scheme TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (content_id, scheme)) WITHOUT ROWID""",
        "CREATE INDEX content_code_value ON content_code (scheme, value)",
        # The manifest of a directory content (OME-Zarr, directory() outputs).
        """CREATE TABLE member (
            tree_id INTEGER NOT NULL REFERENCES content (id),
            path TEXT NOT NULL,
            content_id INTEGER REFERENCES content (id),
            datahash TEXT,
            size INTEGER NOT NULL,
            link TEXT,
            PRIMARY KEY (tree_id, path)) WITHOUT ROWID""",
        "CREATE INDEX member_datahash ON member (datahash)",
        """CREATE TABLE run (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            workflow TEXT,
            workdir TEXT NOT NULL,
            started TEXT NOT NULL,
            ended TEXT,
            status TEXT NOT NULL,
            host TEXT,
            user TEXT,
            command TEXT,
            info TEXT NOT NULL DEFAULT '{}')""",
        "CREATE INDEX run_started ON run (started)",
        """CREATE TABLE step (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            run_id INTEGER NOT NULL REFERENCES run (id),
            name TEXT NOT NULL,
            process TEXT,
            command TEXT,
            code TEXT,
            code_content_id INTEGER REFERENCES content (id),
            params TEXT NOT NULL DEFAULT '{}',
            environment TEXT NOT NULL DEFAULT '{}',
            started TEXT,
            ended TEXT,
            exit_status INTEGER,
            status TEXT NOT NULL,
            info TEXT NOT NULL DEFAULT '{}')""",
        "CREATE INDEX step_run ON step (run_id)",
        # A content seen at a path. With a step it is an edge: 'used' / 'generated', or
        # 'partial' (output of a failed step, never followed by trace); 'seen' otherwise.
        # content_id is NULL for locations without content (pipes, files not fingerprinted).
        """CREATE TABLE observation (
            id INTEGER PRIMARY KEY,
            run_id INTEGER REFERENCES run (id),
            step_id INTEGER REFERENCES step (id),
            content_id INTEGER REFERENCES content (id),
            path TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('used', 'generated', 'partial', 'seen')),
            seen_at TEXT NOT NULL,
            note TEXT)""",
        "CREATE INDEX observation_content ON observation (content_id, role, step_id)",
        "CREATE INDEX observation_step ON observation (step_id, role, content_id)",
        "CREATE INDEX observation_path ON observation (path)",
        "CREATE INDEX observation_run ON observation (run_id)",
        "CREATE VIEW used AS SELECT step_id, content_id, path FROM observation"
        " WHERE role = 'used' AND step_id IS NOT NULL",
        "CREATE VIEW generated AS SELECT step_id, content_id, path FROM observation"
        " WHERE role = 'generated'",
        # (device, inode, size, mtime_ns, ctime_ns) -> fingerprint JSON
        """CREATE TABLE stat_cache (
            key TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            stored TEXT NOT NULL) WITHOUT ROWID""",
    ],
    2: [
        # The tamper-evident chain: one entry per write of a run or a step (signing/chain.py)
        """CREATE TABLE chain (
            seq INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('run', 'step')),
            uid TEXT NOT NULL,
            content TEXT NOT NULL,
            prev TEXT NOT NULL,
            hash TEXT NOT NULL,
            at TEXT NOT NULL)""",
        "CREATE INDEX chain_record ON chain (kind, uid)",
        "CREATE TRIGGER chain_no_update BEFORE UPDATE ON chain"
        " BEGIN SELECT RAISE(ABORT, 'the chain is append-only'); END",
        "CREATE TRIGGER chain_no_delete BEFORE DELETE ON chain"
        " BEGIN SELECT RAISE(ABORT, 'the chain is append-only'); END",
        # Signed IsccNotes beside their content (or run), with the lineage document they sign
        """CREATE TABLE note (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('content', 'run')),
            subject TEXT NOT NULL,
            content_id INTEGER REFERENCES content (id),
            run_id INTEGER REFERENCES run (id),
            pubkey TEXT NOT NULL,
            timestamp TEXT NOT NULL,
            note TEXT NOT NULL,
            lineage BLOB NOT NULL,
            iscc_id TEXT)""",
        "CREATE INDEX note_subject ON note (subject)",
    ],
    3: [
        # The images of a content (one per scene / series): pixel code and acquisition
        # metadata. Equal pixel_id (stream digest / dtype / plane size) = the same image.
        """CREATE TABLE image (
            content_id INTEGER NOT NULL REFERENCES content (id),
            scene INTEGER NOT NULL,
            name TEXT,
            pixel_id TEXT NOT NULL,
            iscc TEXT NOT NULL,
            wide TEXT NOT NULL,
            data_code TEXT NOT NULL,
            datahash TEXT NOT NULL,
            dtype TEXT NOT NULL,
            sizes TEXT NOT NULL,
            uniform INTEGER NOT NULL,
            metadata TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (content_id, scene)) WITHOUT ROWID""",
        "CREATE INDEX image_pixel ON image (pixel_id, content_id)",
        # Two contents holding one image (not a uniform one: a blank frame or an empty mask
        # is shared by unrelated images, as an empty file is): trace and impact cross it.
        """CREATE VIEW twin AS SELECT DISTINCT x.content_id AS a, y.content_id AS b
            FROM image x JOIN image y ON y.pixel_id = x.pixel_id
             AND y.content_id != x.content_id WHERE x.uniform = 0""",
    ],
    4: [
        # Binary codes of a content (figure index, codes and verification detail): bytes, not
        # base64 text in content_code; the seal moves the figure codes stored before.
        """CREATE TABLE content_blob (
            content_id INTEGER NOT NULL REFERENCES content (id),
            scheme TEXT NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (content_id, scheme)) WITHOUT ROWID""",
    ],
}

#: migrations that Python finishes in the same transaction, on a store that had data:
#: version -> the store method (2: chain the runs and steps recorded before the chain existed;
#: 4: move the base64 figure codes from content_code into content_blob as bytes)
SEALS = {2: "_seal_existing", 4: "_move_figure_codes"}

SCHEMA_VERSION = max(MIGRATIONS)


def check(db: sqlite3.Connection, location: str, *, create: bool) -> int:
    """The schema version of an open SQLite file; refuses what is not a usable store.

    :raises StoreError: a foreign SQLite file, or an empty one when not creating.
    :raises SchemaVersionError: written by a newer iscc-lineage.
    """
    # emptiness first: a store another process creates meanwhile is then seen whole
    empty = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    if not empty and app_id != APPLICATION_ID:
        raise StoreError(f"{location}: a SQLite file, but not an iscc-lineage store")
    if empty and not create and location != ":memory:":
        raise StoreError(f"{location}: an empty file, not a lineage store yet")
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{location}: store schema v{version} is newer than this "
            f"iscc-lineage (v{SCHEMA_VERSION}); upgrade iscc-lineage"
        )
    if not empty:
        check_objects(db, location, version)
        probe(db)
    return version


@functools.lru_cache(maxsize=8)
def expected_objects(version: int) -> dict[tuple[str, str], str | None]:
    """``(type, name) -> sql`` of every schema object a store of ``version`` holds: the
    migrations run on an empty in-memory database (so ALTER and DROP count as well)."""
    mem = sqlite3.connect(":memory:")
    try:
        for target in range(1, version + 1):
            for statement in MIGRATIONS[target]:
                mem.execute(statement)
        return {
            (t, n): sql
            for t, n, sql in mem.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        }
    finally:
        mem.close()


def check_objects(db: sqlite3.Connection, location: str, version: int) -> None:
    """Refuse a store whose ``sqlite_master`` holds anything the migrations did not make.

    Reads ``sqlite_master`` only (no view, trigger or table is touched), so a crafted file
    cannot run its SQL here: a trigger, a view in place of a table, a changed view or an
    extra table or index is refused before any query runs.

    :raises StoreError: ``not an iscc-lineage store (unexpected schema object …)``.
    """
    want = expected_objects(version) if version in range(1, SCHEMA_VERSION + 1) else {}
    for kind, name, sql in db.execute("SELECT type, name, sql FROM sqlite_master").fetchall():
        if kind == "table" and str(name).startswith("sqlite_stat"):
            continue  # ANALYZE's statistics: data, never run
        if (kind, name) not in want or want[(kind, name)] != sql:
            raise StoreError(
                f"{location}: not an iscc-lineage store (unexpected schema "
                f"object: {kind} {str(name)[:80]!r})"
            )


def probe(db: sqlite3.Connection) -> None:
    """Read the root and first leaf of every table and index: O(depth) each, so a damaged
    store (garbage pages, a truncated file) fails on open, before anything is written."""
    for kind, name, table in db.execute(
        "SELECT type, name, tbl_name FROM sqlite_master WHERE rootpage > 0"
    ).fetchall():
        how = f'INDEXED BY "{name}"' if kind == "index" else "NOT INDEXED"
        db.execute(f'SELECT 1 FROM "{table}" {how} LIMIT 1').fetchall()


def upgrade(
    db: sqlite3.Connection, seal: Callable[[str, sqlite3.Connection], None] | None = None
) -> None:
    """Run the migrations after the file's version; the caller holds the write transaction.

    ``seal(name, db)`` runs the Python step a migration names in :data:`SEALS` (same
    transaction), e.g. chaining the records a store held before version 2.
    """
    version = db.execute("PRAGMA user_version").fetchone()[0]  # re-read under the lock
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[target]:
            db.execute(statement)
        if seal is not None and target in SEALS:
            seal(SEALS[target], db)
        db.execute(f"PRAGMA user_version = {target}")
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
