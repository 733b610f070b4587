"""The capture's store as the Snakemake process sees it: store calls sent to the helper."""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import suppress
from pathlib import Path
from typing import IO, Any

from iscc_lineage.model import Artifact, Fingerprint, Run, Step
from iscc_lineage.store.spool import SpoolFile, encode

__all__ = ["CLOSE_BUDGET", "READ_TIMEOUT", "StoreClient", "json_line"]

log = logging.getLogger("iscc_lineage.snakemake.writer")  # the notices, as before the split

READ_TIMEOUT = 2.0  #: seconds a stat-cache or code lookup waits for the helper
CLOSE_BUDGET = 4.0  #: seconds close() gives the helper to finish (lock waits included)


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
            [sys.executable, "-m", "iscc_lineage.snakemake.writer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._sender = threading.Thread(
            target=self._send_loop, args=(self._proc.stdin,), name="iscc-lineage-send", daemon=True
        )
        self._reader = threading.Thread(
            target=self._read_loop, args=(self._proc.stdout,), name="iscc-lineage-recv", daemon=True
        )
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

    def update_run(
        self, run_id: str, *, status: str, ended: str | None, info: dict[str, Any] | None = None
    ) -> None:
        self._write(encode("update_run", run_id, status=status, ended=ended, info=info))

    def insert_step(
        self,
        step: Step,
        inputs: list[Artifact] | tuple[Artifact, ...],
        outputs: list[Artifact] | tuple[Artifact, ...],
        code: Fingerprint | None = None,
        output_role: str = "generated",
    ) -> None:
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
            self._notice(
                f"the lineage store {self.location} did not answer within "
                f"{budget:.0f} s; what it holds is spooled for the next run or "
                "`iscc-lineage import`"
            )
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
        self._outbox.put(json_line({"id": i, "call": "write", "rec": rec}))

    def _call(self, call: str, **kw: Any) -> Future[Any] | None:
        if self._dead:
            return None
        i = self._next()
        fut: Future[Any] = Future()
        with self._lock:
            self._waiting[i] = fut
        self._outbox.put(json_line({"id": i, "call": call, **kw}))
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
            why = f"killed by signal {-code}" if code is not None and code < 0 else f"exit {code}"
            self._spool_unacked()
            where = self._spool.path if self._spool is not None else "a spool file"
            self._notice(
                f"the lineage store's writer stopped ({why}); the run goes on and "
                f"its lineage is kept in {where} for the next run or "
                "`iscc-lineage import`"
            )

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


def json_line(msg: dict[str, Any]) -> bytes:
    """One message of the client-helper protocol: a JSON line, UTF-8."""
    return (json.dumps(msg, ensure_ascii=False, default=str) + "\n").encode("utf-8")
