"""Store I/O for live capture, in a helper process: a store fault never reaches Snakemake.

SQLite in WAL mode memory-maps the store's ``-shm`` file; if that file shrinks or turns
immutable under a process (another host over NFS, a cleanup script), the next touch of the
mapping is a SIGBUS that kills the process at once. So the Snakemake process never opens the
store: :class:`StoreClient` sends every store call, one JSON line each, to a helper process
(``python -m iscc_lineage.snakemake.writer``) that owns the connections. Writes are
fire-and-forget (kept until the helper acknowledges them), reads (the stat cache, Image-Code
lookups) wait at most :data:`READ_TIMEOUT` and count as a cache miss otherwise.

The helper never makes capture wait for another process's write lock: a write that cannot take
the lock within :data:`LOCK_WAIT` seconds moves the helper to a spool file (see
:mod:`iscc_lineage.store.spool`), which it tries to replay every :data:`RETRY` seconds and once
more, within the close budget, at the end; whatever is left is replayed by the next writer of
the store or by ``iscc-lineage import``. If the helper dies (a SIGBUS is now its problem), the
client writes the unacknowledged records and all later ones to a spool file of its own: plain
file appends, no mapping. The helper runs in its own session, so a Ctrl-C in the terminal does
not reach it, and a ``kill -9`` of Snakemake leaves it to commit what it was sent and to mark
the run ``incomplete`` when its input ends without a close.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import suppress
from pathlib import Path
from typing import IO, Any

from iscc_lineage.errors import LineageError, StoreError
from iscc_lineage.model import Artifact, Fingerprint, Run, Step
from iscc_lineage.store import is_server_url, open_store
from iscc_lineage.store.spool import SpoolFile, apply, encode, flush_spools

__all__ = ["CLOSE_BUDGET", "LOCK_WAIT", "READ_TIMEOUT", "RETRY", "StoreClient", "main"]

log = logging.getLogger(__name__)

LOCK_WAIT = 2.0  #: seconds a write waits for another process's lock before spooling
RETRY = 2.0  #: seconds between attempts to replay the spool into the store
READ_TIMEOUT = 2.0  #: seconds a stat-cache or code lookup waits for the helper
CLOSE_BUDGET = 4.0  #: seconds close() gives the helper to finish (lock waits included)
KILLED = ("the snakemake process ended before lineage capture closed (killed?); steps it had "
          "finished may be added by the next run in this folder or by `iscc-lineage import`")


# -- the Snakemake side ------------------------------------------------------------------------


class StoreClient:
    """The capture's store, as seen from the Snakemake process (no SQLite in this process).

    Implements the recording part of the store interface (and the stat cache). Nothing here
    raises into the capture for a store fault: those become spool records and one warning.
    """

    def __init__(self, location: str | None = None) -> None:
        self.location = location or ""
        self._ids = 0
        self._lock = threading.Lock()
        self._waiting: dict[int, Future[Any]] = {}
        self._unacked: dict[int, dict[str, Any]] = {}
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._spool: SpoolFile | None = None
        self._dead = False
        self._closing = False
        self._warned = False
        self.run_id: str | None = None
        self.notices: list[str] = []
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "iscc_lineage.snakemake.writer"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, env=env, start_new_session=True, close_fds=True)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._sender = threading.Thread(target=self._send_loop, args=(self._proc.stdin,),
                                        name="iscc-lineage-send", daemon=True)
        self._reader = threading.Thread(target=self._read_loop, args=(self._proc.stdout,),
                                        name="iscc-lineage-recv", daemon=True)
        self._sender.start()
        self._reader.start()
        if location:
            self.open(location)

    def open(self, location: str) -> None:
        """Have the helper open (or create) the store at ``location``."""
        self.location = location
        self._call("open", path=location)

    # -- store interface (recording part) ----------------------------------------------------

    def insert_run(self, run: Run) -> None:
        self.run_id = run.id
        self._write(encode("insert_run", run))

    def update_run(self, run_id: str, *, status: str, ended: str | None,
                   info: dict[str, Any] | None = None) -> None:
        self._write(encode("update_run", run_id, status=status, ended=ended, info=info))

    def insert_step(self, step: Step, inputs: list[Artifact] | tuple[Artifact, ...],
                    outputs: list[Artifact] | tuple[Artifact, ...],
                    code: Fingerprint | None = None, output_role: str = "generated") -> None:
        self._write(encode("insert_step", step, inputs, outputs, code, output_role))

    def cache_put(self, entries: Any) -> None:
        self._write(encode("cache_put", list(entries)))

    def add_codes(self, rows: Any) -> None:
        self._write(encode("add_codes", list(rows)))

    def add_images(self, datahash: str, result: Any) -> None:
        self._write(encode("add_images", datahash, result))

    def pixel_notes(self, datahashes: Any) -> dict[str, str]:
        got = self._ask("pixel_notes", hashes=list(datahashes))
        return {str(k): str(v) for k, v in got.items()} if isinstance(got, dict) else {}

    def cache_get(self, key: str) -> Fingerprint | None:
        got = self._ask("cache_get", key=key)
        return Fingerprint.from_dict(got) if isinstance(got, dict) else None

    def has_code(self, datahashes: Any, scheme: str) -> set[str]:
        got = self._ask("has_code", hashes=list(datahashes), scheme=scheme)
        return set(got) if isinstance(got, list) else set()

    def settle(self, *, workdir: str, host: str | None, keep: str, reason: str) -> None:
        """Ask the helper to settle dead runs of this folder and add their lost steps."""
        self._call("settle", workdir=workdir, host=host, keep=keep, reason=reason)

    def close(self, budget: float = CLOSE_BUDGET) -> list[str]:
        """Let the helper finish within ``budget`` seconds; the notices it has for the user.

        Records it has not acknowledged by then go to this process's spool file.
        """
        with self._lock:
            if self._closing:
                return self.notices
            self._closing = True
        fut = self._call("close", run=self.run_id, budget=max(0.0, budget - 0.5))
        result: Any = None
        if fut is not None:
            try:
                result = fut.result(timeout=budget)
            except (FutureTimeout, Exception):
                result = None
        if isinstance(result, dict):
            self.notices.extend(str(n) for n in result.get("notices", []))
        self._outbox.put(None)
        # busy or stopped: it finishes on its own, and it spools what it holds
        with suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=0.5 if result is not None else 0.1)
        if result is None and not self._dead:
            self._notice(f"the lineage store {self.location} did not answer within "
                         f"{budget:.0f} s; what it holds is spooled for the next run or "
                         "`iscc-lineage import`")
        self._spool_unacked()
        if self._spool is not None:
            with suppress(OSError):
                self._spool.close()
        return self.notices

    # -- messaging ---------------------------------------------------------------------------

    def _next(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    def _write(self, rec: dict[str, Any]) -> None:
        if self._dead:
            self._spool_one(rec)
            return
        i = self._next()
        with self._lock:
            self._unacked[i] = rec
        self._outbox.put(_line({"id": i, "call": "write", "rec": rec}))

    def _call(self, call: str, **kw: Any) -> Future[Any] | None:
        if self._dead:
            return None
        i = self._next()
        fut: Future[Any] = Future()
        with self._lock:
            self._waiting[i] = fut
        self._outbox.put(_line({"id": i, "call": call, **kw}))
        return fut

    def _ask(self, call: str, **kw: Any) -> Any:
        fut = self._call(call, **kw)
        if fut is None:
            return None
        try:
            return fut.result(timeout=READ_TIMEOUT)
        except (FutureTimeout, Exception):
            return None

    def _send_loop(self, pipe: IO[bytes]) -> None:
        try:
            while True:
                data = self._outbox.get()
                if data is None:
                    break
                pipe.write(data)
                if self._outbox.empty():
                    pipe.flush()
        except (OSError, ValueError):
            pass  # the helper is gone: the reader sees it and spools
        with suppress(OSError, ValueError):
            pipe.close()

    def _read_loop(self, pipe: IO[bytes]) -> None:
        for raw in pipe:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if "notice" in msg:
                self._notice(str(msg["notice"]))
                continue
            i = msg.get("id")
            with self._lock:
                self._unacked.pop(i, None)
                fut = self._waiting.pop(i, None)
            if fut is not None:
                fut.set_result(msg.get("result") if msg.get("ok") else None)
        self._helper_gone()

    def _helper_gone(self) -> None:
        with self._lock:
            self._dead = True
            waiting = list(self._waiting.values())
            self._waiting.clear()
        for fut in waiting:
            with suppress(Exception):
                fut.set_result(None)
        if not self._closing:
            code = self._proc.poll()
            if code is None:
                with suppress(subprocess.TimeoutExpired):
                    code = self._proc.wait(timeout=1.0)
            why = (f"killed by signal {-code}" if code is not None and code < 0
                   else f"exit {code}")
            self._spool_unacked()
            where = self._spool.path if self._spool is not None else "a spool file"
            self._notice(f"the lineage store's writer stopped ({why}); the run goes on and "
                         f"its lineage is kept in {where} for the next run or "
                         "`iscc-lineage import`")

    def _spool_unacked(self) -> None:
        with self._lock:
            recs = [self._unacked[i] for i in sorted(self._unacked)]
            self._unacked.clear()
        for rec in recs:
            self._spool_one(rec)

    def _spool_one(self, rec: dict[str, Any]) -> None:
        try:
            if self._spool is None:
                self._spool = SpoolFile(self.location, f"{self.run_id or 'run'}-{os.getpid()}")
            self._spool.append(rec)
        except OSError as exc:
            self._notice(f"lineage could not be kept: the spool cannot be written ({exc})")

    def _notice(self, text: str) -> None:
        """Tell the user once (one ``iscc-lineage:`` line); further notices go to debug."""
        with self._lock:
            first = not self._warned
            self._warned = True
        if first:
            log.warning("%s", text)
        else:
            log.debug("%s", text)


def _line(msg: dict[str, Any]) -> bytes:
    return (json.dumps(msg, ensure_ascii=False, default=str) + "\n").encode("utf-8")


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
                self.out.write(_line(msg))
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
                self.store = open_store(self.path, create=True)
                self.store.set_busy_timeout(int(LOCK_WAIT * 1000))
                self.reader_store = open_store(self.path, create=False)
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
        text = str(exc)
        if "locked" in text or "busy" in text:
            return (f"the lineage store {self.path} is locked by another process; the run goes "
                    "on, and its lineage waits in a spool file for the next run or "
                    "`iscc-lineage import`")
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
                self.spool = SpoolFile(self.path or "lineage.db", f"{run}-{os.getpid()}")
            self.spool.append(rec)
        except OSError as exc:
            self.send({"notice": f"lineage is lost: the spool cannot be written ({exc})"})

    def write(self, rec: dict[str, Any]) -> None:
        op = rec.get("op")
        if op == "insert_run":
            self.runs_open.add(str(rec["run"]["id"]))
            self.run_rows[str(rec["run"]["id"])] = rec["run"]
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

    def retry(self, wait: float = 0.0) -> None:
        """Try to replay the spool into the store (waiting at most ``wait`` for the lock)."""
        self.last_try = time.monotonic()
        if self.store is None:
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

    def settle(self, msg: dict[str, Any]) -> None:
        if self.spooling or self.store is None:
            return
        try:
            self.store.mark_stale_runs(workdir=msg["workdir"], host=msg.get("host"),
                                       keep=msg.get("keep"), engine="snakemake",
                                       reason=msg.get("reason"))
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
            return (f"the lineage store {self.path} was deleted during the run: the lineage of "
                    f"run {run_id[:12]} ({self.steps} steps) is lost")
        except OSError as exc:
            return f"the lineage store {self.path} cannot be checked ({exc})"
        if self.ident is not None and (st.st_dev, st.st_ino) != self.ident:
            return (f"the lineage store {self.path} was replaced during the run: run "
                    f"{run_id[:12]} ({self.steps} steps) went into the old file")
        try:
            with Store(self.path, create=False, busy_timeout_ms=1000) as fresh:
                if not fresh.has_run(run_id):
                    return (f"the lineage store {self.path} was overwritten during the run: "
                            f"run {run_id[:12]} is not in it")
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
                    # ended = the last recorded step's end, as for any stale run
                    if run_id in self.store.mark_stale_runs(
                            workdir=where.get("workdir", ""), host=where.get("host"),
                            engine="snakemake", reason=KILLED, only=run_id):
                        continue
            self.write(encode("update_run", run_id, status="incomplete", ended=_now(),
                              info={"settled": KILLED}))
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
    threading.Thread(target=helper.read_stdin, args=(sys.stdin.buffer,), daemon=True,
                     name="stdin").start()
    threading.Thread(target=helper.serve_reads, daemon=True, name="reads").start()
    helper.run()
    with suppress(OSError, ValueError):
        sys.stdout.flush()
    os._exit(0)  # the stdin thread may sit in a read: do not let finalisation wait for it


if __name__ == "__main__":
    raise SystemExit(main())
