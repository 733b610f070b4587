"""Read Snakemake's per-output metadata records (``.snakemake/metadata/`` or ``metadata.db``).

Snakemake writes one record per output file (format version 6) before it logs JOB_FINISHED:
rule, input, log, shellcmd, params (``repr`` strings, no names), code, conda_env (base64 YAML),
container_img_url, start/end times, incomplete, input_checksums (sha256 of inputs <= 1 MB).
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iscc_lineage.locations import printable

__all__ = ["MetadataRecord", "RecordError", "iter_records", "key_path", "read_record"]


@dataclass(frozen=True, slots=True)
class MetadataRecord:
    """One ``.snakemake/metadata`` record: what Snakemake knew about the job behind an output."""

    output: str  #: the key: the output path as written in the rule (or a storage query)
    rule: str
    input: tuple[str, ...] = ()
    log: tuple[str, ...] = ()
    shellcmd: str | None = None
    params: tuple[str, ...] = ()
    code: str | None = None
    conda_env: str | None = None  #: the environment YAML text (decoded)
    container_img_url: str | None = None
    software_stack_hash: str | None = None
    job_hash: int | None = None
    starttime: float | None = None
    endtime: float | None = None
    incomplete: bool = False
    external_jobid: str | None = None
    input_checksums: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, output: str, d: Any) -> MetadataRecord:
        """A record from its JSON, every field's type checked.

        :raises RecordError: not an object, or a field of the wrong type (one line: which).
        """
        if not isinstance(d, dict):
            raise RecordError(f"{_kind(d)}, not a record")
        env = _opt_str(d, "conda_env")
        if env:
            try:
                env = base64.b64decode(env).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                env = None
        incomplete = d.get("incomplete")
        if incomplete is not None and not isinstance(incomplete, (bool, int)):
            raise RecordError(f"incomplete: {_kind(incomplete)}, not true or false")
        job_hash = d.get("job_hash")
        if job_hash is not None and (isinstance(job_hash, bool) or not isinstance(job_hash, int)):
            raise RecordError(f"job_hash: {_kind(job_hash)}, not an integer")
        rule = d.get("rule")
        if rule is not None and not isinstance(rule, str):
            raise RecordError(f"rule: {_kind(rule)}, not a string")
        checksums = d.get("input_checksums") or {}
        if not isinstance(checksums, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in checksums.items()
        ):
            raise RecordError(f"input_checksums: {_kind(checksums)}, not a map of strings")
        params = d.get("params") or []
        if not isinstance(params, list) or not all(
            p is None or isinstance(p, (str, int, float, bool)) for p in params
        ):
            raise RecordError(f"params: {_kind(params)}, not a list of values")
        return cls(
            output=output,
            rule=rule or "",
            input=_strs(d, "input"),
            log=_strs(d, "log"),
            shellcmd=_opt_str(d, "shellcmd"),
            params=tuple(str(p) for p in params),
            code=_opt_str(d, "code"),
            conda_env=env,
            container_img_url=_opt_str(d, "container_img_url"),
            software_stack_hash=_opt_str(d, "software_stack_hash"),
            job_hash=job_hash,
            starttime=_time(d, "starttime"),
            endtime=_time(d, "endtime"),
            incomplete=bool(incomplete),
            external_jobid=_opt_str(d, "external_jobid"),
            input_checksums=dict(checksums),
        )


class RecordError(ValueError):
    """A metadata record of the wrong shape (hostile, or from another tool): it is skipped."""


MAX_RECORD = 64 << 20  #: larger record files are skipped unread (a record holds one job)
LATEST = 32503680000.0  #: 3000-01-01: later times are not Snakemake's (nor are negative ones)


def _kind(v: object) -> str:
    return (
        "a list"
        if isinstance(v, list)
        else "an object"
        if isinstance(v, dict)
        else f"{type(v).__name__} {str(v)[:40]!r}"
    )


def _strs(d: dict[str, Any], key: str) -> tuple[str, ...]:
    v = d.get(key) or []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise RecordError(f"{key}: {_kind(v)}, not a list of paths")
    return tuple(v)


def _opt_str(d: dict[str, Any], key: str) -> str | None:
    v = d.get(key)
    if v is not None and not isinstance(v, str):
        raise RecordError(f"{key}: {_kind(v)}, not a string")
    return v


def _time(d: dict[str, Any], key: str) -> float | None:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= LATEST:
        raise RecordError(f"{key}: {_kind(v)}, not a time")  # NaN fails the range too
    return float(v)


def _load(path: Path) -> Any:
    """A record file's JSON; refuses what is not a regular file or too large, unread."""
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise RecordError("not a regular file")
    if st.st_size > MAX_RECORD:
        raise RecordError(f"{st.st_size} bytes, larger than any record")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise RecordError("JSON nested too deep") from None


def key_path(meta_dir: Path, key: str) -> Path:
    """Where Snakemake keeps the record (or marker) of ``key`` below ``meta_dir``.

    The name is the urlsafe base64 of the key. Snakemake cuts a name longer than NAME_MAX into
    parts of NAME_MAX - 1 characters and prefixes each part but the last with ``@``
    (``FilePersistence._record_path``): they become sub-directories.
    """
    name = base64.urlsafe_b64encode(key.encode()).decode()
    size = _name_max(meta_dir) - 1
    parts = [name[i : i + size] for i in range(0, len(name), size)]
    return meta_dir.joinpath(*("@" + p for p in parts[:-1]), parts[-1])


def _name_max(meta_dir: Path) -> int:
    """NAME_MAX where the records live, as Snakemake asks for it (255 if unknown)."""
    if os.name != "posix":
        return 255
    d = meta_dir
    while not d.exists() and d != d.parent:
        d = d.parent
    try:
        return os.pathconf(d, "PC_NAME_MAX") or 255
    except (OSError, ValueError):
        return 255


def read_record(workdir: Path, output: str) -> MetadataRecord | None:
    """The record Snakemake wrote for ``output`` (as written in the rule), if any.

    Looks in the file backend first, then in ``.snakemake/metadata.db``.
    """
    base = Path(workdir) / ".snakemake"
    path = key_path(base / "metadata", output)
    if path.is_file():
        try:
            return MetadataRecord.from_json(output, _load(path))
        except (OSError, ValueError):
            return None
    for rec in _db_records(base / "metadata.db", output):
        if rec.output == output:
            return rec
    return None


def iter_records(workdir: Path, skipped: list[str] | None = None) -> Iterator[MetadataRecord]:
    """Every record of a working directory, file backend and database backend.

    A record that cannot be read or has the wrong shape is left out; with ``skipped``, one
    line saying which and why is appended for each.
    """
    meta_dir = Path(workdir) / ".snakemake" / "metadata"
    note = skipped.append if skipped is not None else (lambda _: None)
    if meta_dir.is_dir():
        for p in sorted(meta_dir.rglob("*")):
            if p.is_dir():
                continue
            name = "".join(s.removeprefix("@") for s in p.relative_to(meta_dir).parts)
            shown = f".snakemake/metadata/{name[:60]}"
            try:
                key = base64.urlsafe_b64decode(name.encode()).decode()
            except ValueError:
                continue  # not a record's name (Snakemake's own bookkeeping)
            shown += f" ({printable(key)[:120]})"
            try:
                yield MetadataRecord.from_json(key, _load(p))
            except RecordError as exc:
                note(f"{shown}: {exc}")
            except json.JSONDecodeError:
                note(f"{shown}: not JSON")
            except (OSError, ValueError) as exc:
                note(f"{shown}: {getattr(exc, 'strerror', None) or exc}")
    yield from _db_records(Path(workdir) / ".snakemake" / "metadata.db", None, note)


def _db_records(
    db_path: Path, target: str | None, note: Callable[[str], None] = lambda _: None
) -> Iterator[MetadataRecord]:
    """Records of the experimental ``--persistence-backend db`` (table snakemake_metadata)."""
    if not db_path.is_file():
        return
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    except sqlite3.Error:
        return
    try:
        con.row_factory = sqlite3.Row
        kind = con.execute(
            "SELECT type FROM sqlite_master WHERE name = 'snakemake_metadata'"
        ).fetchone()
        if kind is None or kind[0] != "table":  # a view would run its SQL: never read one
            if kind is not None:
                note(
                    f".snakemake/metadata.db: snakemake_metadata is a {kind[0]}, not a "
                    "table (not read)"
                )
            return
        sql = "SELECT * FROM snakemake_metadata"
        rows = con.execute(
            sql + (" WHERE target = ?" if target else ""), (target,) if target else ()
        ).fetchall()
    except sqlite3.Error:
        rows = []
    finally:
        con.close()
    for r in rows:
        d = {k: r[k] for k in r.keys()}  # noqa: SIM118 - sqlite3.Row
        for k in ("input", "log", "params", "input_checksums"):
            if isinstance(d.get(k), str):
                try:
                    d[k] = json.loads(d[k])
                except (ValueError, RecursionError):
                    d[k] = None
        try:
            yield MetadataRecord.from_json(str(d.get("target")), d)
        except RecordError as exc:
            note(f".snakemake/metadata.db ({printable(str(d.get('target')))[:120]}): {exc}")
