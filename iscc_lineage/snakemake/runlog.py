"""Read Snakemake's per-run log files (``.snakemake/log/<time>.snakemake.log``), best effort.

Besides a live logger, these files are the only place that says **which run** produced a
metadata record: the header names the workflow id, command, Snakefile and config; job blocks
("localrule segment:" + indented fields) and "Finished jobid: N (Rule: r)" / "Error in rule r:"
lines say what ran, finished and failed. ``--quiet`` runs log the header only. The format is
Snakemake's human output (9.x), not an API: anything unrecognised is skipped, never fatal.
"""

from __future__ import annotations

import ast
import re
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from iscc_lineage.snakemake.events import WorkflowStarted, split_display

__all__ = ["LoggedJob", "RunLog", "iter_run_logs", "read_run_log"]

_NAME_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{6}\.\d+)\.snakemake\.log$")
_HEADER = re.compile(r"^  (?P<key>[A-Z][A-Za-z ()]+): (?P<value>.*)$")
_JOB = re.compile(r"^(?P<local>local)?(?P<kind>rule|checkpoint) (?P<rule>\S+):$")
_FIELD = re.compile(r"^    (?P<key>[a-z_]+): ?(?P<value>.*)$")
_FINISHED = re.compile(r"^Finished job(?:id:)? (?P<jobid>\d+)")
_ERROR = re.compile(r"^Error in rule (?P<rule>\S+):$")
_REMOVING = re.compile(r"^Removing output files of failed job (?P<rule>\S+) since")
_FAILED_RUN = ("Exiting because a job execution failed", "WorkflowError:")
_DONE_RUN = ("Complete log(s):", "Nothing to be done", "steps (100%) done")
_ELAPSED = re.compile(
    r"^Elapsed time: (?:(?P<days>\d+) days?, )?(?P<h>\d+):(?P<m>\d\d):"
    r"(?P<s>\d\d(?:\.\d+)?)\s*$",
    re.M,
)
ZONE_STEP = 900.0  #: time zone offsets are whole quarter hours
MAX_ZONE_OFFSET = 26 * 3600.0  #: UTC-12 to UTC+14
ZONE_TOLERANCE = 2.0  #: seconds between the file name's time and the file's clock (~0.02 seen)


@dataclass(frozen=True, slots=True)
class LoggedJob:
    """One job block of a run log: what Snakemake printed before running the job."""

    rule: str
    jobid: int | None
    outputs: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    log: tuple[str, ...] = ()
    benchmark: str | None = None
    wildcards: dict[str, str] = field(default_factory=dict)
    threads: int | None = None
    resources: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    is_checkpoint: bool = False
    local: bool = False


@dataclass(frozen=True, slots=True, eq=False)  # identity: one object per log file
class RunLog:
    """One run's log file, parsed: header fields, job blocks, finished and failed job ids."""

    path: Path
    started: float  #: epoch seconds (from the file name, local time as Snakemake wrote it)
    ended: float  #: epoch seconds (the file's last write)
    header: dict[str, str]
    jobs: tuple[LoggedJob, ...] = ()
    finished: frozenset[int] = frozenset()
    failed: frozenset[int] = frozenset()
    failed_outputs: frozenset[str] = frozenset()  #: also known under --quiet (no job ids)
    status: str = "incomplete"  #: finished | failed | incomplete (no end line: killed)

    @property
    def workflow_id(self) -> str:
        """The workflow id as uuid hex (the run id live capture uses), else one from the path."""
        text = self.header.get("Workflow ID", "")
        try:
            return uuid.UUID(text).hex
        except ValueError:
            return uuid.uuid5(uuid.NAMESPACE_URL, self.path.resolve().as_uri()).hex

    def workflow_started(self) -> WorkflowStarted:
        """The header as the ``WORKFLOW_STARTED`` event live capture would have seen."""
        h = self.header
        try:
            configs = ast.literal_eval(h.get("Config file(s)", "[]"))
        except (ValueError, SyntaxError):
            configs = []
        return WorkflowStarted(
            self.started,
            self.workflow_id,
            h.get("Snakefile"),
            h.get("Command"),
            h.get("Run directory"),
            tuple(str(c) for c in configs) if isinstance(configs, list) else (),
            h.get("Config MD5"),
            h.get("Snakemake version"),
            h.get("Host"),
            h.get("User"),
            h.get("Platform"),
            h.get("Python version"),
        )


MAX_LOG = 1 << 30  #: larger run logs are skipped unread (10^5 jobs log ~50 MB)


def iter_run_logs(workdir: Path, skipped: list[str] | None = None) -> Iterator[RunLog]:
    """Every readable run log of a working directory, oldest first.

    With ``skipped``, one line is appended per log left out (a FIFO, a device, too large).
    """
    log_dir = Path(workdir) / ".snakemake" / "log"
    if not log_dir.is_dir():
        return
    for p in sorted(log_dir.glob("*.snakemake.log")):
        why = _unreadable(p)
        found = read_run_log(p) if why is None else None
        if found is not None:
            yield found
        elif why is not None and skipped is not None:
            skipped.append(f".snakemake/log/{p.name}: {why}")


def _unreadable(path: Path) -> str | None:
    """Why a run log must not be read (checked before opening it), or None."""
    try:
        st = path.stat()
    except OSError as exc:
        return str(exc.strerror or exc)
    if not stat.S_ISREG(st.st_mode):
        return "a FIFO" if stat.S_ISFIFO(st.st_mode) else "not a regular file"
    if st.st_size > MAX_LOG:
        return f"larger than {MAX_LOG >> 20} MiB"
    return None


def read_run_log(path: Path) -> RunLog | None:
    """Parse one log file; None when it cannot be read (or is not a regular file, or too
    large: see :data:`MAX_LOG`)."""
    if _unreadable(path) is not None:
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(MAX_LOG + 1)
        mtime = path.stat().st_mtime
    except OSError:
        return None
    lines = text.splitlines()
    header = {m["key"]: m["value"].strip() for m in map(_HEADER.match, lines[:40]) if m}
    jobs: list[LoggedJob] = []
    finished: set[int] = set()
    failed: set[int] = set()
    failed_outputs: set[str] = set()
    i = 0
    while i < len(lines):
        line = lines[i]
        job, err = _JOB.match(line), _ERROR.match(line)
        if job or err:
            fields: dict[str, str] = {}
            i += 1
            while i < len(lines) and (m := _FIELD.match(lines[i])):
                fields.setdefault(m["key"], m["value"].strip())
                i += 1
            if job:
                jobs.append(_job(job, fields))
                continue
            failed_outputs.update(_files(fields.get("output")))
            if (jid := _int(fields.get("jobid"))) is not None:
                failed.add(jid)
            continue
        if m := _FINISHED.match(line):
            finished.add(int(m["jobid"]))
        elif _REMOVING.match(line):
            # One removed file per line follows (a name with a space ends the list: best effort).
            while i + 1 < len(lines) and lines[i + 1] and " " not in lines[i + 1]:
                i += 1
                failed_outputs.add(lines[i])
        i += 1
    status = (
        "failed"
        if failed or failed_outputs or any(s in text for s in _FAILED_RUN)
        else "finished"
        if any(s in text for s in _DONE_RUN)
        else "incomplete"
    )
    return RunLog(
        path,
        _started(path, header, mtime, text),
        mtime,
        header,
        tuple(jobs),
        frozenset(finished),
        frozenset(failed - finished),
        frozenset(failed_outputs),
        status,
    )


def _started(path: Path, header: dict[str, str], mtime: float, text: str) -> float:
    """The run's start: the file name's time, unless it was written in another time zone.

    The name (and the ``Date`` header) hold the *writer's* local time, read here in ours. A
    finished or failed run also logs its ``Elapsed time`` as the last line, so the file's
    clock gives the start without a zone: when the two differ by a whole zone offset
    (quarter hours, up to 14 h), the zones differed and the file's clock is right.
    """
    local = _local_start(path, header)
    m = _ELAPSED.search(text)
    if m is None:
        return mtime if local is None else local
    days = int(m["days"] or 0)
    clock = mtime - (days * 86400 + int(m["h"]) * 3600 + int(m["m"]) * 60 + float(m["s"]))
    if local is None:
        return clock
    delta = local - clock
    zone_shift = (
        ZONE_STEP / 2 < abs(delta) <= MAX_ZONE_OFFSET
        and abs(delta - round(delta / ZONE_STEP) * ZONE_STEP) <= ZONE_TOLERANCE
    )
    return clock if zone_shift else local


def _local_start(path: Path, header: dict[str, str]) -> float | None:
    m = _NAME_TIME.search(path.name)
    try:
        if m:
            return datetime.strptime(m.group(1), "%Y-%m-%dT%H%M%S.%f").timestamp()
        if "Date" in header:
            return datetime.strptime(header["Date"], "%Y-%m-%d %H:%M:%S").timestamp()
    except ValueError:
        pass
    return None


def _job(m: re.Match[str], f: dict[str, str]) -> LoggedJob:
    bench = _files(f.get("benchmark"))
    return LoggedJob(
        m["rule"],
        _int(f.get("jobid")),
        _files(f.get("output")),
        _files(f.get("input")),
        _files(f.get("log")),
        bench[0] if bench else None,
        _pairs(f.get("wildcards")),
        _int(f.get("threads")),
        _pairs(f.get("resources")),
        f.get("reason"),
        m["kind"] == "checkpoint",
        bool(m["local"]),
    )


def _files(value: str | None) -> tuple[str, ...]:
    # Printed as ", ".join(...): a file name containing ", " cannot be told apart (best effort).
    if not value:
        return ()
    return tuple(split_display(v).path for v in value.split(", ") if v)


def _pairs(value: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (value or "").split(", "):
        key, sep, val = part.partition("=")
        if sep and key:
            out[key.strip()] = val.strip()
    return out


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
