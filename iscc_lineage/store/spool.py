"""Spool files: store writes that could not be made when they happened, kept for later.

Live capture must never wait for the store (another process may hold its write lock for
minutes, or the store may be damaged under it). Its writes are then appended, one JSON line
each, to ``<store folder>/spool/<store name>-<run>-<pid>.jsonl``, and the next writer of the
same store (a later run, ``iscc-lineage import``) replays them. The first line names the store.
A server store (``postgresql://``) has no folder of its own: its spool is the working
directory's ``.iscc-lineage/spool/`` (the first line names the URL, without a password).

Each line is written with one ``write()`` on an ``O_APPEND`` descriptor, so a process killed
while writing leaves at most a torn last line, which replay ignores. Replay is idempotent (a
run or step whose id is in the store is skipped), so a flush killed half-way is simply done
again. A spool file is locked (``flock``) by the process writing it; a flusher skips locked
files, so a live run's spool is only flushed by that run.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from iscc_lineage.errors import LineageError
from iscc_lineage.model import Artifact, Fingerprint, Run, Step
from iscc_lineage.store.credentials import is_server_url, redact_credentials
from iscc_lineage.store.sqlite import Store

__all__ = ["SPOOL_DIR", "SpoolFile", "apply", "encode", "flush_spools", "spool_dir"]

log = logging.getLogger(__name__)

SPOOL_DIR = "spool"
SERVER_SPOOL = Path(".iscc-lineage") / SPOOL_DIR  #: a server store's spool, in the workdir
VERSION = 1
#: store methods that may be spooled (every one replays idempotently)
OPS = frozenset({"insert_run", "update_run", "insert_step", "cache_put", "add_codes", "add_images"})


def spool_dir(
    store_path: str | os.PathLike[str], workdir: str | os.PathLike[str] | None = None
) -> Path:
    """Where spool files of the store at ``store_path`` are kept: beside a SQLite file; for
    a server URL in ``workdir`` (default: the current directory) under ``.iscc-lineage/``."""
    if is_server_url(store_path):
        return Path(os.path.abspath(workdir or os.curdir)) / SERVER_SPOOL
    return Path(os.path.abspath(store_path)).parent / SPOOL_DIR


def store_identity(store_path: str | os.PathLike[str]) -> str:
    """How a spool's first line names its store: the absolute file, or the URL without its
    password (a spool is a plain file: it never holds a secret)."""
    if is_server_url(store_path):
        return redact_credentials(str(store_path))
    return os.path.abspath(store_path)


def _file_stem(store_path: str | os.PathLike[str]) -> str:
    if is_server_url(store_path):
        ident = store_identity(store_path)
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in ident.rsplit("/", 1)[-1])
        return f"{name[:40]}-{hashlib.sha256(ident.encode()).hexdigest()[:8]}"
    return Path(store_path).name


def _fp(d: dict[str, Any] | None) -> Fingerprint | None:
    return Fingerprint.from_dict(d) if d is not None else None


def _art(d: dict[str, Any]) -> Artifact:
    return Artifact(d["path"], _fp(d.get("fingerprint")), d.get("note"))


def encode(op: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """A store call as a JSON-ready dict (``{"op": name, ...}``)."""
    if op == "insert_run":
        (run,) = args
        return {"op": op, "run": asdict(run)}
    if op == "update_run":
        (run_id,) = args
        return {"op": op, "run_id": run_id, **kwargs}
    if op == "insert_step":
        step, inputs, outputs, *rest = args
        code = rest[0] if rest else kwargs.get("code")
        role = rest[1] if len(rest) > 1 else kwargs.get("output_role", "generated")
        s = asdict(step)
        s.pop("inputs", None)
        s.pop("outputs", None)
        return {
            "op": op,
            "step": s,
            "inputs": [_art_dict(a) for a in inputs],
            "outputs": [_art_dict(a) for a in outputs],
            "code": code.to_dict() if code is not None else None,
            "output_role": role,
        }
    if op == "cache_put":
        (entries,) = args
        return {"op": op, "entries": [[k, fp.to_dict()] for k, fp in entries]}
    if op == "add_codes":
        (rows,) = args
        # binary codes (figure codes) travel as base64 with a fourth element saying so
        return {
            "op": op,
            "rows": [
                [h, s, base64.b64encode(v).decode("ascii"), "b64"]
                if isinstance(v, bytes | bytearray | memoryview)
                else [h, s, v]
                for h, s, v in rows
            ],
        }
    if op == "add_images":
        datahash, result = args
        return {
            "op": op,
            "datahash": datahash,
            "reader": result.reader,
            "note": result.note,
            "images": [i.to_dict() for i in result.images],
        }
    raise ValueError(f"not a spooled store call: {op}")


def _art_dict(a: Artifact) -> dict[str, Any]:
    return {
        "path": a.path,
        "fingerprint": a.fingerprint.to_dict() if a.fingerprint else None,
        "note": a.note,
    }


def apply(store: Store, rec: dict[str, Any]) -> None:
    """Make one encoded call on ``store``; a run or step already there is left alone.

    :raises StoreError: the store could not be written.
    """
    op = rec.get("op")
    if op == "insert_run":
        r = dict(rec["run"])
        if not store.has_run(r["id"]):
            store.insert_run(Run(**r))
    elif op == "update_run":
        if store.has_run(rec["run_id"]):
            store.update_run(
                rec["run_id"], status=rec["status"], ended=rec.get("ended"), info=rec.get("info")
            )
    elif op == "insert_step":
        s = dict(rec["step"])
        if not store.has_step(s["id"]):
            store.insert_step(
                Step(**s),
                [_art(a) for a in rec["inputs"]],
                [_art(a) for a in rec["outputs"]],
                _fp(rec.get("code")),
                output_role=rec.get("output_role", "generated"),
            )
    elif op == "cache_put":
        store.cache_put([(k, Fingerprint.from_dict(d)) for k, d in rec["entries"]])
    elif op == "add_codes":
        store.add_codes(
            [(r[0], r[1], base64.b64decode(r[2]) if len(r) > 3 else r[2]) for r in rec["rows"]]
        )
    elif op == "add_images":
        from iscc_lineage.codes.pixel import ImageCode, PixelResult  # not on the capture's path

        result = PixelResult(
            tuple(ImageCode.from_dict(d) for d in rec["images"]), rec.get("reader"), rec.get("note")
        )
        store.add_images(rec["datahash"], result)
    else:
        raise ValueError(f"unknown spool record {op!r}")


class SpoolFile:
    """One process's spool for one store: created on the first line, locked while open."""

    def __init__(self, store_path: str, name: str, workdir: str | None = None) -> None:
        self.store_path = store_identity(store_path)
        self.path = spool_dir(store_path, workdir) / f"{_file_stem(store_path)}-{name}.jsonl"
        self._fd: int | None = None
        self.lines = 0

    def append(self, rec: dict[str, Any]) -> None:
        """Add one record (one ``write()``).

        :raises OSError: the spool cannot be written either.
        """
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._fd = fd
            if os.fstat(fd).st_size == 0:
                self._write({"spool": VERSION, "store": self.store_path, "pid": os.getpid()})
        self._write(rec)
        self.lines += 1

    def _write(self, rec: dict[str, Any]) -> None:
        assert self._fd is not None
        data = (json.dumps(rec, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        os.write(self._fd, data)

    def flush_into(self, store: Store) -> int:
        """Replay this spool into ``store`` and empty it; the number of records replayed.

        :raises StoreError: the store still cannot be written (the spool is kept).
        """
        if self._fd is None or self.lines == 0:
            return 0
        n = _replay(self.path, store)
        os.ftruncate(self._fd, 0)
        self.lines = 0
        return n

    def sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self, *, remove_if_empty: bool = True) -> None:
        if self._fd is None:
            return
        empty = os.fstat(self._fd).st_size == 0 or self.lines == 0
        if empty and remove_if_empty:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        else:
            os.fsync(self._fd)
        os.close(self._fd)  # releases the lock
        self._fd = None


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as fh:
        for i, raw in enumerate(fh):
            if not raw.endswith(b"\n"):
                break  # torn last line: the writer was killed while writing it
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if i == 0 or not isinstance(rec, dict) or rec.get("op") not in OPS:
                continue
            yield rec


def _header(path: Path) -> dict[str, Any] | None:
    try:
        with path.open("rb") as fh:
            first = fh.readline(65536)
        rec = json.loads(first)
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and rec.get("spool") == VERSION else None


def _replay(path: Path, store: Store) -> int:
    n = 0
    for rec in _records(path):
        try:
            apply(store, rec)
        except LineageError:
            raise
        except (KeyError, TypeError, ValueError) as exc:  # a record we cannot read
            log.debug("spool %s: skipped a record (%s)", path, exc)
            continue
        n += 1
    return n


def flush_spools(store: Store, workdir: str | os.PathLike[str] | None = None) -> tuple[int, int]:
    """Replay every abandoned spool of ``store`` (unlocked files naming it); (files, records).

    A server store's spools are looked for in ``workdir`` (default: the current directory).

    A spool that fails to replay is kept for the next writer.

    :raises StoreError: the store cannot be written.
    """
    if store.location == ":memory:":
        return 0, 0
    folder = spool_dir(store.location, workdir)
    if not folder.is_dir():
        return 0, 0
    mine = store_identity(store.location)
    files = records = 0
    for path in sorted(folder.glob("*.jsonl")):
        head = _header(path)
        if head is None or head.get("store") != mine:
            continue
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # its writer is alive and flushes it itself
            records += _replay(path, store)
            with contextlib.suppress(FileNotFoundError):  # another flusher was first
                path.unlink()
            files += 1
        finally:
            os.close(fd)
    return files, records
