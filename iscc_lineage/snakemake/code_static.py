"""Static reading of code: files a shell command names, a script's local Python imports."""

from __future__ import annotations

import ast
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CODE_NOTE",
    "CODE_SUFFIXES",
    "MAX_MODULES",
    "MAX_SCRIPT_BYTES",
    "CodeFile",
    "code_role",
    "local_imports",
    "shell_files",
    "shell_programs",
]

#: prefix of the observation note of a code content (``code: script``, ``code: module``, ...)
CODE_NOTE = "code: "
#: file name endings of scripts and macros a shell command may run
CODE_SUFFIXES = (
    ".py",
    ".R",
    ".r",
    ".Rmd",
    ".sh",
    ".bash",
    ".zsh",
    ".ijm",
    ".bsh",
    ".groovy",
    ".m",
    ".jl",
    ".pl",
    ".rb",
    ".js",
    ".awk",
    ".sed",
    ".ipynb",
    ".java",
    ".lua",
    ".nf",
    ".wdl",
    ".cwl",
    ".mac",
    ".txt.ijm",
    ".py3",
    ".tcl",
    ".cmd",
)
_SKIP_PARTS = frozenset(
    {
        ".snakemake",
        ".git",
        ".iscc-lineage",
        "__pycache__",
        ".venv",
        ".pixi",
        "site-packages",
        "node_modules",
    }
)
#: words after which the next word is the program (keywords, wrappers)
_PASS_WORDS = frozenset(
    {
        "if",
        "then",
        "else",
        "elif",
        "for",
        "while",
        "until",
        "do",
        "case",
        "in",
        "function",
        "time",
        "!",
        "{",
        "[[",
        "command",
        "builtin",
        "exec",
        "env",
        "nohup",
        "xargs",
        "sudo",
        "nice",
        "stdbuf",
        "timeout",
    }
)
#: builtins: the simple command starts no program
_BUILTINS = frozenset(
    {
        "fi",
        "done",
        "esac",
        "}",
        "]]",
        "[",
        "export",
        "set",
        "cd",
        "echo",
        "exit",
        "true",
        "false",
        "local",
        "return",
        "source",
        ".",
        "eval",
        "test",
        "read",
        "printf",
        "shift",
        "unset",
        "trap",
        "wait",
        "ulimit",
        "umask",
        "declare",
        "readonly",
        "let",
        "type",
        "alias",
        "pushd",
        "popd",
        "break",
        "continue",
        ":",
    }
)
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
MAX_MODULES = 200  #: bound on the transitive local-import walk of one script
MAX_SCRIPT_BYTES = 4 << 20  #: larger "scripts" are not parsed for imports


def code_role(note: str | None) -> str | None:
    """The code role of an observation note (``script``, ``module``, ...), or None."""
    if note and note.startswith(CODE_NOTE):
        return note[len(CODE_NOTE) :].split(";", 1)[0].strip()
    return None


@dataclass(frozen=True, slots=True)
class CodeFile:
    """A file of code a step ran. ``role``: script, notebook, wrapper, shell, module, run."""

    path: Path
    role: str

    @property
    def note(self) -> str:
        return CODE_NOTE + self.role


# -- static reading ---------------------------------------------------------------------------


def _words(cmd: str) -> list[list[str]]:
    """The simple commands of a shell command line as word lists (best effort, never raises)."""
    lex = shlex.shlex(cmd, posix=True, punctuation_chars=";&|()<>")
    lex.whitespace_split = True
    lex.commenters = ""
    out: list[list[str]] = [[]]
    try:
        for tok in lex:
            if tok and set(tok) <= set(";&|()<>"):
                out.append([])
            else:
                out[-1].append(tok)
    except ValueError:  # unbalanced quotes: fall back to whitespace words
        return [cmd.split()]
    return [w for w in out if w]


def shell_programs(cmd: str) -> list[str]:
    """The programs a shell command starts: the first word of each simple command.

    Shell keywords and builtins are skipped, ``VAR=value`` prefixes too, and wrapper words
    (``env``, ``nohup``, ``xargs``, ``time``) give way to the word after them.
    """
    progs: list[str] = []
    for words in _words(cmd):
        for w in words:
            if _ASSIGN.match(w) or w in _PASS_WORDS or w.startswith("-") or w.isdigit():
                continue
            if w not in _BUILTINS and w not in progs:
                progs.append(w)
            break
    return progs


def _under(path: Path, roots: list[Path]) -> bool:
    for r in roots:
        try:
            rel = path.relative_to(r)
        except ValueError:
            continue
        if not _SKIP_PARTS.intersection(rel.parts):
            return True
    return False


def shell_files(
    cmd: str,
    roots: list[Path],
    cwd: Path,
    exclude: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[Path]:
    """Files of the workflow that a shell command names: scripts and macros it runs.

    A word (or the value of ``--opt=value``) counts when it ends with a code suffix, is an
    existing file, and lies below one of ``roots`` (the workflow and working folders) outside
    ``.snakemake`` and environments. ``exclude`` holds absolute paths of the job's own inputs
    and outputs (data, not code).
    """
    found: list[Path] = []
    for words in _words(cmd):
        for w in words:
            cand = w.split("=", 1)[1] if w.startswith("-") and "=" in w else w
            if not cand.endswith(CODE_SUFFIXES) or "://" in cand:
                continue
            p = Path(os.path.abspath(os.path.join(cwd, os.path.expanduser(cand))))
            if p.as_posix() in exclude or not _under(p, roots):
                continue
            try:
                if not p.is_file():
                    continue
            except OSError:
                continue
            if p not in found:
                found.append(p)
    return found


def _imported(tree: ast.AST) -> list[tuple[str, int, tuple[str, ...]]]:
    """(module, level, names) of every import statement, in source order."""
    out: list[tuple[str, int, tuple[str, ...]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((a.name, 0, ()) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            out.append((node.module or "", node.level, tuple(a.name for a in node.names)))
    return out


def _module_file(base: Path, dotted: str) -> Path | None:
    """``base/a/b.py`` or ``base/a/b/__init__.py`` for ``a.b``, if it exists."""
    if not dotted:
        init = base / "__init__.py"
        return init if init.is_file() else None
    rel = Path(*dotted.split("."))
    for cand in (base / rel.with_suffix(".py"), base / rel / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def local_imports(
    script: Path,
    roots: list[Path],
    *,
    source: str | None = None,
) -> list[Path]:
    """The workflow's own Python modules a script (or ``run:`` source) imports, transitively.

    Each ``import a.b`` / ``from a import b`` is resolved against the importing file's folder,
    then each of ``roots`` (the workflow folder, the working folder); package ``__init__``
    files on the way count too. Modules found nowhere there are third-party or standard
    library: environment, not code. Static: imports built at run time are not seen.
    """
    found: list[Path] = []
    todo: list[tuple[Path, str | None]] = [(script, source)]
    seen: set[Path] = {script}
    while todo and len(found) < MAX_MODULES:
        current, text = todo.pop(0)
        try:
            if text is None:
                if current.stat().st_size > MAX_SCRIPT_BYTES:
                    continue
                text = current.read_text(encoding="utf-8", errors="replace")
            tree = ast.parse(text)
        except (OSError, SyntaxError, ValueError):
            continue
        here = current.parent
        for module, level, names in _imported(tree):
            bases: list[Path]
            if level:
                base = here
                for _ in range(level - 1):
                    base = base.parent
                bases = [base]
            else:
                bases = [here, *roots]
            for base in bases:
                hits: list[Path] = []
                mod = _module_file(base, module)
                if mod is not None:
                    hits.append(mod)
                    parts = module.split(".") if module else []
                    for i in range(1, len(parts)):  # parent packages run their __init__
                        init = base.joinpath(*parts[:i], "__init__.py")
                        if init.is_file():
                            hits.append(init)
                    sub = mod.parent if mod.name == "__init__.py" else None
                    for n in names:  # from pkg import submodule
                        if sub is not None and (f := _module_file(sub, n)) is not None:
                            hits.append(f)
                elif level and not module:
                    hits += [f for n in names if (f := _module_file(base, n)) is not None]
                if hits:
                    for h in hits:
                        h = Path(os.path.abspath(h))
                        if h not in seen and _under(h, [base, *roots]):
                            seen.add(h)
                            found.append(h)
                            todo.append((h, None))
                    break
    return found
