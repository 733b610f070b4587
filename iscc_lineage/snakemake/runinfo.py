"""The context of a Snakemake run: Snakefile and config fingerprints, git state, platform.

Built from ``WORKFLOW_STARTED`` into the run's ``info`` (the keys the briefing's contract
names). Everything here is best effort: a missing git or an unreadable config file leaves its
key out rather than failing the capture.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from iscc_lineage.errors import LineageError
from iscc_lineage.recorder import Recorder
from iscc_lineage.snakemake.events import WorkflowStarted

__all__ = ["git_state", "is_touch", "resolve_configfile", "run_info"]

GIT_TIMEOUT = 5.0
# Boolean short options of snakemake that argparse lets one combine with -t ("-pt").
_SHORT_TOUCH = re.compile(r"-[nkfFpt]*t[nkfFpt]*")


def is_touch(cmd: str | None) -> bool:
    """Whether the command line asks for ``--touch`` (``-t``, also in ``-pt``).

    A ``touch: true`` in a profile is not visible in the command line (a known gap).
    """
    if not cmd:
        return False
    try:
        words = shlex.split(cmd)
    except ValueError:
        words = cmd.split()
    return any(w == "--touch" or _SHORT_TOUCH.fullmatch(w) for w in words[1:])


def resolve_configfile(name: str, dirs: list[Path]) -> Path | None:
    """A config file named in the event, found in the first of ``dirs`` that has it."""
    p = Path(name)
    for c in [p] if p.is_absolute() else [d / p for d in dirs]:
        if c.is_file():
            return Path(os.path.abspath(c))
    return None


def git_state(directory: Path) -> dict[str, Any] | None:
    """``{commit, dirty, remote}`` of the git work tree holding ``directory``, or None.

    Credentials in the remote URL are dropped. ``GIT_OPTIONAL_LOCKS=0`` keeps ``git status``
    from taking the index lock under a user's concurrent git command.
    """
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(directory), *args],
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT,
                env=env,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    remote = git("remote", "get-url", "origin")
    return {
        "commit": commit,
        "dirty": bool(status) if status is not None else None,
        "remote": _strip_credentials(remote) if remote else None,
    }


def _strip_credentials(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def run_info(
    ev: WorkflowStarted, workdir: Path, recorder: Recorder, *, touch: bool
) -> dict[str, Any]:
    """The run's ``info``: engine, versions, Snakefile and config fingerprints, git, launch dir."""
    info: dict[str, Any] = {"engine": "snakemake", "imported": False}
    if ev.snakemake_version:
        info["snakemake_version"] = ev.snakemake_version
    snakefile = Path(ev.snakefile) if ev.snakefile else None
    if snakefile is not None:
        with suppress(LineageError):
            info["snakefile_datahash"] = recorder.fingerprint(snakefile).datahash
    dirs = [workdir]
    if ev.rundir:
        dirs.append(Path(ev.rundir))
    if snakefile is not None:
        dirs.append(snakefile.parent)
    configs = []
    for name in ev.configfiles:
        found = resolve_configfile(name, dirs)
        entry: dict[str, Any] = {"path": found.as_posix() if found else name, "datahash": None}
        if found is not None:
            with suppress(LineageError):
                entry["datahash"] = recorder.fingerprint(found).datahash
        configs.append(entry)
    info["configfiles"] = configs
    if ev.config_md5:
        info["config_md5"] = ev.config_md5
    if snakefile is not None:
        git = git_state(snakefile.parent)
        if git is not None:
            info["git"] = git
    if ev.python_version:
        info["python_version"] = ev.python_version.split()[0]
    if ev.platform:
        info["platform"] = ev.platform
    if ev.rundir:
        info["launch_dir"] = Path(os.path.abspath(ev.rundir)).as_posix()
    if touch:
        info["touch"] = True
    return info
