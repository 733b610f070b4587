"""What a Snakemake job ran: its kind, code file, params and software environment.

No event carries params, script paths or conda environments; they come from the job's
``.snakemake/metadata`` record (:mod:`iscc_lineage.snakemake.metadata`). Script paths are
resolved against the directory of the Snakefile that defined the rule, which the record does
not name: we try the main Snakefile's directory, then directories holding included rule files.
Shared by live capture and post-hoc import.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iscc_lineage.snakemake.metadata import MetadataRecord

__all__ = ["CodeRef", "EnvFinder", "code_of", "environment_of", "params_of", "rule_dirs"]

_DIRECTIVE = re.compile(
    r"^\s*(?P<kind>script|notebook|wrapper|cwl|template_engine)\s*:\s*"
    r"(?P<arg>.+?)\s*$",
    re.S,
)
_SKIP_DIRS = frozenset(
    {".snakemake", ".git", ".iscc-lineage", "__pycache__", ".pixi", ".venv", "node_modules", ".tox"}
)
_SCRIPT_SUFFIXES = (".py", ".R", ".r", ".Rmd", ".jl", ".rs", ".sh", ".ipynb", ".bash")
_WRAPPER = re.compile(r"^(?:v\d[\w.]*|master|main)/(?:bio|utils|meta)/")
MAX_RULE_DIRS = 50  #: directories with rule files searched for relative script paths
MAX_ENV_FILES = 500  #: YAML files compared when looking for a conda environment's file
MAX_ENV_BYTES = 1 << 20
_EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"  #: Snakemake's hash when a job has no stack


@dataclass(frozen=True, slots=True)
class CodeRef:
    """The code a job ran: ``kind`` shell|script|notebook|wrapper|cwl|template_engine|run|unknown.

    ``path`` is the resolved file (scripts, notebooks, local wrappers); ``source`` the directive's
    argument as written when it could not be resolved to a file (a remote wrapper, an
    expression), so the record says what is missing rather than nothing.
    """

    kind: str
    path: Path | None = None
    source: str | None = None


def rule_dirs(snakefile: Path) -> list[Path]:
    """Directories a rule's relative ``script:`` path may be relative to, most likely first.

    The main Snakefile's directory, then every directory below it holding ``*.smk`` files or a
    ``Snakefile`` (included rule files), nearest first.
    """
    root = snakefile.parent
    found: list[Path] = [root]
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        here = Path(dirpath)
        if here != root and any(f.endswith(".smk") or f == "Snakefile" for f in filenames):
            found.append(here)
        if len(found) >= MAX_RULE_DIRS or len(here.relative_to(root).parts) >= 3:
            dirnames[:] = []
    return found


def code_of(record: MetadataRecord | None, shellcmd: str | None, search: list[Path]) -> CodeRef:
    """Classify the job's code and resolve a script / notebook / wrapper to a file if we can.

    The record's ``code`` is the rule's source lines after the directive keyword: for
    ``script: "s.py"`` on one line it includes ``script:``, for the argument on the next line
    it is only ``"s.py"``; for ``run:`` it is the block's statements.

    :param shellcmd: the job's shell command from ``JOB_INFO`` (None for non-shell rules).
    :param search: directories to resolve a relative path against (see :func:`rule_dirs`).
    """
    if shellcmd is not None or (record is not None and record.shellcmd is not None):
        return CodeRef("shell")
    code = record.code if record is not None else None
    if not code or not code.strip():
        return CodeRef("unknown")
    m = _DIRECTIVE.match(code)
    kind, arg = (m.group("kind"), m.group("arg")) if m else (None, code.strip())
    try:
        tree = ast.parse(arg, mode="eval")
    except SyntaxError:
        return CodeRef(kind or "run", None, arg if kind else None)  # statements: a run: block
    node = tree.body
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _classify(kind, node.value, search)
    # A path expression such as str(BASEDIR / "scripts/x.py"): try its string constants.
    # (Not a call like shell(...) or subprocess.run(...): that is a one-line run: block.)
    names = [
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and n.value.endswith(_SCRIPT_SUFFIXES)
    ]
    if not names or (kind is None and not _is_path_expr(node)):
        return CodeRef(kind or "run", None, arg if kind else None)
    found = _classify(kind, names[-1], search)
    return CodeRef(found.kind, found.path, arg)


def _is_path_expr(node: ast.expr) -> bool:
    if isinstance(node, (ast.BinOp, ast.JoinedStr)):
        return True
    if isinstance(node, ast.Call):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        return name in {"str", "Path", "join", "source_path", "format", "fspath"}
    return False


def _classify(kind: str | None, value: str, search: list[Path]) -> CodeRef:
    if kind == "wrapper" or (kind is None and _WRAPPER.match(value)):
        return _wrapper(value, search)
    if kind is None:
        kind = "notebook" if value.endswith(".ipynb") else "script"
    return _resolve(kind, value, search)


def _resolve(kind: str, value: str, search: list[Path]) -> CodeRef:
    if "://" in value:
        return CodeRef(kind, None, value)
    p = Path(value)
    candidates = [p] if p.is_absolute() else [d / p for d in search]
    for c in candidates:
        if c.is_file():
            return CodeRef(kind, Path(os.path.abspath(c)), None)
    return CodeRef(kind, None, value)


def _wrapper(value: str, search: list[Path]) -> CodeRef:
    # Remote wrappers (the default prefix) are fetched by Snakemake and not kept: we name them.
    # A local wrapper directory ("file:" prefix or a path) holds wrapper.py or wrapper.R.
    local = value.removeprefix("file://").removeprefix("file:")
    base = Path(local)
    dirs = [base] if base.is_absolute() else [d / base for d in search]
    for d in dirs:
        for name in ("wrapper.py", "wrapper.R"):
            if (d / name).is_file():
                return CodeRef("wrapper", Path(os.path.abspath(d / name)), None)
    return CodeRef("wrapper", None, value)


def params_of(record: MetadataRecord | None) -> dict[str, str]:
    """The job's params: Snakemake keeps sorted ``repr()`` strings without names ("0", "1", …)."""
    if record is None:
        return {}
    return {str(i): p for i, p in enumerate(record.params)}


class EnvFinder:
    """Finds the conda environment file behind a record's environment YAML, by content.

    The record holds the YAML text, not the file name (``conda:`` may be any expression), so
    we compare it with the YAML files below the workflow directory. Built lazily, once per run.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._by_text: dict[bytes, Path] | None = None

    def find(self, text: str) -> Path | None:
        """The file whose bytes are exactly ``text``, or None."""
        if self._by_text is None:
            self._by_text = self._scan()
        return self._by_text.get(text.encode("utf-8"))

    def _scan(self) -> dict[bytes, Path]:
        found: dict[bytes, Path] = {}
        seen = 0
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(
                d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".")
            )
            for name in sorted(filenames):
                if not name.endswith((".yaml", ".yml")):
                    continue
                seen += 1
                if seen > MAX_ENV_FILES:
                    return found
                p = Path(dirpath) / name
                try:
                    if p.stat().st_size <= MAX_ENV_BYTES:
                        found.setdefault(p.read_bytes(), Path(os.path.abspath(p)))
                except OSError:
                    continue
        return found


def environment_of(record: MetadataRecord | None, env_file: Path | None) -> dict[str, Any]:
    """The step's ``environment`` without fingerprints (the caller adds those)."""
    if record is None:
        return {}
    env: dict[str, Any] = {}
    if record.conda_env:
        env["conda_env_yaml"] = record.conda_env
        if env_file is not None:
            env["conda_env_file"] = env_file.as_posix()
    if record.container_img_url:
        env["container_img_url"] = record.container_img_url
    if record.software_stack_hash and record.software_stack_hash != _EMPTY_MD5:
        env["software_stack_hash"] = record.software_stack_hash
    return env
