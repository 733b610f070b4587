"""The store's contents (fingerprints, directory manifests) and its stat cache: a Store mixin."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

from iscc_lineage.codes.distance import data64
from iscc_lineage.model import Content, Fingerprint, Member
from iscc_lineage.times import now

__all__ = ["ContentQueries"]


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


class ContentQueries:
    """Contents and the stat cache; mixed into the store (which provides the members below)."""

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError  # pragma: no cover - provided by Store

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # pragma: no cover - provided by Store

    # -- contents ----------------------------------------------------------------------------

    def _content_id(self, db: sqlite3.Connection, fp: Fingerprint) -> int:
        row = db.execute("SELECT id FROM content WHERE datahash = ?", (fp.datahash,)).fetchone()
        if row is not None:
            return int(row[0])
        cur = db.execute(
            "INSERT INTO content (datahash, iscc, size, data_code, instance_code, kind, data64,"
            " first_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                fp.datahash,
                fp.iscc,
                fp.size,
                fp.data_code,
                fp.instance_code,
                fp.kind,
                data64(fp.data_code),
                now(),
            ),
        )
        cid = int(cur.lastrowid or 0)
        if fp.members:
            self._insert_members(db, cid, fp)
        return cid

    @staticmethod
    def _member_ids(db: Any, fp: Fingerprint) -> dict[str, int]:
        """Row ids of a directory's member contents that the store already holds, in one query."""
        hashes = sorted({m.datahash for m in fp.members if m.datahash is not None})
        if not hashes:
            return {}
        rows = db.execute(
            "SELECT datahash, id FROM content WHERE datahash IN (SELECT value FROM json_each(?))",
            (json.dumps(hashes),),
        ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def _insert_members(self, db: sqlite3.Connection, cid: int, fp: Fingerprint) -> None:
        """A directory's manifest rows: one lookup for all member contents, one batch insert
        (10^5 chunk files of an OME-Zarr in one statement each, not 2 x 10^5)."""
        known = self._member_ids(db, fp)
        db.executemany(
            "INSERT INTO member (tree_id, path, content_id, datahash, size, link)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    cid,
                    m.path,
                    known.get(m.datahash) if m.datahash else None,
                    m.datahash,
                    m.size,
                    m.link,
                )
                for m in fp.members
            ],
        )

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
            rows = self._query(
                cols + " WHERE datahash IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(want)),),
            )
        return {r[2]: Content(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows}

    def _ids_for(self, datahashes: Iterable[str]) -> list[int]:
        rows = self._query(
            "SELECT id FROM content WHERE datahash IN (SELECT value FROM json_each(?))",
            (json.dumps(list(datahashes)),),
        )
        return [r[0] for r in rows]

    def contents_by_id(self, ids: Iterable[int]) -> dict[int, Content]:
        """Contents by row id, each with its known paths (sorted), in one pass."""
        ids_json = json.dumps(sorted(set(ids)))
        paths: dict[int, list[str]] = {}
        for r in self._query(
            "SELECT DISTINCT content_id, path FROM observation"
            " WHERE content_id IN (SELECT value FROM json_each(?)) ORDER BY path",
            (ids_json,),
        ):
            paths.setdefault(r[0], []).append(r[1])
        out = {}
        for r in self._query(
            "SELECT * FROM content WHERE id IN (SELECT value FROM json_each(?))", (ids_json,)
        ):
            out[r["id"]] = Content(
                r["id"],
                r["iscc"],
                r["datahash"],
                r["size"],
                r["data_code"],
                r["instance_code"],
                r["kind"],
                tuple(paths.get(r["id"], ())),
            )
        return out

    def members(self, datahash: str) -> dict[str, str | None]:
        """The recorded manifest of a directory content: member path -> datahash."""
        rows = self._query(
            "SELECT m.path, m.datahash FROM member m JOIN content c"
            " ON c.id = m.tree_id WHERE c.datahash = ?",
            (datahash,),
        )
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
                (json.dumps(list(keys[i : i + 10_000])),),
            ):
                out[r[0]] = _cached_fp(r[1])
        return out

    def cache_put(self, entries: Sequence[tuple[str, Fingerprint]]) -> None:
        stamp = now()
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO stat_cache (key, fingerprint, stored) VALUES (?, ?, ?)",
                [(k, _cache_text(fp), stamp) for k, fp in entries],
            )

    def recorded_at(self, path: str) -> list[tuple[Content, str, str | None]]:
        """Every content recorded at ``path``: (content, when, run id), newest first."""
        rows, seen = [], set()
        for r in self._query(  # each content's newest observation (portable: no bare column)
            "SELECT o.content_id, o.seen_at, r.uid FROM observation o"
            " LEFT JOIN run r ON r.id = o.run_id WHERE o.path = ? AND o.content_id IS NOT NULL"
            " ORDER BY o.seen_at DESC, o.id DESC",
            (path,),
        ):
            if r[0] not in seen:
                seen.add(r[0])
                rows.append(r)
        found = self.contents_by_id(r[0] for r in rows)
        return [(found[r[0]], r[1], r[2]) for r in rows if r[0] in found]

    def contents_by_iscc(self, iscc: str) -> list[Content]:
        """Contents whose ISCC-SUM is ``iscc`` (narrow codes of distinct bytes may collide)."""
        ids = [r[0] for r in self._query("SELECT id FROM content WHERE iscc = ?", (iscc,))]
        return sorted(self.contents_by_id(ids).values(), key=lambda c: c.datahash)
