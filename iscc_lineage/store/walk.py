"""The store's graph walks: recursive SQL over the observation edges, upstream or downstream.

A mixin of :class:`~iscc_lineage.store.Store` (it needs only ``_query``); kept apart because
these queries carry the lineage semantics (pass-through copies, empty contents, directory
members, content-less locations) and their index use is what keeps trace in milliseconds.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["GraphWalks"]


class GraphWalks:
    """Step walks and end detection; the host class provides ``_query``."""

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError  # pragma: no cover - provided by Store

    def walk(self, datahash: str, direction: str, depth: int | None = None) -> list[int]:
        """Row ids of the steps upstream (``trace``) or downstream (``impact``) of a content.

        One recursive query over the ``observation`` indexes; ``UNION`` makes it terminate on
        cycles (a step that regenerates its own input). It never passes through an empty
        content: every empty log or marker file shares that identity, so following it would
        join unrelated lineages (an empty start content gives no steps).
        """
        # A failed step's outputs are 'partial': still what it wrote, so walks cross them.
        made = "('generated', 'partial')"
        near, far = (made, "('used')") if direction == "trace" else ("('used')", made)
        limit = "" if depth is None else f"AND w.depth < {int(depth)}"
        step_depth = "w.depth + 1" if depth is not None else "1"
        # A step that used and generated the same content (a copy, a sort that changed
        # nothing) is part of the lineage: it ran, though the content stayed the same.
        # A file inside a directory content (a checkpoint's or directory() output read one
        # file at a time) links to the directory's generator or users (second term).
        # A location without content (a temp file gone before hashing, a pipe) links the
        # steps of one run by path (third term): the DAG made it both ends' file. The unary
        # + keeps SQLite on the path index instead of scanning the whole run's observations.
        # Contents holding one image (equal pixel codes: a CZI and its OME-TIFF and OME-Zarr
        # copies) are one image in several representations: the walk crosses from one to the
        # steps of the others (the twin terms), except through a step that converted one
        # representation into another (it used a representation of the image it made): that
        # step is the image's own history, not the other representation's. A uniform image
        # (a blank frame, an empty mask) joins nothing, as an empty content does not.
        twin_through = (
            "NOT EXISTS (SELECT 1 FROM observation x"
            " JOIN image xa ON xa.content_id = x.content_id"
            " JOIN image xb ON xb.pixel_id = xa.pixel_id AND xb.content_id = {o}.content_id"
            f" WHERE x.step_id = {{o}}.step_id AND x.role IN {far})"
        )
        sql = f"""
        WITH RECURSIVE w(step_id, depth) AS (
          SELECT o.step_id, 1 FROM content c JOIN observation o ON o.content_id = c.id
           WHERE c.datahash = ? AND c.size > 0 AND o.role IN {near} AND o.step_id IS NOT NULL
          UNION
          {self._member_anchor(direction)}
          UNION
          SELECT o.step_id, 1 FROM content c
            JOIN image xi ON xi.content_id = c.id AND xi.uniform = 0
            JOIN image yi ON yi.pixel_id = xi.pixel_id AND yi.content_id != c.id
            JOIN observation o ON o.content_id = yi.content_id AND o.role IN {near}
           WHERE c.datahash = ? AND o.step_id IS NOT NULL AND {twin_through.format(o="o")}
          UNION
          SELECT n.step_id, {step_depth} FROM w
            JOIN observation f ON f.step_id = w.step_id AND f.role IN {far}
            JOIN content fc ON fc.id = f.content_id AND fc.size > 0
            JOIN observation n ON n.content_id = f.content_id AND n.role IN {near}
           WHERE n.step_id IS NOT NULL {limit}
          UNION
          {self._member_hop(direction, step_depth, limit)}
          UNION
          SELECT n.step_id, {step_depth} FROM w
            JOIN observation f ON f.step_id = w.step_id AND f.role IN {far}
            JOIN image xi ON xi.content_id = f.content_id AND xi.uniform = 0
            JOIN image yi ON yi.pixel_id = xi.pixel_id AND yi.content_id != xi.content_id
            JOIN observation n ON n.content_id = yi.content_id AND n.role IN {near}
           WHERE n.step_id IS NOT NULL AND {twin_through.format(o="n")} {limit}
          UNION
          SELECT n.step_id, {step_depth} FROM w
            JOIN observation f ON f.step_id = w.step_id AND f.role IN {far}
             AND f.content_id IS NULL
            JOIN observation n ON n.path = f.path AND +n.run_id = f.run_id
             AND n.role IN {near} AND n.content_id IS NULL
           WHERE n.step_id IS NOT NULL AND n.step_id != f.step_id {limit}
        )
        SELECT step_id, min(depth) FROM w GROUP BY step_id ORDER BY min(depth), step_id
        """
        return [r[0] for r in self._query(sql, (datahash, datahash, datahash))]

    @staticmethod
    def _member_anchor(direction: str) -> str:
        """Start steps through directory membership: the generator of a directory holding
        the target (trace), or the users of a directory's member files (impact)."""
        if direction == "trace":
            return (
                "SELECT o.step_id, 1 FROM member m JOIN observation o"
                " ON o.content_id = m.tree_id AND o.role = 'generated'"
                " WHERE m.datahash = ? AND o.step_id IS NOT NULL"
            )
        return (
            "SELECT o.step_id, 1 FROM content t JOIN member m ON m.tree_id = t.id"
            " JOIN content mc ON mc.datahash = m.datahash AND mc.size > 0"
            " JOIN observation o ON o.content_id = mc.id AND o.role = 'used'"
            " WHERE t.datahash = ? AND o.step_id IS NOT NULL"
        )

    @staticmethod
    def _member_hop(direction: str, step_depth: str, limit: str) -> str:
        """The recursive term that crosses from a member file to its directory or back."""
        if direction == "trace":  # used a file inside a directory -> the directory's maker
            return f"""SELECT n.step_id, {step_depth} FROM w
            JOIN observation f ON f.step_id = w.step_id AND f.role = 'used'
            JOIN content fc ON fc.id = f.content_id AND fc.size > 0
            JOIN member m ON m.datahash = fc.datahash
            JOIN observation n ON n.content_id = m.tree_id AND n.role = 'generated'
           WHERE n.step_id IS NOT NULL {limit}"""
        # CROSS JOIN fixes this order: left free, SQLite builds an automatic index over all
        # 'used' observations on every recursion step (benchmarks/: impact at 10^6 files
        # went from ~2 ms to seconds per query).
        return f"""SELECT n.step_id, {step_depth} FROM w
            CROSS JOIN observation f ON f.step_id = w.step_id AND f.role = 'generated'
            CROSS JOIN member m ON m.tree_id = f.content_id
            CROSS JOIN content mc ON mc.datahash = m.datahash AND mc.size > 0
            CROSS JOIN observation n ON n.content_id = mc.id AND n.role = 'used'
           WHERE n.step_id IS NOT NULL {limit}"""

    def containers(self, datahashes: Iterable[str]) -> dict[str, str]:
        """Member file datahash -> directory datahash, both among ``datahashes``."""
        hashes = json.dumps(sorted(set(datahashes)))
        rows = self._query(
            "SELECT m.datahash, t.datahash FROM member m JOIN content t ON t.id = m.tree_id"
            " WHERE m.datahash IN (SELECT value FROM json_each(?))"
            " AND t.datahash IN (SELECT value FROM json_each(?))",
            (hashes, hashes),
        )
        return {r[0]: r[1] for r in rows}

    def containing(self, datahash: str) -> list[tuple[str, str]]:
        """Directory contents that hold a file with this content: (directory datahash, the
        file's path inside it), for a file that is not itself a recorded content."""
        rows = self._query(
            "SELECT t.datahash, m.path FROM member m JOIN content t ON t.id = m.tree_id"
            " WHERE m.datahash = ? ORDER BY t.datahash, m.path",
            (datahash,),
        )
        return [(r[0], r[1]) for r in rows]

    def never(self, datahashes: Iterable[str], role: str) -> set[str]:
        """Those of ``datahashes`` that no recorded step ever had in ``role``.

        A step that had the content in both roles (a copy) does not count, and an empty
        content always counts: :meth:`walk` never passes through it, so it is an end. A file
        inside a generated directory was generated (and a directory whose files were used,
        used).
        """
        member_link = (
            "SELECT 1 FROM member m JOIN observation g ON g.content_id = m.tree_id"
            " AND g.role = 'generated' AND g.step_id IS NOT NULL WHERE m.datahash = c.datahash"
            if role == "generated"
            else "SELECT 1 FROM member m JOIN content mc ON mc.datahash = m.datahash"
            " JOIN observation u ON u.content_id = mc.id AND u.role = 'used'"
            " AND u.step_id IS NOT NULL WHERE m.tree_id = c.id"
        )
        rows = self._query(
            "SELECT c.datahash FROM content c WHERE c.datahash IN (SELECT value FROM json_each(?))"
            " AND (c.size = 0 OR (NOT EXISTS (SELECT 1 FROM observation o"
            " WHERE o.content_id = c.id"
            " AND o.role IN (?, ?) AND o.step_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM"
            " observation x WHERE x.step_id = o.step_id AND x.content_id = c.id AND x.role = ?))"
            f" AND NOT EXISTS ({member_link})))",
            (
                json.dumps(list(datahashes)),
                role,
                "partial" if role == "generated" else role,
                "used" if role == "generated" else "generated",
            ),
        )
        return {r[0] for r in rows}
