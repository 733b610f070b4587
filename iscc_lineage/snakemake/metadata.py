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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["MetadataRecord", "iter_records", "key_path", "read_record"]


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
    def from_json(cls, output: str, d: dict[str, Any]) -> MetadataRecord:
        env = d.get("conda_env")
        if env:
            try:
                env = base64.b64decode(env).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                env = None
        return cls(
            output=output,
            rule=str(d.get("rule") or ""),
            input=tuple(d.get("input") or ()),
            log=tuple(d.get("log") or ()),
            shellcmd=d.get("shellcmd"),
            params=tuple(str(p) for p in d.get("params") or ()),
            code=d.get("code"),
            conda_env=env,
            container_img_url=d.get("container_img_url"),
            software_stack_hash=d.get("software_stack_hash"),
            job_hash=d.get("job_hash"),
            starttime=d.get("starttime"),
            endtime=d.get("endtime"),
            incomplete=bool(d.get("incomplete")),
            external_jobid=d.get("external_jobid"),
            input_checksums=dict(d.get("input_checksums") or {}),
        )


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
            return MetadataRecord.from_json(output, json.loads(path.read_text()))
        except (OSError, ValueError):
            return None
    for key, rec in _db_records(base / "metadata.db", output):
        if key == output:
            return rec
    return None


def iter_records(workdir: Path) -> Iterator[MetadataRecord]:
    """Every record of a working directory, file backend and database backend."""
    meta_dir = Path(workdir) / ".snakemake" / "metadata"
    if meta_dir.is_dir():
        for p in sorted(meta_dir.rglob("*")):
            if not p.is_file():
                continue
            name = "".join(s.removeprefix("@") for s in p.relative_to(meta_dir).parts)
            try:
                key = base64.urlsafe_b64decode(name.encode()).decode()
                yield MetadataRecord.from_json(key, json.loads(p.read_text()))
            except (OSError, ValueError):
                continue
    for _, rec in _db_records(Path(workdir) / ".snakemake" / "metadata.db", None):
        yield rec


def _db_records(db_path: Path, target: str | None) -> Iterator[tuple[str, MetadataRecord]]:
    """Records of the experimental ``--persistence-backend db`` (table snakemake_metadata)."""
    if not db_path.is_file():
        return
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    except sqlite3.Error:
        return
    try:
        con.row_factory = sqlite3.Row
        sql = "SELECT * FROM snakemake_metadata"
        rows = con.execute(sql + (" WHERE target = ?" if target else ""),
                           (target,) if target else ()).fetchall()
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
                except ValueError:
                    d[k] = None
        yield str(d["target"]), MetadataRecord.from_json(str(d["target"]), d)
