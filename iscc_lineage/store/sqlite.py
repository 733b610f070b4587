"""The SQLite lineage store: one file, WAL, all of its SQL, transactions and migrations.

Callers use the methods of :class:`~iscc_lineage.store.base.LineageStore` and never see SQL;
:func:`iscc_lineage.store.open_store` picks this backend for a path or a ``sqlite://`` URL.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

from iscc_lineage.codes.distance import data64
from iscc_lineage.errors import AmbiguousError, NotFoundError, StoreError
from iscc_lineage.locations import printable
from iscc_lineage.model import Artifact, Content, Edge, Fingerprint, Member, Run, Step
from iscc_lineage.store.chain import ChainedRecords
from iscc_lineage.store.codes import CodeQueries
from iscc_lineage.store.credentials import redact_credentials
from iscc_lineage.store.images import ImageQueries
from iscc_lineage.store.schema import SCHEMA_VERSION, check, upgrade
from iscc_lineage.store.walk import GraphWalks
from iscc_lineage.times import now

__all__ = ["Store", "pid_alive"]

BUSY_TIMEOUT_MS = 60_000  #: two Snakemake runs may record into one store at once
PARTIAL = "partial output of a failed step"  #: the note on a failed step's outputs


#: ``uid`` starts with the parameter (given twice): a range, so the unique index serves it
#: (``LIKE`` would scan, and reads ``_`` and ``%`` in a prefix as wildcards)
_PREFIX = "uid >= ? AND uid < ? || char(1114111)"


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


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (``kill(pid, 0)``)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    except OSError:
        return False
    try:  # a zombie (killed, not yet reaped by its parent) is dead
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _cache_text(fp: Fingerprint) -> str:
    """A stat-cache value: the fingerprint, a directory's members as compact rows."""
    d = fp.to_dict()
    if fp.members:
        d["members"] = [[m.path, m.datahash, m.size, m.link] for m in fp.members]
    return json.dumps(d, separators=(",", ":"))


def _cached_fp(text: str) -> Fingerprint:
    """A stat-cache value back (members as rows, or as objects in entries of older versions)."""
    d = json.loads(text)
    rows = d.get("members")
    if not rows or isinstance(rows[0], dict):
        return Fingerprint.from_dict(d)
    d["members"] = ()
    fp = Fingerprint.from_dict(d)
    return replace(fp, members=tuple(Member(p, h, s, link) for p, h, s, link in rows))


def _secretless(command: str | None) -> str | None:
    """A command line as recorded: a store URL's password never enters the store."""
    return redact_credentials(command) if command else command


#: the note of a 'used' observation that is code the step ran (``code: script``, ...)
CODE_NOTE = "code: "


def _is_code(e: Edge) -> bool:
    return e.note is not None and e.note.startswith(CODE_NOTE)


def _dumps(value: Any) -> str:
    return json.dumps(value or {}, sort_keys=True, ensure_ascii=False, default=str)


class Store(CodeQueries, GraphWalks, ChainedRecords, ImageQueries):
    """An open SQLite lineage store. Thread-safe: one connection, serialised by a lock."""

    def __init__(self, location: str, *, create: bool = True,
                 busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
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
                location, timeout=busy_timeout_ms / 1000, isolation_level=None,
                check_same_thread=False,
            )
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self._migrate()
            if not memory:
                self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            # up to 64 MiB of pages, taken only as used: a directory of 10^5 chunk files adds
            # 10^5 random keys to the member datahash index (2 s with the default 2 MiB, ~1 s)
            self._db.execute("PRAGMA cache_size = -65536")
            self._db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            what = ("cannot open store" if "unable to open" in str(exc) or "readonly" in str(exc)
                    else "not a readable iscc-lineage store")
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
                        f"{self.location}: cannot write to the store ({exc})") from None
                raise

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                cur = self._db.execute(sql, params)
                cur.row_factory = sqlite3.Row
                return cur.fetchall()
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.location}: cannot read the store ({exc})") from None

    # -- contents ----------------------------------------------------------------------------

    def _content_id(self, db: sqlite3.Connection, fp: Fingerprint) -> int:
        row = db.execute("SELECT id FROM content WHERE datahash = ?", (fp.datahash,)).fetchone()
        if row is not None:
            return int(row[0])
        cur = db.execute(
            "INSERT INTO content (datahash, iscc, size, data_code, instance_code, kind, data64,"
            " first_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (fp.datahash, fp.iscc, fp.size, fp.data_code, fp.instance_code, fp.kind,
             data64(fp.data_code), now()),
        )
        cid = int(cur.lastrowid or 0)
        if fp.members:
            self._insert_members(db, cid, fp)
        return cid

    def _insert_members(self, db: sqlite3.Connection, cid: int, fp: Fingerprint) -> None:
        """A directory's manifest rows: one lookup for all member contents, one batch insert
        (10^5 chunk files of an OME-Zarr in one statement each, not 2 x 10^5)."""
        hashes = sorted({m.datahash for m in fp.members if m.datahash is not None})
        known = {r[0]: int(r[1]) for r in db.execute(
            "SELECT datahash, id FROM content WHERE datahash IN (SELECT value FROM json_each(?))",
            (json.dumps(hashes),)).fetchall()} if hashes else {}
        db.executemany(
            "INSERT INTO member (tree_id, path, content_id, datahash, size, link)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(cid, m.path, known.get(m.datahash) if m.datahash else None, m.datahash, m.size,
              m.link) for m in fp.members])

    def content(self, datahash: str) -> Content | None:
        """The content with this datahash and every path it was seen at, or None."""
        found = self.contents_by_id(self._ids_for([datahash]))
        return next(iter(found.values()), None)

    def contents(self, datahashes: Iterable[str]) -> dict[str, Content]:
        """Contents by datahash (unknown ones are left out), each with its known paths."""
        found = self.contents_by_id(self._ids_for(datahashes))
        return {c.datahash: c for c in found.values()}

    def content_rows(self, datahashes: Iterable[str]) -> dict[str, Content]:
        """Contents by datahash without their paths: one query, for exports of 10^5 files.

        A large share of the table is read by one scan (~10x faster than index lookups).
        """
        want = set(datahashes)
        cols = "SELECT id, iscc, datahash, size, data_code, instance_code, kind FROM content"
        top = self._query("SELECT max(id) FROM content")[0][0] or 0
        if len(want) * 8 > top:
            rows = [r for r in self._query(cols) if r[2] in want]
        else:
            rows = self._query(cols + " WHERE datahash IN (SELECT value FROM json_each(?))",
                               (json.dumps(sorted(want)),))
        return {r[2]: Content(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows}

    def _ids_for(self, datahashes: Iterable[str]) -> list[int]:
        rows = self._query(
            "SELECT id FROM content WHERE datahash IN (SELECT value FROM json_each(?))",
            (json.dumps(list(datahashes)),))
        return [r[0] for r in rows]

    def contents_by_id(self, ids: Iterable[int]) -> dict[int, Content]:
        """Contents by row id, each with its known paths (sorted), in one pass."""
        ids_json = json.dumps(sorted(set(ids)))
        paths: dict[int, list[str]] = {}
        for r in self._query(
            "SELECT DISTINCT content_id, path FROM observation"
            " WHERE content_id IN (SELECT value FROM json_each(?)) ORDER BY path", (ids_json,)):
            paths.setdefault(r[0], []).append(r[1])
        out = {}
        for r in self._query(
            "SELECT * FROM content WHERE id IN (SELECT value FROM json_each(?))", (ids_json,)):
            out[r["id"]] = Content(
                r["id"], r["iscc"], r["datahash"], r["size"], r["data_code"],
                r["instance_code"], r["kind"], tuple(paths.get(r["id"], ())))
        return out

    def members(self, datahash: str) -> dict[str, str | None]:
        """The recorded manifest of a directory content: member path -> datahash."""
        rows = self._query("SELECT m.path, m.datahash FROM member m JOIN content c"
                           " ON c.id = m.tree_id WHERE c.datahash = ?", (datahash,))
        return {r[0]: r[1] for r in rows}

    # -- stat cache (implements fingerprint.FingerprintCache) -------------------------------

    def cache_get(self, key: str) -> Fingerprint | None:
        rows = self._query("SELECT fingerprint FROM stat_cache WHERE key = ?", (key,))
        return _cached_fp(rows[0][0]) if rows else None

    def cache_get_many(self, keys: Sequence[str]) -> dict[str, Fingerprint]:
        """Fingerprints of those ``keys`` that are cached: one query per 10,000 keys."""
        out: dict[str, Fingerprint] = {}
        for i in range(0, len(keys), 10_000):
            for r in self._query(
                    "SELECT key, fingerprint FROM stat_cache"
                    " WHERE key IN (SELECT value FROM json_each(?))",
                    (json.dumps(list(keys[i:i + 10_000])),)):
                out[r[0]] = _cached_fp(r[1])
        return out

    def cache_put(self, entries: Sequence[tuple[str, Fingerprint]]) -> None:
        stamp = now()
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO stat_cache (key, fingerprint, stored) VALUES (?, ?, ?)",
                [(k, _cache_text(fp), stamp) for k, fp in entries])

    # -- runs and steps (writes) -------------------------------------------------------------

    def insert_run(self, run: Run) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO run (uid, workflow, workdir, started, ended, status, host, user,"
                " command, info) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.id, run.workflow, run.workdir, run.started, run.ended, run.status,
                 run.host, run.user, _secretless(run.command), _dumps(run.info)))
            self._chain_append(db, "run", [run.id])

    def update_run(self, run_id: str, *, status: str, ended: str | None,
                   info: dict[str, Any] | None = None) -> None:
        with self.transaction() as db:
            cur = db.execute("UPDATE run SET status = ?, ended = ? WHERE uid = ?",
                             (status, ended, run_id))
            if cur.rowcount == 0:
                raise NotFoundError(f"no run {run_id}")
            if info:
                old = json.loads(db.execute("SELECT info FROM run WHERE uid = ?",
                                            (run_id,)).fetchone()[0])
                db.execute("UPDATE run SET info = ? WHERE uid = ?",
                           (_dumps({**old, **info}), run_id))
            self._chain_append(db, "run", [run_id])

    def has_run(self, run_id: str) -> bool:
        """Whether a run with exactly this id is recorded."""
        return bool(self._query("SELECT 1 FROM run WHERE uid = ?", (run_id,)))

    def has_step(self, step_id: str) -> bool:
        """Whether a step with exactly this id is recorded."""
        return bool(self._query("SELECT 1 FROM step WHERE uid = ?", (step_id,)))

    def mark_stale_runs(self, *, workdir: str, host: str | None, keep: str | None = None,
                        engine: str | None = None, reason: str | None = None,
                        only: str | None = None) -> list[str]:
        """Mark runs left ``running`` in ``workdir`` on ``host`` whose process is gone.

        A run stays ``running`` when its process died before ``finish_run`` (kill -9, power
        loss, a crash). A run that recorded its process id (``info.pid``) is called dead only
        on the same host (``host`` is this machine) when no process has that id any more
        (``kill(pid, 0)``): two runs may share a working directory (Snakemake locks outputs,
        not the folder). A run without a pid is called dead as before, because the caller
        holds Snakemake's lock on the working directory. ``keep`` (the new run) is left
        alone; ``engine`` limits it to runs with that ``info.engine``; ``reason`` goes to
        ``info.settled``; ``only`` limits it to that one run. ``ended`` becomes the last
        step's end, or the start when no step was recorded. Returns the ids marked.
        """
        here = platform.node()
        with self.transaction() as db:
            rows = db.execute(
                "SELECT uid, json_extract(info, '$.pid') FROM run WHERE status = 'running'"
                " AND workdir = ? AND host IS ? AND uid IS NOT ?"
                " AND (? IS NULL OR json_extract(info, '$.engine') = ?)"
                " AND (? IS NULL OR uid = ?)"
                " ORDER BY id", (workdir, host, keep, engine, engine, only, only)).fetchall()
            dead = [r[0] for r in rows
                    if not (isinstance(r[1], int) and (host != here or pid_alive(r[1])))]
            db.executemany(
                "UPDATE run SET status = 'incomplete', ended = coalesce((SELECT max(s.ended)"
                " FROM step s WHERE s.run_id = run.id), started), info = CASE WHEN ? IS NULL"
                " THEN info ELSE json_set(info, '$.settled', ?) END WHERE uid = ?",
                [(reason, reason, uid) for uid in dead])
            self._chain_append(db, "run", dead)
        return dead

    def output_ends(self, paths: Sequence[str]) -> dict[str, list[str | None]]:
        """When the steps that wrote each of ``paths`` ended (any run, any status)."""
        out: dict[str, list[str | None]] = {}
        for r in self._query(
            "SELECT o.path, s.ended FROM observation o JOIN step s ON s.id = o.step_id"
            " WHERE o.role IN ('generated', 'partial', 'seen')"
            " AND o.path IN (SELECT value FROM json_each(?))", (json.dumps(list(paths)),)):
            out.setdefault(r[0], []).append(r[1])
        return out

    def insert_step(self, step: Step, inputs: Sequence[Artifact], outputs: Sequence[Artifact],
                    code: Fingerprint | None = None, output_role: str = "generated") -> None:
        """Record a step with its used and generated artifacts in one transaction."""
        stamp = step.ended or now()
        with self.transaction() as db:
            row = db.execute("SELECT id FROM run WHERE uid = ?", (step.run,)).fetchone()
            if row is None:
                raise NotFoundError(f"no run {step.run}")
            run_pk = row[0]
            code_id = self._content_id(db, code) if code is not None else None
            cur = db.execute(
                "INSERT INTO step (uid, run_id, name, process, command, code, code_content_id,"
                " params, environment, started, ended, exit_status, status, info)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (step.id, run_pk, step.name, step.process, _secretless(step.command), step.code,
                 code_id,
                 _dumps(step.params), _dumps(step.environment), step.started, step.ended,
                 step.exit_status, step.status, _dumps(step.info)))
            step_pk = cur.lastrowid
            rows = []
            for role, arts in (("used", inputs), (output_role, outputs)):
                for a in arts:
                    cid = self._content_id(db, a.fingerprint) if a.fingerprint else None
                    rows.append((run_pk, step_pk, cid, a.path, role, stamp, a.note))
            db.executemany(
                "INSERT INTO observation (run_id, step_id, content_id, path, role, seen_at, note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            self._chain_append(db, "step", [step.id])

    # -- runs and steps (reads) --------------------------------------------------------------

    def _run_from_row(self, r: sqlite3.Row) -> Run:
        return Run(r["uid"], r["workflow"], r["workdir"], r["started"], r["ended"], r["status"],
                   r["host"], r["user"], r["command"], json.loads(r["info"]), r["steps"])

    _RUN_SELECT = ("SELECT run.*, (SELECT count(*) FROM step WHERE step.run_id = run.id) AS steps"
                   " FROM run")

    def runs(self, limit: int | None = None) -> list[Run]:
        """Runs, newest first."""
        sql = self._RUN_SELECT + " ORDER BY started DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self._run_from_row(r) for r in self._query(sql)]

    def run(self, ref: str) -> Run:
        """A run by id or unique id prefix (as git takes commits)."""
        rows = self._query_ref(self._RUN_SELECT + f" WHERE {_PREFIX} ORDER BY uid != ? LIMIT 2",
                               ref, "run")
        return self._run_from_row(self._one(rows, "run", ref))

    def _query_ref(self, sql: str, ref: str, what: str) -> list[sqlite3.Row]:
        """Rows of an id-prefix query; a ref that is not UTF-8 (argv bytes) matches no id."""
        try:
            ref.encode("utf-8")
        except UnicodeEncodeError:
            raise NotFoundError(f"no {what} matches {printable(ref)!r}") from None
        return self._query(sql, (ref, ref, ref))

    @staticmethod
    def _one(rows: list[sqlite3.Row], what: str, ref: str) -> sqlite3.Row:
        if not rows or not ref:
            raise NotFoundError(f"no {what} matches {ref!r}")
        exact = [r for r in rows if r["uid"] == ref]
        if exact:  # a whole id wins over longer ids it is a prefix of (r1 vs r10)
            return exact[0]
        if len(rows) > 1:
            raise AmbiguousError(f"{ref!r} matches several {what}s; give more characters")
        return rows[0]

    def step(self, ref: str) -> Step:
        rows = self._query_ref(f"SELECT id, uid FROM step WHERE {_PREFIX} ORDER BY uid != ?"
                               " LIMIT 2", ref, "step")
        return self.steps_by_id([self._one(rows, "step", ref)[0]])[0]

    def steps_of_run(self, run_id: str) -> list[Step]:
        rows = self._query("SELECT step.id FROM step JOIN run ON run.id = step.run_id"
                           " WHERE run.uid = ? ORDER BY step.id", (run_id,))
        return self.steps_by_id([r[0] for r in rows])

    def steps_by_id(self, ids: Sequence[int]) -> list[Step]:
        """Steps with their edges, in the order of ``ids``."""
        ids_json = json.dumps(list(ids))
        edges: dict[int, list[tuple[str, Edge]]] = {}
        for r in self._query(
            "SELECT o.step_id, s.uid, o.role, o.path, c.datahash, o.note FROM observation o"
            " JOIN step s ON s.id = o.step_id LEFT JOIN content c ON c.id = o.content_id"
            " WHERE o.step_id IN (SELECT value FROM json_each(?)) ORDER BY o.id", (ids_json,)):
            note = r[5] if r[2] != "partial" else "; ".join(filter(None, (PARTIAL, r[5])))
            edges.setdefault(r[0], []).append(
                (r[2], Edge(r[1], "used" if r[2] == "used" else "generated", r[3], r[4], note)))
        by_id = {}
        for r in self._query(
            "SELECT s.*, run.uid AS run_uid, c.datahash AS code_datahash FROM step s"
            " JOIN run ON run.id = s.run_id LEFT JOIN content c ON c.id = s.code_content_id"
            " WHERE s.id IN (SELECT value FROM json_each(?))", (ids_json,)):
            es = edges.get(r["id"], [])
            info = json.loads(r["info"])
            partial = [e.path for role, e in es if role == "partial"]
            if partial:
                info = {**info, "partial_outputs": partial}
            by_id[r["id"]] = Step(
                r["uid"], r["run_uid"], r["name"], r["process"], r["command"], r["code"],
                r["code_datahash"], json.loads(r["params"]), json.loads(r["environment"]),
                r["started"], r["ended"], r["exit_status"], r["status"], info,
                tuple(e for role, e in es if role == "used" and not _is_code(e)),
                tuple(e for role, e in es if role == "generated"),
                tuple(e for role, e in es if role == "partial"),
                tuple(e for role, e in es if role == "used" and _is_code(e)))
        return [by_id[i] for i in ids if i in by_id]

    def recorded_at(self, path: str) -> list[tuple[Content, str, str | None]]:
        """Every content recorded at ``path``: (content, when, run id), newest first."""
        rows = self._query(
            "SELECT o.content_id, max(o.seen_at) AS t, r.uid FROM observation o"
            " LEFT JOIN run r ON r.id = o.run_id WHERE o.path = ? AND o.content_id IS NOT NULL"
            " GROUP BY o.content_id ORDER BY t DESC, max(o.id) DESC", (path,))
        found = self.contents_by_id(r[0] for r in rows)
        return [(found[r[0]], r[1], r[2]) for r in rows if r[0] in found]

    def contents_by_iscc(self, iscc: str) -> list[Content]:
        """Contents whose ISCC-SUM is ``iscc`` (narrow codes of distinct bytes may collide)."""
        ids = [r[0] for r in self._query("SELECT id FROM content WHERE iscc = ?", (iscc,))]
        return sorted(self.contents_by_id(ids).values(), key=lambda c: c.datahash)

    def observations(self, *, run_id: str | None = None, paths: Sequence[str] | None = None
                     ) -> list[tuple[str, str | None]]:
        """The latest recorded (path, datahash) per path, for a run, some paths, or all."""
        where, params = [], []
        if run_id is not None:
            where.append("o.run_id = (SELECT id FROM run WHERE uid = ?)")
            params.append(run_id)
        if paths is not None:
            where.append("o.path IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(paths)))
        where.append("o.content_id IS NOT NULL")
        sql = ("SELECT o.path, c.datahash FROM observation o JOIN content c ON c.id = o.content_id"
               " WHERE o.id IN (SELECT max(o.id) FROM observation o WHERE "
               + " AND ".join(where) + " GROUP BY o.path) ORDER BY o.path")
        return [(r[0], r[1]) for r in self._query(sql, params)]

    def stats(self) -> dict[str, int]:
        tables = ("content", "run", "step", "observation")
        return {t: self._query(f"SELECT count(*) FROM {t}")[0][0] for t in tables}
