"""The store's further codes per content and similarity search over them.

A mixin of :class:`~iscc_lineage.store.Store`: an ISCC Image-Code (or, later, a pixel-level
code or an accession) attached to a content, and nearest-neighbour lookups by Image-Code or by
the 64-bit Data-Code prefix. These scan one column in Python: fine to ~10^6 contents.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from iscc_lineage.codes.distance import data64, prefix64
from iscc_lineage.model import Content

__all__ = ["CodeQueries"]


class CodeQueries:
    """Content codes and nearest-code lookups; the host class provides the primitives."""

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError  # pragma: no cover - provided by Store

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # pragma: no cover - provided by Store

    def contents_by_id(self, ids: Iterable[int]) -> dict[int, Content]:
        raise NotImplementedError  # pragma: no cover - provided by Store

    def add_codes(self, rows: Sequence[tuple[str, str, str | bytes]]) -> None:
        """Attach (datahash, scheme, value) codes in one transaction; unknown contents skipped.
        Text values go to content_code, binary ones (figure codes) to content_blob."""
        text = [(s, v, h) for h, s, v in rows if isinstance(v, str)]
        blobs = [(s, bytes(v), h) for h, s, v in rows if not isinstance(v, str)]
        with self.transaction() as db:
            if text:
                db.executemany(
                    "INSERT OR REPLACE INTO content_code (content_id, scheme, value)"
                    " SELECT id, ?, ? FROM content WHERE datahash = ?",
                    text,
                )
            if blobs:
                db.executemany(
                    "INSERT OR REPLACE INTO content_blob (content_id, scheme, data)"
                    " SELECT id, ?, ? FROM content WHERE datahash = ?",
                    blobs,
                )

    def has_code(self, datahashes: Iterable[str], scheme: str) -> set[str]:
        """Those of ``datahashes`` that already carry a code of ``scheme`` (text or binary)."""
        rows = self._query(
            "SELECT c.datahash FROM content c WHERE c.datahash IN (SELECT value FROM json_each(?))"
            " AND (EXISTS (SELECT 1 FROM content_code k WHERE k.content_id = c.id"
            "  AND k.scheme = ?) OR EXISTS (SELECT 1 FROM content_blob b"
            "  WHERE b.content_id = c.id AND b.scheme = ?))",
            (json.dumps(list(datahashes)), scheme, scheme),
        )
        return {r[0] for r in rows}

    def blob_values(self, scheme: str) -> list[tuple[int, bytes]]:
        """(content id, bytes) of every binary code of ``scheme``, in content id order."""
        return [
            (r[0], bytes(r[1]))
            for r in self._query(
                "SELECT content_id, data FROM content_blob WHERE scheme = ? ORDER BY content_id",
                (scheme,),
            )
        ]

    def blob_values_of(self, ids: Iterable[int], scheme: str) -> dict[int, bytes]:
        """The binary ``scheme`` code of each of the contents ``ids`` that has one."""
        return {
            r[0]: bytes(r[1])
            for r in self._query(
                "SELECT content_id, data FROM content_blob WHERE scheme = ?"
                " AND content_id IN (SELECT value FROM json_each(?))",
                (scheme, json.dumps(sorted(set(ids)))),
            )
        }

    def blob_rivals(self, ids: Iterable[int], scheme: str, limit: int) -> list[int]:
        """Other contents carrying a binary ``scheme`` code that a step of the same name made
        (the rule that made one of ``ids``, in any run) or that were recorded at one of their
        paths: the near-identical siblings a figure search must compare before it names one
        (time-lapse frames, parameter sweeps, re-runs on other seeds). The newest ``limit``."""
        listed = json.dumps(sorted(set(ids)))
        rows = self._query(
            "SELECT b.content_id FROM content_blob b WHERE b.scheme = ? AND b.content_id IN ("
            " SELECT o2.content_id FROM observation o1"
            "  JOIN step s1 ON s1.id = o1.step_id"
            "  JOIN step s2 ON s2.name = s1.name"
            "  JOIN observation o2 ON o2.step_id = s2.id AND o2.role = 'generated'"
            "  WHERE o1.role = 'generated' AND o1.content_id IN (SELECT value FROM json_each(?))"
            " UNION"
            " SELECT o2.content_id FROM observation o1 JOIN observation o2 ON o2.path = o1.path"
            "  WHERE o1.content_id IN (SELECT value FROM json_each(?)))"
            " ORDER BY b.content_id DESC LIMIT ?",
            (scheme, listed, listed, limit + len(json.loads(listed))),
        )
        own = set(ids)
        return [int(r[0]) for r in rows if int(r[0]) not in own][:limit]

    def blob_generation(self, scheme: str) -> tuple[int, int, int]:
        """(rows, largest content id, total bytes) of ``scheme``'s binary codes: changes when
        a picture is coded (codes are written once per content), so a cache keyed by it is
        invalidated by every capture or reindex."""
        r = self._query(
            "SELECT count(*), coalesce(max(content_id), 0), coalesce(sum(length(data)), 0)"
            " FROM content_blob WHERE scheme = ?",
            (scheme,),
        )[0]
        return int(r[0]), int(r[1]), int(r[2])

    def newest_ids(self) -> str:
        """``content:observation`` newest ids: changes whenever something is recorded."""
        r = self._query(
            "SELECT (SELECT coalesce(max(id), 0) FROM content),"
            " (SELECT coalesce(max(id), 0) FROM observation)"
        )[0]
        return f"{int(r[0])}:{int(r[1])}"

    def _move_figure_codes(self, db: Any) -> None:
        """Schema 4: the figure codes stored before as base64 text in content_code move to
        content_blob as the same bytes (index, codes, detail); nothing else is touched."""
        import base64

        from iscc_lineage.codes.pictures import CODES_SCHEME, DETAIL_SCHEME, INDEX_SCHEME

        schemes = (INDEX_SCHEME, CODES_SCHEME, DETAIL_SCHEME)
        rows = db.execute(
            "SELECT content_id, scheme, value FROM content_code WHERE scheme IN (?, ?, ?)",
            schemes,
        ).fetchall()
        moved = [(r[0], r[1], base64.b64decode(r[2])) for r in rows]
        if moved:
            db.executemany(
                "INSERT INTO content_blob (content_id, scheme, data) VALUES (?, ?, ?)", moved
            )
            db.execute("DELETE FROM content_code WHERE scheme IN (?, ?, ?)", schemes)

    def code_values(self, scheme: str) -> list[tuple[int, str]]:
        """(content id, value) of every code of ``scheme``, in content id order."""
        return [
            (r[0], r[1])
            for r in self._query(
                "SELECT content_id, value FROM content_code WHERE scheme = ? ORDER BY content_id",
                (scheme,),
            )
        ]

    def code_values_of(self, ids: Iterable[int], scheme: str) -> dict[int, str]:
        """The ``scheme`` code of each of the contents ``ids`` that has one."""
        return {
            r[0]: r[1]
            for r in self._query(
                "SELECT content_id, value FROM content_code WHERE scheme = ?"
                " AND content_id IN (SELECT value FROM json_each(?))",
                (scheme, json.dumps(sorted(set(ids)))),
            )
        }

    def contents_lacking(self, schemes: Sequence[str], suffixes: Iterable[str]) -> list[int]:
        """Ids of file contents seen at a path ending in one of ``suffixes`` (lower case, with
        the dot) that carry none of the codes ``schemes`` (pictures not yet coded)."""
        listed = json.dumps(list(schemes))
        ends = [f"%{s}" for s in sorted(suffixes)]
        if not ends:
            return []
        # one LIKE per suffix: the same SQL on SQLite and PostgreSQL (no json_each table)
        like = " OR ".join(["lower(o.path) LIKE ?"] * len(ends))
        return [
            r[0]
            for r in self._query(
                "SELECT id FROM content c WHERE kind = 'file' AND id NOT IN"
                " (SELECT content_id FROM content_code"
                "  WHERE scheme IN (SELECT value FROM json_each(?)))"
                " AND id NOT IN (SELECT content_id FROM content_blob"
                "  WHERE scheme IN (SELECT value FROM json_each(?)))"
                " AND EXISTS (SELECT 1 FROM observation o"
                f"  WHERE o.content_id = c.id AND ({like})) ORDER BY id",
                (listed, listed, *ends),
            )
        ]

    def codes_of(self, datahashes: Iterable[str], scheme: str) -> dict[str, str]:
        """datahash -> its code of ``scheme``, for those of ``datahashes`` that carry one."""
        rows = self._query(
            "SELECT c.datahash, k.value FROM content_code k JOIN content c ON c.id = k.content_id"
            " WHERE k.scheme = ? AND c.datahash IN (SELECT value FROM json_each(?))",
            (scheme, json.dumps(list(datahashes))),
        )
        return {r[0]: r[1] for r in rows}

    def nearest_by_code(self, scheme: str, code: str, limit: int = 10) -> list[tuple[Content, int]]:
        """Contents whose ``scheme`` code is nearest to ``code`` (64-bit prefix Hamming)."""
        probe = prefix64(code)
        scored = []
        for r in self._query(
            "SELECT content_id, value FROM content_code WHERE scheme = ?", (scheme,)
        ):
            other = prefix64(r[1])
            scored.append(((probe ^ other).bit_count(), r[0]))
        scored.sort()
        best = scored[:limit]
        found = self.contents_by_id(i for _, i in best)
        return [(found[i], d) for d, i in best if i in found]

    def nearest_by_data_code(self, data_code: str, limit: int = 10) -> list[tuple[Content, int]]:
        """Contents nearest by 64-bit Data-Code prefix (a scan of one integer column)."""
        probe = data64(data_code) & 0xFFFFFFFFFFFFFFFF
        scored = sorted(
            (((r[1] & 0xFFFFFFFFFFFFFFFF) ^ probe).bit_count(), r[0])
            for r in self._query("SELECT id, data64 FROM content WHERE kind = 'file'")
        )[:limit]
        found = self.contents_by_id(i for _, i in scored)
        return [(found[i], d) for d, i in scored if i in found]
