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
"""

from __future__ import annotations

import ast
import dis
import os
import re
import shlex
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CODE_NOTE",
    "CODE_SUFFIXES",
    "CodeFile",
    "LiveJob",
    "LiveJobs",
    "code_role",
    "local_imports",
    "plain_value",
    "shell_files",
    "shell_programs",
]

#: prefix of the observation note of a code content (``code: script``, ``code: module``, ...)
CODE_NOTE = "code: "
#: file name endings of scripts and macros a shell command may run
CODE_SUFFIXES = (".py", ".R", ".r", ".Rmd", ".sh", ".bash", ".zsh", ".ijm", ".bsh", ".groovy",
                 ".m", ".jl", ".pl", ".rb", ".js", ".awk", ".sed", ".ipynb", ".java", ".lua",
                 ".nf", ".wdl", ".cwl", ".mac", ".txt.ijm", ".py3", ".tcl", ".cmd")
_SKIP_PARTS = frozenset({".snakemake", ".git", ".iscc-lineage", "__pycache__", ".venv", ".pixi",
                         "site-packages", "node_modules"})
#: words after which the next word is the program (keywords, wrappers)
_PASS_WORDS = frozenset({
    "if", "then", "else", "elif", "for", "while", "until", "do", "case", "in", "function",
    "time", "!", "{", "[[", "command", "builtin", "exec", "env", "nohup", "xargs", "sudo",
    "nice", "stdbuf", "timeout"})
#: builtins: the simple command starts no program
_BUILTINS = frozenset({
    "fi", "done", "esac", "}", "]]", "[", "export", "set", "cd", "echo", "exit", "true",
    "false", "local", "return", "source", ".", "eval", "test", "read", "printf", "shift",
    "unset", "trap", "wait", "ulimit", "umask", "declare", "readonly", "let", "type", "alias",
    "pushd", "popd", "break", "continue", ":"})
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
MAX_MODULES = 200  #: bound on the transitive local-import walk of one script
MAX_SCRIPT_BYTES = 4 << 20  #: larger "scripts" are not parsed for imports


def code_role(note: str | None) -> str | None:
    """The code role of an observation note (``script``, ``module``, ...), or None."""
    if note and note.startswith(CODE_NOTE):
        return note[len(CODE_NOTE):].split(";", 1)[0].strip()
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


def shell_files(cmd: str, roots: list[Path], cwd: Path, exclude: set[str] = frozenset()  # type: ignore[assignment]
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


def local_imports(script: Path, roots: list[Path], *, source: str | None = None,
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


# -- the live job -----------------------------------------------------------------------------


def plain_value(value: Any, depth: int = 0) -> Any:
    """A param value as JSON: numbers, strings, lists, dicts as they are; anything else repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if depth < 4 and isinstance(value, (list, tuple)) and len(value) <= 1000:
        return [plain_value(v, depth + 1) for v in value]
    if depth < 4 and isinstance(value, dict) and len(value) <= 1000:
        return {str(k): plain_value(v, depth + 1) for k, v in value.items()}
    if callable(value):
        name = getattr(value, "__qualname__", None) or type(value).__name__
        return f"<function {name}>"
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not break capture
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 10_000 else text[:10_000] + "…"


@dataclass(frozen=True, slots=True)
class LiveJob:
    """Plain values copied from Snakemake's live job at ``JOB_INFO``."""

    kind: str  #: shell | script | notebook | wrapper | cwl | template_engine | run | norun
    rule_file: str | None = None  #: the Snakefile (or included file) defining the rule
    rule_dir: str | None = None  #: that file's folder (``workflow.basedir`` of the rule)
    script: str | None = None  #: resolved script / notebook / wrapper path or URL
    run_source: str | None = None  #: the ``run:`` block's source as Snakemake keeps it
    params: dict[str, Any] = field(default_factory=dict)  #: by name; "0".. only when unnamed
    conda_prefix: str | None = None  #: the env prefix used (``--sdm conda`` only)
    conda_env_file: str | None = None  #: the rule's ``conda:`` file (declared)
    container: str | None = None  #: the container image URL, when containers were used
    container_declared: str | None = None  #: the rule's ``container:`` (declared)
    deployment: tuple[str, ...] = ()  #: conda / apptainer / env-modules, as used


def _params(job: Any) -> dict[str, Any]:
    """Named params already expanded by Snakemake (``job._params``); never expand them here."""
    params = getattr(job, "_params", None)
    if params is None:
        return {}
    names: dict[int, str] = {}
    for name, span in (getattr(params, "_names", None) or {}).items():
        start, end = span if isinstance(span, tuple) else (span, None)
        if end is None or end == start + 1:
            names[start] = name
        else:
            for i in range(start, end):
                names[i] = f"{name}[{i - start}]"
    out: dict[str, Any] = {}
    for i, value in enumerate(list(params)):
        out[names.get(i, str(i))] = plain_value(value)
    return out


def _run_source(wf: Any, rule: Any) -> str | None:
    """The ``run:`` block as written in its Snakefile: the lines its code maps back to.

    Snakemake's own ``run_func_src`` repeats lines (one per line-number entry); we map the
    compiled function's lines through ``workflow.linemaps`` and cut the contiguous block from
    the file instead, falling back to ``run_func_src``.
    """
    fallback = getattr(rule, "run_func_src", None)
    func = getattr(rule, "run_func", None)
    try:
        code = func.__code__  # type: ignore[union-attr]
        linemap = wf.linemaps[code.co_filename]
        lines = sorted({linemap[n] for off, n in dis.findlinestarts(code)
                        if off != 0 and n is not None and n in linemap})
        snakefile = getattr(rule, "snakefile", None)
        if not lines or not snakefile:
            return fallback
        text = Path(snakefile).read_text(encoding="utf-8").splitlines()
        block = text[lines[0] - 1:lines[-1]]
        return "\n".join(block) + "\n" if block else fallback
    except Exception:
        return fallback


class LiveJobs:
    """Finds the live job behind a ``JOB_INFO`` id in this process's running workflow."""

    def __init__(self) -> None:
        self._by_id: dict[int, Any] = {}
        self._dag: Any = None

    @staticmethod
    def workflow() -> Any:
        mod = sys.modules.get("snakemake.workflow")
        return getattr(mod, "workflow", None) if mod is not None else None

    def job(self, jobid: int) -> Any:
        wf = self.workflow()
        dag = getattr(wf, "_dag", None) if wf is not None else None
        if dag is None:
            return None
        if dag is not self._dag or jobid not in self._by_id:
            self._dag = dag
            ids = dict(getattr(dag, "_jobid", None) or {})  # one C-level copy under the GIL
            self._by_id = {v: k for k, v in ids.items()}
        return self._by_id.get(jobid)

    def find(self, jobid: int, rule: str) -> Any:
        """The live job of a ``JOB_INFO`` (None: no live workflow, or not that rule's job).

        Call it when the event is handled; use :meth:`describe_job` once the job has finished,
        when Snakemake has expanded its params (it does so to write its metadata record).
        """
        job = self.job(jobid)
        if job is None or getattr(getattr(job, "rule", None), "name", None) != rule:
            return None
        return job

    @staticmethod
    def describe_job(job: Any) -> LiveJob:
        """Plain facts about a live job (reads only what Snakemake already computed)."""
        r = job.rule
        kind = ("shell" if r.shellcmd is not None else "script" if r.script is not None
                else "notebook" if r.notebook is not None else "wrapper" if r.wrapper is not None
                else "cwl" if r.cwl is not None else "template_engine"
                if r.template_engine is not None else "norun" if r.norun else "run")
        script = None
        raw = r.script or r.notebook or r.wrapper
        basedir = getattr(r, "basedir", None)
        rule_dir = None
        if basedir is not None:
            try:
                rule_dir = str(basedir.get_path_or_uri())
            except Exception:
                rule_dir = str(basedir)
        if raw is not None and kind in ("script", "notebook"):
            try:
                script = str(job._path_to_source_file(raw).get_path_or_uri())
            except Exception:
                script = str(raw)
            if rule_dir and "://" not in script and not os.path.isabs(script):
                script = os.path.join(rule_dir, script)
        elif raw is not None:
            script = str(raw)
        wf = getattr(getattr(job, "dag", None), "workflow", None) or LiveJobs.workflow()
        methods = getattr(getattr(wf, "deployment_settings", None), "deployment_method", ()) or ()
        used = tuple(sorted(str(getattr(m, "name", m)).lower() for m in methods))
        conda_prefix = None
        env_file = None
        spec = getattr(job, "_conda_env_spec", None) or getattr(r, "conda_env", None)
        if spec is not None and not callable(spec):
            env_file = str(getattr(spec, "file", None) or spec)
            env_file = env_file.removeprefix("file://")
        if "conda" in used:
            env = getattr(job, "_conda_env", None)
            conda_prefix = str(getattr(env, "address", "")) or None if env is not None else None
        container = getattr(job, "_container_img_url", None)
        rule_file = getattr(r, "snakefile", None)
        return LiveJob(
            kind=kind, rule_file=str(rule_file) if rule_file else None, rule_dir=rule_dir,
            script=script, run_source=_run_source(wf, r) if kind == "run" else None,
            params=_params(job), conda_prefix=conda_prefix, conda_env_file=env_file,
            container=str(container) if container and "apptainer" in used else None,
            container_declared=str(container) if container else None, deployment=used)


# -- one job's code -----------------------------------------------------------------------------

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

    def job(self, *, kind: str, script: Path | None, shellcmd: str | None,
            live: LiveJob | None, params: dict[str, Any], data: set[str]) -> JobCode:
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
        out = tuple(CodeFile(p, r) for p, r in list(files.items())[:MAX_CODE_FILES]
                    if p.as_posix() not in data)
        return JobCode(kind, out, dict(live.params) if named and live else params, named,
                       run_source, tuple(dict.fromkeys(programs)))


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
            out.append("".join(v.value for v in node.values
                               if isinstance(v, ast.Constant) and isinstance(v.value, str)))
    return out


__all__ += ["CodeFinder", "JobCode"]
