"""Every file a crate describes, found from a selection: data the steps used and generated,
and the workflow code (Snakefile, included rule files, scripts, conda envs, config files).

Imports no rocrate; the graph is built from the :class:`Layout` in ``crate_graph``.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

from iscc_lineage.export.crate.engines import includes, snakefile_dir
from iscc_lineage.export.crate.place import Entry, crate_rel
from iscc_lineage.export.select import Selection
from iscc_lineage.locations import is_url
from iscc_lineage.model import Content, Run

__all__ = ["Layout", "gather", "recorded_steps"]


@dataclass(slots=True)
class Layout:
    """The entries of an export and how steps and runs refer to them."""

    entries: list[Entry] = field(default_factory=list)
    data: dict[tuple[str, str | None], Entry] = field(default_factory=dict)  #: (location, hash)
    code: dict[str, Entry] = field(default_factory=dict)  #: location -> code entry
    workflow: dict[str, Entry] = field(default_factory=dict)  #: run id -> its Snakefile
    script: dict[str, Entry] = field(default_factory=dict)  #: step id -> its code file
    env: dict[str, Entry] = field(default_factory=dict)  #: step id -> its conda env file
    configs: dict[str, list[Entry]] = field(default_factory=dict)  #: run id -> config files
    #: step id -> every code file it ran (shell-called scripts, imported modules, Snakefile)
    code_files: dict[str, list[Entry]] = field(default_factory=dict)

    def edge(self, location: str, datahash: str | None) -> Entry:
        """The entry standing for a step's input or output."""
        return self.data[(location, datahash)].resolved()


def gather(sel: Selection) -> Layout:
    """Collect entries in a stable order: per run its workflow code, then each step's files."""
    lay = Layout()
    order = count()
    by_key: dict[tuple[str, str | None], Entry] = {}

    def data(loc: str, content: Content | None, note: str | None, run: Run) -> Entry:
        h = content.datahash if content else None
        e = lay.data.get((loc, h))  # one location seen by runs with other working dirs
        if e is None:
            rel = crate_rel(loc, run.workdir, snakefile_dir(run))
            key = (rel, h or f"none:{loc}")  # one content at one crate path: one entity
            e = by_key.get(key)
            if e is None:
                e = by_key[key] = Entry(rel, loc, content, note)
                lay.entries.append(e)
            lay.data[(loc, h)] = e
        e.order = next(order)
        return e

    def code(loc: str, datahash: Any, run: Run) -> Entry:
        base = snakefile_dir(run)
        if not loc.startswith("/") and not is_url(loc):
            loc = posixpath.normpath(posixpath.join(base or run.workdir, loc))
        e = lay.code.get(loc)
        if e is None:
            recorded = datahash if isinstance(datahash, str) else None
            e = lay.code[loc] = Entry(
                crate_rel(loc, run.workdir, base),
                loc,
                sel.contents.get(recorded) if recorded else None,
                code=True,
                recorded=recorded,
            )
            lay.entries.append(e)
        e.order = next(order)
        return e

    for run in sel.runs:
        if not snakefile_dir(run):
            continue
        assert run.workflow is not None
        lay.workflow[run.id] = code(run.workflow, run.info.get("snakefile_datahash"), run)
        for inc in includes(Path(run.workflow)):
            code(str(inc), None, run)
        for cf in run.info.get("configfiles") or ():
            if isinstance(cf, dict) and cf.get("path"):
                lay.configs.setdefault(run.id, []).append(
                    code(str(cf["path"]), cf.get("datahash"), run)
                )
    for step in sel.steps:
        run = sel.run_of(step)
        if step.code:
            lay.script[step.id] = code(step.code, step.code_datahash, run)
        for e in step.code_files:  # shipped as workflow code, so the crate re-runs
            lay.code_files.setdefault(step.id, []).append(code(e.path, e.datahash, run))
        env = _env_file(step.environment)
        if env:
            lay.env[step.id] = code(env, step.environment.get("conda_env_datahash"), run)
        for e in (*step.inputs, *step.outputs):
            data(e.path, sel.contents.get(e.datahash) if e.datahash else None, e.note, run)
    described = {h for _, h in lay.data}
    for loc, content in sel.targets:
        if content.datahash not in described:  # a --for file no selected step touched
            data(loc, content, None, sel.runs[-1])
    return lay


def _env_file(env: dict[str, Any]) -> str | None:
    path = env.get("conda_env_file")
    return (
        path
        if isinstance(path, str) and path and not path.startswith(("http:", "https:"))
        else None
    )


def recorded_steps(sel: Selection, runs: list[Run]) -> bytes:
    """A shell script of the recorded command lines of ``runs``, in the order they ran.

    The honest workflow description of runs without a Snakefile (``iscc-lineage record``
    sessions, or a Snakemake run whose Snakefile is gone): generated from the store at export
    time, it says which program ran on which files; manual steps are comments.
    """
    lines = [
        "#!/usr/bin/env bash",
        "# The steps below were recorded with iscc-lineage, in the order they ran. This",
        "# file was generated from the lineage store when the RO-Crate was exported; it is",
        "# a description of what ran, not a script that was run. Paths are as recorded.",
        "set -euo pipefail",
    ]
    for run in runs:
        lines += ["", _comment(f"run {run.id} ({run.status}), started {run.started}")]
        if run.command:
            lines.append(_comment(f"  recorded with: {run.command}"))
        for s in (s for s in sel.steps if s.run == run.id):
            lines += [
                "",
                _comment(
                    f"step {s.process or s.name} [{s.id}] {s.status} "
                    f"{s.started or ''} .. {s.ended or ''}"
                ),
            ]
            lines += [_comment(f"  used      {e.path}") for e in s.inputs]
            lines += [_comment(f"  generated {e.path}") for e in s.outputs]
            if s.command:
                lines.append(s.command)
            else:
                lines.append(_comment(f"(no command recorded: {s.code or 'a manual step'})"))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _comment(text: str) -> str:
    """A shell comment line, whatever the recorded text holds (a newline in a file name)."""
    return "# " + text.replace("\r", " ").replace("\n", " ").rstrip()
