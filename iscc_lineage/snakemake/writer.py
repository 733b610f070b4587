"""Store I/O for live capture, in a helper process: a store fault never reaches Snakemake.

SQLite in WAL mode memory-maps the store's ``-shm`` file; if that file shrinks under a process
(NFS, a cleanup script), the next touch of the mapping is a SIGBUS that kills it. So Snakemake
never opens the store: :class:`StoreClient` (in :mod:`iscc_lineage.snakemake.client`) sends
every store call, one JSON line each, to this helper (``python -m
iscc_lineage.snakemake.writer``). Writes are fire-and-forget (kept until acknowledged), reads
(stat cache, Image-Code lookups) wait at most :data:`READ_TIMEOUT` (else a cache miss).

A write that cannot take the lock within :data:`LOCK_WAIT` seconds, or a PostgreSQL server
that went away, moves the helper to a spool file (:mod:`iscc_lineage.store.spool`; a server
store's is the run's ``.iscc-lineage/spool/``), replayed every :data:`RETRY` seconds (a lost
server connection is opened anew) and once more at the end; what is left is replayed by the
next writer or by ``iscc-lineage import``. If the helper dies, the client spools the
unacknowledged records itself. The helper runs in its own session (Ctrl-C does not reach it);
after a ``kill -9`` of Snakemake it commits what it was sent and marks the run ``incomplete``.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import IO, Any

from iscc_lineage.errors import LineageError, StoreError
from iscc_lineage.snakemake.client import CLOSE_BUDGET, READ_TIMEOUT, StoreClient, json_line
from iscc_lineage.store import is_server_url, open_store
from iscc_lineage.store.credentials import redact_credentials
from iscc_lineage.store.spool import SpoolFile, apply, encode, flush_spools

__all__ = ["CLOSE_BUDGET", "LOCK_WAIT", "READ_TIMEOUT", "RETRY", "StoreClient", "main"]

log = logging.getLogger(__name__)

LOCK_WAIT = 2.0  #: seconds a write waits for another process's lock before spooling
RETRY = 2.0  #: seconds between attempts to replay the spool into the store
KILLED = (
    "the snakemake process ended before lineage capture closed (killed?); steps it had "
    "finished may be added by the next run in this folder or by `iscc-lineage import`"
)


# -- the helper process -------------------------------------------------------------------------


class _Helper:
    """Owns the store connections; applies writes in order, spools them when it must."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.out_lock = threading.Lock()
        self.writes: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.reads: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.store: Any = None  # sqlite.Store, imported lazily
        self.reader_store: Any = None
        self.opened = threading.Event()
        self.path: str | None = None
        self.ident: tuple[int, int] | None = None
        self.spool: SpoolFile | None = None
        self.spooling = False
        self.last_try = 0.0
        self.runs_open: set[str] = set()
        self.run_rows: dict[str, dict[str, Any]] = {}
        self.steps = 0
        self.closed = False

    # -- plumbing --------------------------------------------------------------------------

    def send(self, msg: dict[str, Any]) -> None:
        with self.out_lock:
            try:
                self.out.write(json_line(msg))
                self.out.flush()
            except (OSError, ValueError):
                pass  # the client is gone; the work goes on

    def reply(self, msg: dict[str, Any], result: Any = None, ok: bool = True) -> None:
        if "id" in msg:
            self.send({"id": msg["id"], "ok": ok, "result": result})

    def read_stdin(self, pipe: IO[bytes]) -> None:
        for raw in pipe:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            reads = ("cache_get", "has_code", "pixel_notes")
            (self.reads if msg.get("call") in reads else self.writes).put(msg)
        self.writes.put(None)
        self.reads.put(None)

    def serve_reads(self) -> None:
        while True:
            msg = self.reads.get()
            if msg is None:
                return
            self.opened.wait()
            result: Any = None
            try:
                if self.reader_store is not None:
                    if msg["call"] == "cache_get":
                        fp = self.reader_store.cache_get(msg["key"])
                        result = fp.to_dict() if fp is not None else None
                    elif msg["call"] == "pixel_notes":
                        result = dict(self.reader_store.pixel_notes(msg["hashes"]))
                    else:
                        result = sorted(self.reader_store.has_code(msg["hashes"], msg["scheme"]))
            except (LineageError, KeyError, TypeError):
                result = None
            self.reply(msg, result)

    # -- the write loop ----------------------------------------------------------------------

    def run(self) -> None:
        while True:
            try:
                msg = self.writes.get(timeout=RETRY if self.spooling else None)
            except queue.Empty:
                self.retry()
                continue
            if msg is None:
                self.ended_without_close()
                return
            call = msg.get("call")
            if call == "open":
                self.open(msg)
            elif call == "write":
                self.write(msg["rec"])
                self.reply(msg)
            elif call == "settle":
                self.settle(msg)
            elif call == "close":
                self.reply(msg, self.close(float(msg.get("budget") or 0), msg.get("run")))
                return

    def open(self, msg: dict[str, Any]) -> None:
        from iscc_lineage.store.sqlite import Store

        self.path = str(msg["path"])
        try:
            if is_server_url(self.path):  # a PostgreSQL store: no file to map, watch or spool by
                self.store, self.reader_store = self.open_server()
            else:
                self.store = Store(self.path, create=True, busy_timeout_ms=int(LOCK_WAIT * 1000))
                st = os.stat(self.path)
                self.ident = (st.st_dev, st.st_ino)
                self.reader_store = Store(self.path, create=False, busy_timeout_ms=2000)
        except (LineageError, OSError) as exc:
            self.start_spooling(f"the lineage store cannot be opened ({exc})")
        finally:
            self.opened.set()
        if self.store is not None and not self.spooling:
            try:
                flush_spools(self.store)
            except (LineageError, OSError) as exc:
                self.start_spooling(self.why(exc))
        self.reply(msg)

    def why(self, exc: BaseException) -> str:
        text, where = str(exc), redact_credentials(self.path or "")
        if "locked" in text or "busy" in text:
            return (
                f"the lineage store {where} is locked by another process; the run goes on, "
                "and its lineage waits in a spool file for the next run or `iscc-lineage import`"
            )
        return f"cannot write the lineage store ({text}); lineage goes to a spool file"

    def start_spooling(self, why: str) -> None:
        if not self.spooling:
            self.spooling = True
            self.last_try = time.monotonic()
            self.send({"notice": why})

    def spool_rec(self, rec: dict[str, Any]) -> None:
        try:
            if self.spool is None:
                run = next(iter(sorted(self.runs_open)), None) or "run"
                # a server store's spool goes to the run's working directory (.iscc-lineage/)
                workdir = (self.run_rows.get(run) or {}).get("workdir")
                self.spool = SpoolFile(
                    self.path or "lineage.db", f"{run}-{os.getpid()}", workdir or None
                )
            self.spool.append(rec)
        except OSError as exc:
            self.send({"notice": f"lineage is lost: the spool cannot be written ({exc})"})

    def write(self, rec: dict[str, Any]) -> None:
        op = rec.get("op")
        if op == "insert_run":
            self.runs_open.add(str(rec["run"]["id"]))
            self.run_rows[str(rec["run"]["id"])] = rec["run"]
            self.flush_workdir_spools(rec["run"].get("workdir"))
        elif op == "update_run":
            self.runs_open.discard(str(rec["run_id"]))
        elif op == "insert_step":
            self.steps += 1
        if self.spooling or self.store is None:
            self.spool_rec(rec)
            if time.monotonic() - self.last_try > RETRY:
                self.retry()
            return
        try:
            apply(self.store, rec)
        except (StoreError, OSError) as exc:
            self.start_spooling(self.why(exc))
            self.spool_rec(rec)
        except LineageError:
            pass  # e.g. a step of a run that is not there: nothing to keep

    def flush_workdir_spools(self, workdir: str | None) -> None:
        """A server store's spools are kept per working directory (the writer started in
        the launch folder, so :meth:`open` looked there): replay this run's folder's too."""
        if workdir and self.path and is_server_url(self.path) and self.store and not self.spooling:
            try:
                flush_spools(self.store, workdir)
            except (LineageError, OSError) as exc:
                self.start_spooling(self.why(exc))

    def retry(self, wait: float = 0.0) -> None:
        """Try to replay the spool into the store (waiting at most ``wait`` for the lock)."""
        self.last_try = time.monotonic()
        if not self.reconnect():
            return
        try:
            self.store.set_busy_timeout(int(wait * 1000))
            if self.spool is not None:
                self.spool.flush_into(self.store)
            self.spooling = False
        except (LineageError, OSError):
            pass
        finally:
            with suppress(LineageError, Exception):
                self.store.set_busy_timeout(int(LOCK_WAIT * 1000))

    def open_server(self) -> tuple[Any, Any]:
        assert self.path is not None
        store = open_store(self.path, create=True)
        store.set_busy_timeout(int(LOCK_WAIT * 1000))
        return store, open_store(self.path, create=False)

    def reconnect(self) -> bool:
        """Whether there is a store to write; a server store whose connection was lost (the
        server restarted or was unreachable) is opened anew, as is one that never opened."""
        if self.path is None or not is_server_url(self.path):
            return self.store is not None
        if self.store is not None and not getattr(self.store, "connection_lost", False):
            return True
        try:
            fresh = self.open_server()
        except (LineageError, OSError):
            return False  # still away: the spool keeps the records, the next retry tries
        for s in (self.store, self.reader_store):
            with suppress(Exception):
                s.close()
        self.store, self.reader_store = fresh
        return True

    def settle(self, msg: dict[str, Any]) -> None:
        if self.spooling or self.store is None:
            return
        try:
            self.store.mark_stale_runs(
                workdir=msg["workdir"],
                host=msg.get("host"),
                keep=msg.get("keep"),
                engine="snakemake",
                reason=msg.get("reason"),
            )
        except (LineageError, OSError) as exc:
            self.start_spooling(self.why(exc))
            return
        try:
            from iscc_lineage.snakemake.recovery import recover_lost_steps

            recover_lost_steps(self.store, Path(msg["workdir"]), keep=msg.get("keep"))
        except (LineageError, OSError) as exc:
            log.debug("recovery of lost steps failed: %s", exc)

    def close(self, budget: float, run_id: str | None) -> dict[str, Any]:
        if self.spooling:  # one last, short chance for the lock (the budget is the client's)
            self.retry(wait=min(1.0, max(0.0, budget - 2.5)))
        notices = []  # the spool itself was told when it began
        left = self.spool.lines if self.spool is not None else 0
        if run_id and not self.spooling and self.store is not None:
            trouble = self.check_store(run_id)
            if trouble:
                notices.append(trouble)
        self.finish()
        return {"notices": notices, "spooled": left}

    def check_store(self, run_id: str) -> str | None:
        """Is the store at the path still the one written (same file, this run's row in it)?"""
        from iscc_lineage.store.sqlite import Store

        assert self.path is not None
        if is_server_url(self.path):
            return None  # a server's database is not a file that can be deleted or replaced
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return (
                f"the lineage store {self.path} was deleted during the run: the lineage of "
                f"run {run_id[:12]} ({self.steps} steps) is lost"
            )
        except OSError as exc:
            return f"the lineage store {self.path} cannot be checked ({exc})"
        if self.ident is not None and (st.st_dev, st.st_ino) != self.ident:
            return (
                f"the lineage store {self.path} was replaced during the run: run "
                f"{run_id[:12]} ({self.steps} steps) went into the old file"
            )
        try:
            with Store(self.path, create=False, busy_timeout_ms=1000) as fresh:
                if not fresh.has_run(run_id):
                    return (
                        f"the lineage store {self.path} was overwritten during the run: "
                        f"run {run_id[:12]} is not in it"
                    )
                fresh.stats()
        except LineageError as exc:
            return f"the lineage store {self.path} was damaged during the run ({exc})"
        return None

    def ended_without_close(self) -> None:
        """Snakemake went away without closing: settle its run, keep what it sent."""
        from iscc_lineage.store.sqlite import pid_alive

        for run_id in sorted(self.runs_open):
            where = self.run_rows.get(run_id, {})
            pid = (where.get("info") or {}).get("pid")
            deadline = time.monotonic() + 3.0  # our input ends a moment before it is a zombie
            while isinstance(pid, int) and pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if not self.spooling and self.store is not None:
                with suppress(LineageError, OSError):
                    if run_id in self.store.mark_stale_runs(
                        workdir=where.get("workdir", ""),
                        host=where.get("host"),
                        engine="snakemake",
                        reason=KILLED,  # ended: the last recorded step's end
                        only=run_id,
                    ):
                        continue
            self.write(
                encode(
                    "update_run",
                    run_id,
                    status="incomplete",
                    ended=_now(),
                    info={"settled": KILLED},
                )
            )
        if self.spooling:
            self.retry(wait=LOCK_WAIT)
        self.finish()

    def finish(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.spool is not None:
            with suppress(OSError):
                self.spool.close()
        for s in (self.reader_store, self.store):
            if s is not None:
                with suppress(Exception):
                    s.close()


def _now() -> str:
    from iscc_lineage.times import now

    return now()


def main() -> int:
    """The helper's entry point: JSON lines in on stdin, answers and notices on stdout."""
    with suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is Snakemake's business
    helper = _Helper(sys.stdout.buffer)
    threading.Thread(
        target=helper.read_stdin, args=(sys.stdin.buffer,), daemon=True, name="stdin"
    ).start()
    threading.Thread(target=helper.serve_reads, daemon=True, name="reads").start()
    helper.run()
    with suppress(OSError, ValueError):
        sys.stdout.flush()
    os._exit(0)  # the stdin thread may sit in a read: do not let finalisation wait for it


if __name__ == "__main__":
    raise SystemExit(main())
