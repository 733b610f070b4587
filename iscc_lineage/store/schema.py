"""The store's SQL schema as numbered migrations; ``PRAGMA user_version`` is the version.

A migration is a list of statements run in one transaction. Never edit a released one: add the
next number. Keep one store written by each old version under ``tests/data/`` to test upgrades.
"""

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION"]

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
}

SCHEMA_VERSION = max(MIGRATIONS)
