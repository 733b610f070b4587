"""Snakemake log records -> typed, plain event values (no live Snakemake objects survive).

Snakemake logs its events as :class:`logging.LogRecord` objects whose extra attributes carry the
payload (``record.event`` is a ``LogEvent`` string enum). :func:`parse` copies what lineage
needs into frozen dataclasses at once, because the records hold live objects (``wildcards``,
``resources``, group jobs) that change under us. File names arrive as display strings with
suffixes such as ``" (pipe)"``; :func:`split_display` strips only the known ones and keeps the
flag. Never imports snakemake.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from logging import LogRecord
from typing import Any

__all__ = [
    "Error",
    "Event",
    "FileRef",
    "GroupInfo",
    "Interrupted",
    "JobError",
    "JobFinished",
    "JobInfo",
    "Plain",
    "WorkflowStarted",
    "parse",
    "split_display",
]

# fmt_iofile (snakemake/io/fmt.py): "<path> (<label>[, <storage phrase>])" or "<path> (<phrase>)"
_LABEL = r"pipe|service|nodelocal|update|before update|cached|access: [^()]*"
_STORAGE = r"retrieve from storage|only provide storage uri|send to storage|in storage"
_SUFFIX = re.compile(
    rf" \((?:(?P<label>{_LABEL})(?:, (?P<storage>{_STORAGE}))?|(?P<only>{_STORAGE}))\)$"
)


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file as Snakemake showed it: the path (or storage query) and its display flags."""

    path: str
    label: str | None = None  #: "pipe", "service", "update", "cached", "access: …", …
    storage: str | None = None  #: "retrieve from storage", "send to storage", …

    @property
    def is_stream(self) -> bool:
        """A FIFO (``pipe()`` / ``service()``): it has no content to fingerprint."""
        return self.label in ("pipe", "service")


def split_display(text: str) -> FileRef:
    """Strip one known display suffix from a file string (a real name may end in ``(...)``)."""
    m = _SUFFIX.search(text)
    if m is None:
        return FileRef(text)
    return FileRef(text[: m.start()], m.group("label"), m.group("storage") or m.group("only"))


@dataclass(frozen=True, slots=True)
class WorkflowStarted:
    """``WORKFLOW_STARTED``: the run's identity and context (``cwd`` may be stale)."""

    created: float
    workflow_id: str
    snakefile: str | None
    cmd: str | None
    rundir: str | None
    configfiles: tuple[str, ...]
    config_md5: str | None
    snakemake_version: str | None
    host: str | None
    user: str | None
    platform: str | None
    python_version: str | None


@dataclass(frozen=True, slots=True)
class JobInfo:
    """``JOB_INFO``: a job is about to run (or to be touched)."""

    created: float
    jobid: int
    rule: str
    input: tuple[FileRef, ...]
    output: tuple[FileRef, ...]
    log: tuple[FileRef, ...]
    benchmark: FileRef | None
    wildcards: dict[str, str]
    threads: int | None
    resources: dict[str, Any]
    reason: str | None
    shellcmd: str | None
    is_checkpoint: bool
    local: bool | None
    rule_msg: str | None = None


@dataclass(frozen=True, slots=True)
class JobFinished:
    """``JOB_FINISHED``: only the id (postprocessing and metadata are done)."""

    created: float
    jobid: int


@dataclass(frozen=True, slots=True)
class JobError:
    """``JOB_ERROR`` (the id field is ``jobid`` here, unlike ``JOB_FINISHED``)."""

    created: float
    jobid: int
    rule: str | None
    container_img: str | None = None
    conda_env: str | None = None


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """``GROUP_INFO``: the member job ids of a group job."""

    created: float
    group_id: str
    jobids: tuple[int, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Error:
    """``ERROR``: an exception Snakemake reported (a failed job or a failed run)."""

    created: float
    exception: str | None


@dataclass(frozen=True, slots=True)
class Plain:
    """A record without an event: temp removals ("Removing temporary output X.") and cluster
    submissions ("Job 5 has been submitted with SLURM jobid 812 (log: …)."): the external job
    id reaches logger plugins only as this text (snakemake-logger-plugin-snkmt#18)."""

    created: float
    removed_temp: str | None = None
    submitted: tuple[int, str, str] | None = None  #: (Snakemake jobid, external id, executor)


@dataclass(frozen=True, slots=True)
class Interrupted:
    """Snakemake's "Terminating processes on user request" (Ctrl-C, SIGTERM)."""

    created: float


Event = WorkflowStarted | JobInfo | JobFinished | JobError | GroupInfo | Error | Plain | Interrupted

_TERMINATING = "Terminating processes on user request"
_REMOVED_TEMP = re.compile(r"^Removing temporary output (?P<path>.+)\.$")
_SUBMITTED = (
    # snakemake-executor-plugin-slurm 1.x-2.x
    (
        re.compile(r"^Job (?P<jobid>\d+) has been submitted with SLURM jobid (?P<ext>[\w.-]+)"),
        "slurm",
    ),
    # snakemake-executor-plugin-cluster-generic
    (
        re.compile(
            r"^Submitted (?:group )?job (?P<jobid>\d+) with external jobid '(?P<ext>[^']+)'"
        ),
        "cluster-generic",
    ),
)


def parse(record: LogRecord) -> Event | None:
    """The event a record carries, as plain values; None for records lineage does not use."""
    kind = getattr(record, "event", None)
    created = float(record.created)
    if kind is None:
        msg = record.msg if isinstance(record.msg, str) else ""
        m = _REMOVED_TEMP.match(msg)
        if m:
            return Plain(created, removed_temp=m.group("path"))
        for pattern, executor in _SUBMITTED:
            s = pattern.match(msg)
            if s:
                return Plain(created, submitted=(int(s.group("jobid")), s.group("ext"), executor))
        return Interrupted(created) if msg.startswith(_TERMINATING) else None
    parser = _PARSERS.get(str(getattr(kind, "value", kind)))
    return parser(record, created) if parser is not None else None


def _workflow_started(r: LogRecord, created: float) -> WorkflowStarted:
    wid = getattr(r, "workflow_id", None)
    wid_text = wid.hex if isinstance(wid, uuid.UUID) else str(wid or uuid.uuid4().hex)
    return WorkflowStarted(
        created,
        wid_text.replace("-", ""),
        _str(getattr(r, "snakefile_main", None)),
        _str(getattr(r, "cmd", None)),
        _str(getattr(r, "rundir", None)),
        tuple(str(c) for c in getattr(r, "configfiles", ()) or ()),
        _str(getattr(r, "config_md5", None)),
        _str(getattr(r, "snakemake_version", None)),
        _str(getattr(r, "host", None)),
        _str(getattr(r, "user", None)),
        _str(getattr(r, "platform", None)),
        _str(getattr(r, "python_version", None)),
    )


def _job_info(r: LogRecord, created: float) -> JobInfo:
    bench = getattr(r, "benchmark", None)
    if isinstance(bench, (list, tuple)):  # the interface's own tests pass a list
        bench = bench[0] if bench else None
    threads = getattr(r, "threads", None)
    return JobInfo(
        created,
        int(getattr(r, "jobid")),  # noqa: B009 - LogRecord extras are dynamic
        str(getattr(r, "rule_name", "") or ""),
        _files(getattr(r, "input", None)),
        _files(getattr(r, "output", None)),
        _files(getattr(r, "log", None)),
        split_display(str(bench)) if bench else None,
        {str(k): str(v) for k, v in dict(getattr(r, "wildcards", None) or {}).items()},
        int(threads) if isinstance(threads, int) else None,
        plain_mapping(getattr(r, "resources", None)),
        _str(getattr(r, "reason", None)),
        _str(getattr(r, "shellcmd", None)),
        bool(getattr(r, "is_checkpoint", False)),
        getattr(r, "local", None),
        _str(getattr(r, "rule_msg", None)),
    )


def _job_finished(r: LogRecord, created: float) -> JobFinished:
    return JobFinished(created, int(getattr(r, "job_id")))  # noqa: B009


def _job_error(r: LogRecord, created: float) -> JobError:
    return JobError(
        created,
        int(getattr(r, "jobid")),  # noqa: B009 - LogRecord extras are dynamic
        _str(getattr(r, "rule_name", None)),
        _str(getattr(r, "container_img", None)),
        _str(getattr(r, "conda_env", None)),
    )


def _group_info(r: LogRecord, created: float) -> GroupInfo:
    ids = []
    for job in getattr(r, "jobs", None) or ():
        jobid = getattr(job, "jobid", job)  # live Job objects; plain ids in synthetic records
        if isinstance(jobid, int):
            ids.append(jobid)
    return GroupInfo(created, str(getattr(r, "group_id", "")), tuple(sorted(ids)))


def _error(r: LogRecord, created: float) -> Error:
    return Error(created, _str(getattr(r, "exception", None)))


_PARSERS: dict[str, Callable[[LogRecord, float], Event]] = {
    "workflow_started": _workflow_started,
    "job_info": _job_info,
    "job_finished": _job_finished,
    "job_error": _job_error,
    "group_info": _group_info,
    "error": _error,
}


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _files(value: Any) -> tuple[FileRef, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        value = [value]
    return tuple(split_display(str(v)) for v in value)


def plain_mapping(value: Any) -> dict[str, Any]:
    """A live Snakemake resources object (or any mapping) as JSON-ready values.

    Private entries (``_cores``, ``_nodes``) are left out; unknown values become strings.
    """
    items: Any = getattr(value, "items", None)
    if not callable(items):
        return {}
    out: dict[str, Any] = {}
    try:
        pairs = list(items())
    except Exception:  # a live object in an odd state must not cost us the job
        return {}
    for key, val in pairs:
        name = str(key)
        if name.startswith("_"):
            continue
        val = getattr(val, "value", val)
        out[name] = val if isinstance(val, (str, int, float, bool)) or val is None else str(val)
    return out
