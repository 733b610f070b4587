"""The store's runs and steps: their writes, stale-run settling and reads; a Store mixin."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from iscc_lineage.errors import AmbiguousError, NotFoundError
from iscc_lineage.locations import printable
from iscc_lineage.model import Artifact, Edge, Fingerprint, Run, Step
from iscc_lineage.store.credentials import redact_credentials
from iscc_lineage.times import now

__all__ = ["RunRecords", "pid_alive"]

PARTIAL = "partial output of a failed step"  #: the note on a failed step's outputs

#: ``uid`` starts with the parameter (given twice): a range, so the unique index serves it
#: (``LIKE`` would scan, and reads ``_`` and ``%`` in a prefix as wildcards)
_PREFIX = "uid >= ? AND uid < ? || char(1114111)"


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


def _secretless(command: str | None) -> str | None:
    """A command line as recorded: a store URL's password never enters the store."""
    return redact_credentials(command) if command else command


#: the note of a 'used' observation that is code the step ran (``code: script``, ...)
CODE_NOTE = "code: "


def _is_code(e: Edge) -> bool:
    return e.note is not None and e.note.startswith(CODE_NOTE)


def _dumps(value: Any) -> str:
    return json.dumps(value or {}, sort_keys=True, ensure_ascii=False, default=str)


class RunRecords:
    """Runs and steps; mixed into the store (which provides the members below)."""

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError  # pragma: no cover - provided by Store

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # pragma: no cover - provided by Store

    if TYPE_CHECKING:  # provided by ContentQueries and ChainedRecords, mixed in beside this

        def _content_id(self, db: sqlite3.Connection, fp: Fingerprint) -> int: ...

        def _chain_append(self, db: sqlite3.Connection, kind: str, uids: Iterable[str]) -> None: ...

    # -- runs and steps (writes) -------------------------------------------------------------

    def insert_run(self, run: Run) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO run (uid, workflow, workdir, started, ended, status, host, user,"
                " command, info) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.id,
                    run.workflow,
                    run.workdir,
                    run.started,
                    run.ended,
                    run.status,
                    run.host,
                    run.user,
                    _secretless(run.command),
                    _dumps(run.info),
                ),
            )
            self._chain_append(db, "run", [run.id])

    def update_run(
        self, run_id: str, *, status: str, ended: str | None, info: dict[str, Any] | None = None
    ) -> None:
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE run SET status = ?, ended = ? WHERE uid = ?", (status, ended, run_id)
            )
            if cur.rowcount == 0:
                raise NotFoundError(f"no run {run_id}")
            if info:
                old = json.loads(
                    db.execute("SELECT info FROM run WHERE uid = ?", (run_id,)).fetchone()[0]
                )
                db.execute(
                    "UPDATE run SET info = ? WHERE uid = ?", (_dumps({**old, **info}), run_id)
                )
            self._chain_append(db, "run", [run_id])

    def has_run(self, run_id: str) -> bool:
        """Whether a run with exactly this id is recorded."""
        return bool(self._query("SELECT 1 FROM run WHERE uid = ?", (run_id,)))

    def has_step(self, step_id: str) -> bool:
        """Whether a step with exactly this id is recorded."""
        return bool(self._query("SELECT 1 FROM step WHERE uid = ?", (step_id,)))

    def mark_stale_runs(
        self,
        *,
        workdir: str,
        host: str | None,
        keep: str | None = None,
        engine: str | None = None,
        reason: str | None = None,
        only: str | None = None,
    ) -> list[str]:
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
                " ORDER BY id",
                (workdir, host, keep, engine, engine, only, only),
            ).fetchall()
            dead = [
                r[0]
                for r in rows
                if not (isinstance(r[1], int) and (host != here or pid_alive(r[1])))
            ]
            db.executemany(
                "UPDATE run SET status = 'incomplete', ended = coalesce((SELECT max(s.ended)"
                " FROM step s WHERE s.run_id = run.id), started), info = CASE WHEN ? IS NULL"
                " THEN info ELSE json_set(info, '$.settled', ?) END WHERE uid = ?",
                [(reason, reason, uid) for uid in dead],
            )
            self._chain_append(db, "run", dead)
        return dead

    def output_ends(self, paths: Sequence[str]) -> dict[str, list[str | None]]:
        """When the steps that wrote each of ``paths`` ended (any run, any status)."""
        out: dict[str, list[str | None]] = {}
        for r in self._query(
            "SELECT o.path, s.ended FROM observation o JOIN step s ON s.id = o.step_id"
            " WHERE o.role IN ('generated', 'partial', 'seen')"
            " AND o.path IN (SELECT value FROM json_each(?))",
            (json.dumps(list(paths)),),
        ):
            out.setdefault(r[0], []).append(r[1])
        return out

    def insert_step(
        self,
        step: Step,
        inputs: Sequence[Artifact],
        outputs: Sequence[Artifact],
        code: Fingerprint | None = None,
        output_role: str = "generated",
    ) -> None:
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
                (
                    step.id,
                    run_pk,
                    step.name,
                    step.process,
                    _secretless(step.command),
                    step.code,
                    code_id,
                    _dumps(step.params),
                    _dumps(step.environment),
                    step.started,
                    step.ended,
                    step.exit_status,
                    step.status,
                    _dumps(step.info),
                ),
            )
            step_pk = cur.lastrowid
            rows = []
            for role, arts in (("used", inputs), (output_role, outputs)):
                for a in arts:
                    cid = self._content_id(db, a.fingerprint) if a.fingerprint else None
                    rows.append((run_pk, step_pk, cid, a.path, role, stamp, a.note))
            db.executemany(
                "INSERT INTO observation (run_id, step_id, content_id, path, role, seen_at, note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._chain_append(db, "step", [step.id])

    # -- runs and steps (reads) --------------------------------------------------------------

    def _run_from_row(self, r: sqlite3.Row) -> Run:
        return Run(
            r["uid"],
            r["workflow"],
            r["workdir"],
            r["started"],
            r["ended"],
            r["status"],
            r["host"],
            r["user"],
            r["command"],
            json.loads(r["info"]),
            r["steps"],
        )

    _RUN_SELECT = (
        "SELECT run.*, (SELECT count(*) FROM step WHERE step.run_id = run.id) AS steps FROM run"
    )

    def runs(self, limit: int | None = None) -> list[Run]:
        """Runs, newest first."""
        sql = self._RUN_SELECT + " ORDER BY started DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self._run_from_row(r) for r in self._query(sql)]

    def run(self, ref: str) -> Run:
        """A run by id or unique id prefix (as git takes commits)."""
        rows = self._query_ref(
            self._RUN_SELECT + f" WHERE {_PREFIX} ORDER BY uid != ? LIMIT 2", ref, "run"
        )
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
        rows = self._query_ref(
            f"SELECT id, uid FROM step WHERE {_PREFIX} ORDER BY uid != ? LIMIT 2", ref, "step"
        )
        return self.steps_by_id([self._one(rows, "step", ref)[0]])[0]

    def steps_of_run(self, run_id: str) -> list[Step]:
        rows = self._query(
            "SELECT step.id FROM step JOIN run ON run.id = step.run_id"
            " WHERE run.uid = ? ORDER BY step.id",
            (run_id,),
        )
        return self.steps_by_id([r[0] for r in rows])

    def steps_by_id(self, ids: Sequence[int]) -> list[Step]:
        """Steps with their edges, in the order of ``ids``."""
        ids_json = json.dumps(list(ids))
        edges: dict[int, list[tuple[str, Edge]]] = {}
        for r in self._query(
            "SELECT o.step_id, s.uid, o.role, o.path, c.datahash, o.note FROM observation o"
            " JOIN step s ON s.id = o.step_id LEFT JOIN content c ON c.id = o.content_id"
            " WHERE o.step_id IN (SELECT value FROM json_each(?)) ORDER BY o.id",
            (ids_json,),
        ):
            note = r[5] if r[2] != "partial" else "; ".join(filter(None, (PARTIAL, r[5])))
            edges.setdefault(r[0], []).append(
                (r[2], Edge(r[1], "used" if r[2] == "used" else "generated", r[3], r[4], note))
            )
        by_id = {}
        for r in self._query(
            "SELECT s.*, run.uid AS run_uid, c.datahash AS code_datahash FROM step s"
            " JOIN run ON run.id = s.run_id LEFT JOIN content c ON c.id = s.code_content_id"
            " WHERE s.id IN (SELECT value FROM json_each(?))",
            (ids_json,),
        ):
            es = edges.get(r["id"], [])
            info = json.loads(r["info"])
            partial = [e.path for role, e in es if role == "partial"]
            if partial:
                info = {**info, "partial_outputs": partial}
            by_id[r["id"]] = Step(
                r["uid"],
                r["run_uid"],
                r["name"],
                r["process"],
                r["command"],
                r["code"],
                r["code_datahash"],
                json.loads(r["params"]),
                json.loads(r["environment"]),
                r["started"],
                r["ended"],
                r["exit_status"],
                r["status"],
                info,
                tuple(e for role, e in es if role == "used" and not _is_code(e)),
                tuple(e for role, e in es if role == "generated"),
                tuple(e for role, e in es if role == "partial"),
                tuple(e for role, e in es if role == "used" and _is_code(e)),
            )
        return [by_id[i] for i in ids if i in by_id]

    def observations(
        self, *, run_id: str | None = None, paths: Sequence[str] | None = None
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
        sql = (
            "SELECT o.path, c.datahash FROM observation o JOIN content c ON c.id = o.content_id"
            " WHERE o.id IN (SELECT max(o.id) FROM observation o WHERE "
            + " AND ".join(where)
            + " GROUP BY o.path) ORDER BY o.path"
        )
        return [(r[0], r[1]) for r in self._query(sql, params)]
