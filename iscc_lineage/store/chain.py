"""The store's hash chain over runs and steps, and the signed notes it keeps (SQL only).

A mixin of the SQLite store. ``_chain_append`` runs inside the caller's write transaction
(``BEGIN IMMEDIATE`` serialises writers, so concurrent recorders still build one chain with one
head). Records are hashed as read back from the store, by the same code that checks them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from iscc_lineage.signing.chain import (
    GENESIS,
    ChainEntry,
    ChainFinding,
    check_chain,
    content_hash,
    link,
)
from iscc_lineage.signing.service import StoredNote
from iscc_lineage.times import now

__all__ = ["ChainedRecords"]

_RUN_COLS = "uid, workflow, workdir, started, ended, status, host, user, command, info"
_STEP_SQL = (
    "SELECT s.id, s.uid, run.uid, s.name, s.process, s.command, s.code, c.datahash, s.params,"
    " s.environment, s.started, s.ended, s.exit_status, s.status, s.info FROM step s"
    " JOIN run ON run.id = s.run_id LEFT JOIN content c ON c.id = s.code_content_id"
)
_EDGE_SQL = (
    "SELECT o.step_id, o.role, o.path, c.datahash, o.note, o.seen_at FROM observation o"
    " LEFT JOIN content c ON c.id = o.content_id WHERE o.step_id IS NOT NULL"
)


def _run_record(r: Sequence[Any]) -> dict[str, Any]:
    keys = [k.strip() for k in _RUN_COLS.split(",")]
    rec = dict(zip(keys, r, strict=True))
    rec["info"] = json.loads(rec["info"])
    return rec


def _step_record(r: Sequence[Any], edges: list[list[Any]]) -> dict[str, Any]:
    return {
        "uid": r[1],
        "run": r[2],
        "name": r[3],
        "process": r[4],
        "command": r[5],
        "code": r[6],
        "code_datahash": r[7],
        "params": json.loads(r[8]),
        "environment": json.loads(r[9]),
        "started": r[10],
        "ended": r[11],
        "exit_status": r[12],
        "status": r[13],
        "info": json.loads(r[14]),
        "edges": edges,
    }


class ChainedRecords:
    """Chain and notes; mixed into the store (which provides the members below)."""

    location: str

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError  # pragma: no cover - provided by Store

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # pragma: no cover - provided by Store

    # -- write path (inside the caller's transaction) -------------------------------------

    @staticmethod
    def _record_now(db: sqlite3.Connection, kind: str, uid: str) -> dict[str, Any] | None:
        if kind == "run":
            r = db.execute(f"SELECT {_RUN_COLS} FROM run WHERE uid = ?", (uid,)).fetchone()
            return _run_record(r) if r else None
        r = db.execute(_STEP_SQL + " WHERE s.uid = ?", (uid,)).fetchone()
        if r is None:
            return None
        edges = [
            list(e[1:]) for e in db.execute(_EDGE_SQL + " AND o.step_id = ? ORDER BY o.id", (r[0],))
        ]
        return _step_record(r, edges)

    def _chain_append(self, db: sqlite3.Connection, kind: str, uids: Iterable[str]) -> None:
        """Append the records' hashes to the chain (call inside the write transaction)."""
        row = db.execute("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row[0], row[1]) if row else (0, GENESIS)
        stamp = now()
        for uid in uids:
            rec = self._record_now(db, kind, uid)
            if rec is None:
                continue
            c = content_hash(rec)
            h = link(prev, kind, uid, c)
            seq += 1
            db.execute(
                "INSERT INTO chain (seq, kind, uid, content, prev, hash, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (seq, kind, uid, c, prev, h, stamp),
            )
            prev = h

    def _seal_existing(self, db: sqlite3.Connection) -> None:
        """Chain the runs and steps a store held before it had a chain (on upgrade)."""
        self._chain_append(db, "run", [r[0] for r in db.execute("SELECT uid FROM run ORDER BY id")])
        self._chain_append(
            db, "step", [r[0] for r in db.execute("SELECT uid FROM step ORDER BY id")]
        )

    # -- reads ----------------------------------------------------------------------------

    def chain_head(self) -> tuple[int, str] | None:
        """``(seq, hash)`` of the newest chain entry: the store's one head."""
        rows = self._query("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1")
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def chain_hash_at(self, seq: int) -> str | None:
        rows = self._query("SELECT hash FROM chain WHERE seq = ?", (seq,))
        return str(rows[0][0]) if rows else None

    def chain_entries(self) -> list[ChainEntry]:
        return [
            ChainEntry(*r)
            for r in self._query(
                "SELECT seq, kind, uid, content, prev, hash, at FROM chain ORDER BY seq"
            )
        ]

    def record_hashes(self, kind: str, uids: Sequence[str]) -> dict[str, str]:
        """uid -> the content hash of the run or step as it is now (unknown uids left out)."""
        ids = json.dumps(list(uids))
        if kind == "run":
            return {
                r[0]: content_hash(_run_record(r))
                for r in self._query(
                    f"SELECT {_RUN_COLS} FROM run WHERE uid IN (SELECT value FROM json_each(?))",
                    (ids,),
                )
            }
        return self._step_hashes(" WHERE s.uid IN (SELECT value FROM json_each(?))", (ids,))

    def _step_hashes(self, where: str = "", params: Sequence[Any] = ()) -> dict[str, str]:
        steps = self._query(_STEP_SQL + where, params)
        edges: dict[int, list[list[Any]]] = {}
        sql = _EDGE_SQL
        if where:
            sql += " AND o.step_id IN (SELECT s.id FROM step s" + where + ")"
        for e in self._query(sql + " ORDER BY o.id", params):
            edges.setdefault(e[0], []).append(list(e[1:]))
        return {r[1]: content_hash(_step_record(r, edges.get(r[0], []))) for r in steps}

    def check_chain(self) -> tuple[list[ChainFinding], int]:
        """Recompute every record's hash and the links; findings (first first), entry count."""
        entries = self.chain_entries()
        current: dict[tuple[str, str], str] = {}
        for r in self._query(f"SELECT {_RUN_COLS} FROM run"):
            current[("run", r[0])] = content_hash(_run_record(r))
        for uid, h in self._step_hashes().items():
            current[("step", uid)] = h
        heads = []
        for sn in self.stored_notes():
            chain = sn.document.get("chain")
            if isinstance(chain, dict) and "seq" in chain and "head" in chain:
                what = f"the note of {sn.kind} {sn.subject[:16]}"
                heads.append((int(chain["seq"]), str(chain["head"]), what))
        return check_chain(entries, current, heads), len(entries)

    # -- notes ----------------------------------------------------------------------------

    def insert_note(self, note: StoredNote) -> None:
        """Keep a signed note and its lineage document beside the content (or the run)."""
        with self.transaction() as db:
            cid = rid = None
            if note.kind == "content":
                row = db.execute(
                    "SELECT id FROM content WHERE datahash = ?", (note.subject,)
                ).fetchone()
                cid = row[0] if row else None
            else:
                row = db.execute("SELECT id FROM run WHERE uid = ?", (note.subject,)).fetchone()
                rid = row[0] if row else None
            db.execute(
                "INSERT INTO note (kind, subject, content_id, run_id, pubkey, timestamp, note,"
                " lineage, iscc_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    note.kind,
                    note.subject,
                    cid,
                    rid,
                    note.note["signature"]["pubkey"],
                    note.note["timestamp"],
                    json.dumps(note.note, ensure_ascii=False),
                    note.lineage,
                    note.iscc_id,
                ),
            )

    def stored_notes(
        self, *, kind: str | None = None, subjects: Iterable[str] | None = None
    ) -> list[StoredNote]:
        """Notes in the order they were signed (optionally of some contents or runs)."""
        sql = "SELECT kind, subject, note, lineage, iscc_id FROM note"
        where, params = [], []
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if subjects is not None:
            where.append("subject IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(subjects)))
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [
            StoredNote(r[0], r[1], json.loads(r[2]), bytes(r[3]), r[4])
            for r in self._query(sql + " ORDER BY id", params)
        ]
