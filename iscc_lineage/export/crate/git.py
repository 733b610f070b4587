"""Permalinks of workflow files at the commit a run used, from the run's recorded git info.

A rule gets an absolute ``@id`` (``https://github.com/org/repo/blob/<commit>/Snakefile#rule-x``)
only when the run knew a remote and a commit and the tree was clean: a permalink to an edited
tree would point at code that did not run. Reads no git objects and runs no git; the
repository root is the nearest folder above the Snakefile holding ``.git``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["permalink", "web_remote"]

_SCP = re.compile(r"^(?:[\w.-]+@)?([\w.-]+):(?!//)(.+)$")  # git@host:org/repo.git


def web_remote(remote: str) -> str | None:
    """The https address of a git remote (``git@github.com:o/r.git`` -> ``https://github.com/o/r``)."""
    remote = remote.strip()
    if remote.startswith(("https://", "http://")):
        url = re.sub(r"^http://", "https://", remote)
        url = re.sub(r"//[^/@]+@", "//", url)  # drop credentials
    elif remote.startswith("ssh://"):
        url = "https://" + re.sub(r"^ssh://(?:[^/@]+@)?([^/:]+)(?::\d+)?/", r"\1/", remote)
    elif m := _SCP.match(remote):
        url = f"https://{m.group(1)}/{m.group(2)}"
    else:
        return None
    return url.removesuffix("/").removesuffix(".git")


def permalink(git: Any, path: str) -> str | None:
    """The web address of ``path`` (a file in the repository) at the recorded commit, or None.

    :param git: the run's ``info["git"]``: ``{commit, dirty, remote}``.
    """
    if not isinstance(git, dict) or git.get("dirty") or not isinstance(git.get("commit"), str):
        return None
    remote = web_remote(git["remote"]) if isinstance(git.get("remote"), str) else None
    root = next((p for p in Path(path).parents if (p / ".git").exists()), None)
    if remote is None or root is None:
        return None
    rel = Path(path).relative_to(root).as_posix()
    commit = git["commit"]
    if "gitlab" in remote:
        return f"{remote}/-/blob/{commit}/{rel}"
    if "codeberg.org" in remote or "gitea" in remote:
        return f"{remote}/src/commit/{commit}/{rel}"
    if "bitbucket.org" in remote:
        return f"{remote}/src/{commit}/{rel}"
    return f"{remote}/blob/{commit}/{rel}"
