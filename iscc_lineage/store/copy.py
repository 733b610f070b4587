"""Copy one lineage store into another (SQLite <-> PostgreSQL): merge project stores into a lab's.

Identity decides what is already there: a content by its datahash, a run and a step by their
ids. Copying again adds only what is missing (idempotent), and an interrupted copy resumes
where it stopped: contents go in batches and each run in one transaction, so the target never
holds half a run. A run that has grown since (it was still running) gains its new steps and
its new status. What the copy writes is appended to the target's hash chain, as a recording
would be. The stat cache is not copied (its keys, device, inode and times, only mean something
on the machine that took them), nor are signed notes (they stay in the store they were made
in).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from iscc_lineage.store.sqlite import Store

__all__ = ["CopyResult", "copy_store"]

BATCH = 5_000  #: contents per transaction
OnItem = Callable[[int], None]


@dataclass
class CopyResult:
    """What a copy added; ``*_present`` counts what the target already had."""

    contents: int = 0
    contents_present: int = 0
    runs: int = 0
    runs_present: int = 0
    runs_updated: int = 0
    steps: int = 0
    observations: int = 0
    codes: int = 0
    problems: list[str] = field(default_factory=list)


def count_items(src: Store) -> int:
    """Progress units of a copy of ``src``: its contents plus its runs."""
    stats = src.stats()
    return stats["content"] + stats["run"]


def copy_store(src: Store, dst: Store, *, on_item: OnItem | None = None) -> CopyResult:
    """Copy everything of ``src`` that ``dst`` lacks; see the module docstring.

    :param on_item: called with the number of contents or runs just handled, for progress.
    :raises StoreError: either store failed (what was committed before stays).
    """
    result = CopyResult()
    ids = _copy_contents(src, dst, result, on_item)
    for row in src._query("SELECT * FROM run ORDER BY id"):
        _copy_run(src, dst, dict(zip(row.keys(), row, strict=True)), ids, result)
        if on_item is not None:
            on_item(1)
    _copy_loose_observations(src, dst, ids, result)
    codes = [
        (r[0], r[1], r[2])
        for r in src._query(
            "SELECT c.datahash, k.scheme, k.value FROM content_code k"
            " JOIN content c ON c.id = k.content_id ORDER BY c.id, k.scheme"
        )
    ]
    have = {
        (r[0], r[1], r[2])
        for r in dst._query(
            "SELECT c.datahash, k.scheme, k.value FROM content_code k"
            " JOIN content c ON c.id = k.content_id"
        )
    }
    new: list[tuple[str, str, str | bytes]] = [c for c in codes if c not in have]
    have_blobs = {
        (r[0], r[1])
        for r in dst._query(
            "SELECT c.datahash, b.scheme FROM content_blob b JOIN content c ON c.id = b.content_id"
        )
    }
    new += [
        (r[0], r[1], bytes(r[2]))
        for r in src._query(
            "SELECT c.datahash, b.scheme, b.data FROM content_blob b"
            " JOIN content c ON c.id = b.content_id ORDER BY c.id, b.scheme"
        )
        if (r[0], r[1]) not in have_blobs
    ]
    if new:
        dst.add_codes(new)
    result.codes = len(new)
    analyze = getattr(dst, "analyze", None)  # a server's planner statistics, after the bulk
    if analyze is not None:
        analyze()
    return result


def _rows(store: Store, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    return [dict(zip(r.keys(), r, strict=True)) for r in store._query(sql, tuple(params))]


def _copy_contents(
    src: Store, dst: Store, result: CopyResult, on_item: OnItem | None
) -> dict[int, int]:
    """Every content of ``src`` in ``dst`` (by datahash); src id -> dst id."""
    known = {r[1]: int(r[0]) for r in dst._query("SELECT id, datahash FROM content")}
    ids: dict[int, int] = {}
    last = 0
    while True:
        batch = _rows(src, "SELECT * FROM content WHERE id > ? ORDER BY id LIMIT ?", (last, BATCH))
        if not batch:
            return ids
        last = batch[-1]["id"]
        missing = [c for c in batch if c["datahash"] not in known]
        result.contents_present += len(batch) - len(missing)
        if missing:
            members = _members(src, [c["id"] for c in missing])
            with dst.transaction() as db:
                for c in missing:
                    cur = db.execute(
                        "INSERT INTO content (datahash, iscc, size, data_code, instance_code,"
                        " kind, data64, first_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            c["datahash"],
                            c["iscc"],
                            c["size"],
                            c["data_code"],
                            c["instance_code"],
                            c["kind"],
                            c["data64"],
                            c["first_seen"],
                        ),
                    )
                    known[c["datahash"]] = int(cur.lastrowid or 0)
                rows = [
                    (
                        known[m["tree"]],
                        m["path"],
                        known.get(m["datahash"] or ""),
                        m["datahash"],
                        m["size"],
                        m["link"],
                    )
                    for c in missing
                    for m in members.get(c["id"], [])
                ]
                db.executemany(
                    "INSERT INTO member (tree_id, path, content_id, datahash, size, link)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
            result.contents += len(missing)
        for c in batch:
            ids[c["id"]] = known[c["datahash"]]
        if on_item is not None:
            on_item(len(batch))


def _members(src: Store, tree_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for m in _rows(
        src,
        "SELECT m.tree_id, t.datahash AS tree, m.path, m.datahash, m.size,"
        " m.link FROM member m JOIN content t ON t.id = m.tree_id"
        " WHERE m.tree_id IN (SELECT value FROM json_each(?))",
        (json.dumps(tree_ids),),
    ):
        out.setdefault(m["tree_id"], []).append(m)
    return out


_RUN_COLS = (
    "uid",
    "workflow",
    "workdir",
    "started",
    "ended",
    "status",
    "host",
    "user",
    "command",
    "info",
)
_STEP_COLS = (
    "uid",
    "name",
    "process",
    "command",
    "code",
    "params",
    "environment",
    "started",
    "ended",
    "exit_status",
    "status",
    "info",
)


def _copy_run(
    src: Store, dst: Store, run: dict[str, Any], ids: dict[int, int], result: CopyResult
) -> None:
    """One run with its steps and observations, in one transaction of ``dst``."""
    steps = _rows(src, "SELECT * FROM step WHERE run_id = ? ORDER BY id", (run["id"],))
    obs = _rows(src, "SELECT * FROM observation WHERE run_id = ? ORDER BY id", (run["id"],))
    with dst.transaction() as db:
        row = db.execute(
            "SELECT id, status, ended, info FROM run WHERE uid = ?", (run["uid"],)
        ).fetchone()
        if row is None:
            cols = ", ".join(_RUN_COLS)
            cur = db.execute(
                f"INSERT INTO run ({cols}) VALUES ({', '.join('?' * len(_RUN_COLS))})",
                tuple(run[c] for c in _RUN_COLS),
            )
            run_pk = int(cur.lastrowid or 0)
            have_steps: set[str] = set()
            changed = False
            result.runs += 1
        else:
            run_pk = int(row[0])
            have_steps = {
                r[0]
                for r in db.execute("SELECT uid FROM step WHERE run_id = ?", (run_pk,)).fetchall()
            }
            result.runs_present += 1
            changed = (row[1], row[2], row[3]) != (run["status"], run["ended"], run["info"])
            if changed:
                db.execute(
                    "UPDATE run SET status = ?, ended = ?, info = ? WHERE id = ?",
                    (run["status"], run["ended"], run["info"], run_pk),
                )
                result.runs_updated += 1
        step_pk: dict[int, int] = {}
        for s in steps:
            if s["uid"] in have_steps:
                continue
            values = [s[c] for c in _STEP_COLS]
            code = ids.get(s["code_content_id"]) if s["code_content_id"] is not None else None
            cur = db.execute(
                f"INSERT INTO step (run_id, code_content_id, {', '.join(_STEP_COLS)}) VALUES"
                f" ({', '.join('?' * (len(_STEP_COLS) + 2))})",
                (run_pk, code, *values),
            )
            step_pk[s["id"]] = int(cur.lastrowid or 0)
            result.steps += 1
        new_run = row is None
        rows = [
            (
                run_pk,
                step_pk[o["step_id"]] if o["step_id"] is not None else None,
                ids.get(o["content_id"]) if o["content_id"] is not None else None,
                o["path"],
                o["role"],
                o["seen_at"],
                o["note"],
            )
            for o in obs
            if (o["step_id"] in step_pk) or (o["step_id"] is None and new_run)
        ]
        db.executemany(
            "INSERT INTO observation (run_id, step_id, content_id, path, role, seen_at, note)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        result.observations += len(rows)
        # the target's tamper-evident chain covers what was written into it, as a recording
        if new_run or changed:
            dst._chain_append(db, "run", [run["uid"]])
        new_steps = [s["uid"] for s in steps if s["id"] in step_pk]
        if new_steps:
            dst._chain_append(db, "step", new_steps)


def _copy_loose_observations(
    src: Store, dst: Store, ids: dict[int, int], result: CopyResult
) -> None:
    """Contents seen outside any run (``iscc-lineage record`` of nothing but a look)."""
    key = (
        "SELECT o.path, c.datahash, o.role, o.seen_at, o.note, o.content_id FROM observation o"
        " LEFT JOIN content c ON c.id = o.content_id WHERE o.run_id IS NULL ORDER BY o.id"
    )
    have = {tuple(r)[:5] for r in dst._query(key)}
    rows = [
        (ids.get(r[5]) if r[5] is not None else None, r[0], r[2], r[3], r[4])
        for r in src._query(key)
        if tuple(r)[:5] not in have
    ]
    if rows:
        with dst.transaction() as db:
            db.executemany(
                "INSERT INTO observation (run_id, step_id, content_id, path, role, seen_at, note)"
                " VALUES (NULL, NULL, ?, ?, ?, ?, ?)",
                rows,
            )
        result.observations += len(rows)
