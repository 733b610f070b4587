"""A psycopg connection that takes SQLite-dialect statements and gives sqlite3-like rows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from iscc_lineage.store.pg_dialect import INSERT_ID, pg_params, pg_sql

__all__ = ["Connection", "Cursor", "Row"]


class Row(tuple[Any, ...]):
    """A result row readable by position and by column name, like :class:`sqlite3.Row`."""

    names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row.names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """Column names in column order (as :meth:`sqlite3.Row.keys`)."""
        inverse = {i: n for n, i in self.names.items()}
        return [inverse.get(i, "") for i in range(len(self))]


def _row_factory(cursor: Any) -> Any:
    desc = cursor.description or []
    names: dict[str, int] = {}
    for i, d in enumerate(desc):
        names.setdefault(d.name, i)  # the first of equal names, as sqlite3.Row
    return lambda values: Row(values, names)


class Cursor:
    """What the SQLite-dialect callers use of a cursor: fetch*, rowcount, lastrowid."""

    def __init__(self, rows: list[Row], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> Row | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Row]:
        return self._rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows)


class Connection:
    """A psycopg connection that takes SQLite-dialect statements (``execute``, ``executemany``)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        text = pg_sql(sql)
        returning = INSERT_ID.match(sql) is not None and "RETURNING" not in sql
        if returning:
            text += " RETURNING id"
        with self.conn.cursor(row_factory=_row_factory) as cur:
            cur.execute(text, pg_params(sql, params) or None)
            rows = cur.fetchall() if cur.description is not None else []
            lastrowid = int(rows[0][0]) if returning and rows else None
            return Cursor([] if returning else rows, cur.rowcount, lastrowid)

    def executemany(self, sql: str, seq: Sequence[Sequence[Any]]) -> None:
        if not seq:
            return
        with self.conn.cursor() as cur:
            cur.executemany(pg_sql(sql), [pg_params(sql, p) for p in seq])
