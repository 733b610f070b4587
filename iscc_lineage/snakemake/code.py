"""What code a Snakemake job ran: the files, the ``run:`` source, and the named params.

Two sources, best first:

* the **live job** in Snakemake's own process (the logger plugin runs there): the module
  global ``snakemake.workflow.workflow`` is the running :class:`Workflow`, its DAG maps job ids
  to jobs, and a job's rule knows its ``script:``/``notebook:``/``wrapper:`` path, its ``run:``
  source and its params *with their names*. Read only values Snakemake has already computed
  (never call a param function from our thread); everything is copied into plain values.
* **static reading** of the recorded text, usable post hoc too: files of the workflow that a
  shell command names (scripts and macros, by extension, that exist below the workflow or
  working folder), and the workflow's own Python modules that a script imports (``ast``
  imports resolved against the script's folder and the workflow folder; anything else is
  environment, not code).

Never imports snakemake: the live objects are reached through ``sys.modules`` only when
Snakemake itself loaded them.

The live job is read in :mod:`.code_live`, the static reading is :mod:`.code_static`; this
module joins them into one job's code (:class:`CodeFinder`) and keeps every name importable here.
"""

from __future__ import annotations

import ast
import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iscc_lineage.snakemake.code_live import LiveJob, LiveJobs, plain_value
from iscc_lineage.snakemake.code_static import (
    CODE_NOTE,
    CODE_SUFFIXES,
    MAX_MODULES,
    MAX_SCRIPT_BYTES,
    CodeFile,
    code_role,
    local_imports,
    shell_files,
    shell_programs,
)

__all__ = [
    "CODE_NOTE",
    "CODE_SUFFIXES",
    "MAX_CODE_FILES",
    "MAX_MODULES",
    "MAX_SCRIPT_BYTES",
    "CodeFile",
    "CodeFinder",
    "JobCode",
    "LiveJob",
    "LiveJobs",
    "code_role",
    "local_imports",
    "plain_value",
    "shell_files",
    "shell_programs",
]

_TOP_IMPORT = re.compile(r"^(?:import|from)\s+[\w.]+.*$", re.MULTILINE)
MAX_CODE_FILES = 500  #: per step


@dataclass(frozen=True, slots=True)
class JobCode:
    """The code one job ran, with the params it was given, as plain values."""

    kind: str
    files: tuple[CodeFile, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    params_named: bool = False  #: names come from the live job (else positional, "0".."n")
    run_source: str | None = None
    programs: tuple[str, ...] = ()  #: programs the shell command (or run: shell()) starts


class CodeFinder:
    """Finds the code of each job of one run; parses each file once (cached by stat)."""

    def __init__(self, workflow_dir: Path, workdir: Path) -> None:
        self.roots = [workflow_dir] if workflow_dir == workdir else [workflow_dir, workdir]
        self.workdir = workdir
        self._imports: dict[tuple[str, int, int], list[Path]] = {}
        self._tops: dict[str, str] = {}

    def imports(self, path: Path) -> list[Path]:
        try:
            st = path.stat()
        except OSError:
            return []
        key = (path.as_posix(), st.st_size, st.st_mtime_ns)
        found = self._imports.get(key)
        if found is None:
            found = self._imports[key] = local_imports(path, self._roots_for(path))
        return found

    def _roots_for(self, path: Path) -> list[Path]:
        return [*self.roots, path.parent] if path.parent not in self.roots else self.roots

    def _top_imports(self, rule_file: Path) -> str:
        key = rule_file.as_posix()
        if key not in self._tops:
            try:
                text = rule_file.read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            self._tops[key] = "\n".join(m.group(0) for m in _TOP_IMPORT.finditer(text))
        return self._tops[key]

    def job(
        self,
        *,
        kind: str,
        script: Path | None,
        shellcmd: str | None,
        live: LiveJob | None,
        params: dict[str, Any],
        data: set[str],
    ) -> JobCode:
        """Everything a job ran: its script, shell-named files, ``run:`` source, modules.

        :param kind: the job's kind when there is no live job (from the metadata record).
        :param script: the resolved ``script:``/``notebook:``/``wrapper:`` file, if any.
        :param params: positional params from the metadata record (used without a live job).
        :param data: absolute paths of the job's inputs and outputs (never counted as code).
        """
        files: dict[Path, str] = {}
        if live is not None:
            kind = live.kind
            if live.script and "://" not in live.script and Path(live.script).is_file():
                script = Path(os.path.abspath(live.script))
        if script is not None and script.is_file():
            files[script] = kind if kind in ("script", "notebook", "wrapper") else "script"
        programs: list[str] = []
        for cmd in (shellcmd,):
            if cmd:
                programs += shell_programs(cmd)
                for f in shell_files(cmd, self.roots, self.workdir, data):
                    files.setdefault(f, "shell")
        run_source = live.run_source if live is not None and kind == "run" else None
        if run_source:
            rule_file = Path(live.rule_file) if live and live.rule_file else None
            if rule_file is not None and rule_file.is_file():
                files.setdefault(Path(os.path.abspath(rule_file)), "run")
            # shell("python x.py") in a run: block
            for text in _string_constants(textwrap.dedent(run_source)):
                programs += shell_programs(text) if " " in text else []
                for f in shell_files(text, self.roots, self.workdir, data):
                    files.setdefault(f, "shell")
            base = rule_file or (self.roots[0] / "Snakefile")
            tops = self._top_imports(rule_file) if rule_file is not None else ""
            source = tops + "\n" + textwrap.dedent(run_source)
            for m in local_imports(base, self._roots_for(base), source=source):
                files.setdefault(m, "module")
        for f, role in list(files.items()):
            if role != "module" and f.suffix in (".py", ".py3"):
                for m in self.imports(f):
                    files.setdefault(m, "module")
        if kind in ("script", "notebook") and script is not None and script.suffix == ".ipynb":
            pass  # notebook imports are not read (cells are JSON)
        named = live is not None and bool(live.params or not params)
        out = tuple(
            CodeFile(p, r)
            for p, r in list(files.items())[:MAX_CODE_FILES]
            if p.as_posix() not in data
        )
        return JobCode(
            kind,
            out,
            dict(live.params) if named and live else params,
            named,
            run_source,
            tuple(dict.fromkeys(programs)),
        )


def _string_constants(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            out.append(
                "".join(
                    v.value
                    for v in node.values
                    if isinstance(v, ast.Constant) and isinstance(v.value, str)
                )
            )
    return out
