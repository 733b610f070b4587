"""Snakemake commands: init (workflow profile), run (snakemake with the logger), import.

Snakemake runs as a subprocess: this module never imports snakemake.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from iscc_lineage import render
from iscc_lineage.cli.group import cli
from iscc_lineage.errors import CommandError, LineageError
from iscc_lineage.locations import tree_size
from iscc_lineage.recorder import Recorder
from iscc_lineage.snakemake.profile import LOGGER, STORE_KEY, enable_logger
from iscc_lineage.store import (
    DEFAULT_STORE,
    default_store_path,
    is_server_url,
    open_store,
    redact_credentials,
    resolve_location,
)

if TYPE_CHECKING:
    from iscc_lineage.snakemake.importer import ImportResult

__all__ = ["find_snakemake", "with_logger"]

NO_USE_ISCC = (
    "Snakemake 9 cannot have a `--use-iscc` flag: plugin options are namespaced "
    "(`--logger-iscc-*`). The nearest things: this profile (plain `snakemake`), "
    "`snakemake --logger iscc`, and `iscc-lineage run -- <snakemake args>`."
)
STORE_FLAG = "--" + STORE_KEY


@cli.command()
@click.argument(
    "workflow_dir",
    default=".",
    required=False,
    type=click.Path(path_type=Path, file_okay=False, exists=True),
)
@click.option(
    "--store",
    "store_path",
    metavar="PATH|URL",
    help="Also set logger-iscc-store: the lineage store the plugin writes to.",
)
def init(workflow_dir: Path, store_path: str | None) -> None:
    """Make a plain `snakemake` in WORKFLOW_DIR record lineage (a workflow profile).

    Writes or merges profiles/default/config.yaml with `logger: [iscc]`; other keys and other
    loggers are kept (`[rich]` becomes `[rich, iscc]`). Snakemake applies this profile by
    itself when started in WORKFLOW_DIR; `--workflow-profile none` skips it, and a
    `--logger` on the command line replaces the profile's list.

    \b
    Examples:
      iscc-lineage init
      iscc-lineage init my-workflow --store /data/lineage/lab.db
    """
    if store_path and redact_credentials(store_path) != store_path:
        store_path = redact_credentials(store_path)
        click.echo(
            "Note: the password is not written into the profile; keep it in "
            "~/.pgpass or PGPASSWORD.",
            err=True,
        )
    change = enable_logger(workflow_dir, store=store_path)
    shown = _shown(change.path)
    what = "Created" if change.created else "Updated" if change.changed else "Already set in"
    loggers = ", ".join(change.loggers)
    store = f", {STORE_KEY}: {change.store}" if change.store else ""
    click.echo(f"{what} {shown}: logger: [{loggers}]{store}")
    if not change.comments_kept:
        click.echo(
            f"Note: the comments in {shown} could not be kept (unusual layout); every setting was.",
            err=True,
        )
    if not any(
        (workflow_dir / n).is_file()
        for n in ("Snakefile", "workflow/Snakefile", "snakefile", "workflow/snakefile")
    ):
        click.echo(
            f"Note: no Snakefile in {workflow_dir}; Snakemake looks for "
            "profiles/default/ where it starts and next to the Snakefile.",
            err=True,
        )
    click.echo(f"A plain `snakemake` started in {workflow_dir} now records lineage.")
    click.echo(NO_USE_ISCC)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option(
    "--store",
    "store_path",
    type=str,
    metavar="PATH|URL",
    help="Lineage store the plugin writes to.  [default: --store of iscc-lineage, "
    "$ISCC_LINEAGE_STORE, else .iscc-lineage/lineage.db in the working "
    "directory]",
)
@click.argument("snakemake_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run(ctx: click.Context, store_path: str | None, snakemake_args: tuple[str, ...]) -> None:
    """Run snakemake with lineage recording (`--logger iscc`), then summarise the run.

    Everything after `--` goes to snakemake unchanged, except that `iscc` joins its
    `--logger` list. Snakemake's exit status is passed on.

    \b
    Examples:
      iscc-lineage run -- -c4
      iscc-lineage run --store lab.db -- -s workflow/Snakefile -c8 --directory /scratch/run1
    """
    args = list(snakemake_args)
    store = store_path or (ctx.obj or {}).get("store")
    if store is not None and _flag_value(args, STORE_FLAG) is not None:
        raise click.UsageError(f"give the store once: --store or {STORE_FLAG}")
    if store is not None:
        store = resolve_location(store, Path.cwd())
        args = [STORE_FLAG, str(store), *args]
    exe = find_snakemake()
    command = [exe, *with_logger(args)]
    click.echo(f"iscc-lineage: {redact_credentials(shlex.join(command))}", err=True)
    t0 = time.time()
    status = _call(command)
    target = store or _default_store(args)
    _summarise(target, t0)
    ctx.exit(status if status >= 0 else 128 - status)


def find_snakemake(python: Path | None = None, path: str | None = None) -> str:
    """The ``snakemake`` next to this Python (the same virtualenv), else the one on PATH.

    :param python: the interpreter to look beside (default: ``sys.executable``).
    :param path: the search path (default: ``$PATH``).
    :raises CommandError: there is none.
    """
    here = Path(python or sys.executable).parent / "snakemake"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    found = shutil.which("snakemake", path=path)
    if found is None:
        raise CommandError(
            "snakemake not found next to this Python or on PATH; pip install snakemake"
        )
    return found


def with_logger(args: Sequence[str]) -> list[str]:
    """``args`` with ``iscc`` in snakemake's ``--logger`` list (merged, never duplicated).

    ``--logger`` takes one or more names (argparse ``nargs="+"``), so the merged option goes
    right before the next option (or at the end), where its names cannot swallow a target.
    """
    head, sep, tail = _split(args)
    names: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(head):
        a = head[i]
        if a == "--logger":
            i += 1
            while i < len(head) and not head[i].startswith("-"):
                names.append(head[i])
                i += 1
            continue
        if a.startswith("--logger="):
            names.append(a.split("=", 1)[1])
        else:
            rest.append(a)
        i += 1
    if LOGGER not in names:
        names.append(LOGGER)
    at = next((k for k, a in enumerate(rest) if a.startswith("-")), len(rest))
    return [*rest[:at], "--logger", *names, *rest[at:], *sep, *tail]


def _split(args: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    if "--" in args:
        k = list(args).index("--")
        return list(args[:k]), ["--"], list(args[k + 1 :])
    return list(args), [], []


def _flag_value(args: Sequence[str], *flags: str) -> str | None:
    """The value of the last ``--flag VALUE`` / ``--flag=VALUE`` (``-dVALUE`` too) in args."""
    head = _split(args)[0]
    value = None
    for i, a in enumerate(head):
        for f in flags:
            if a == f and i + 1 < len(head):
                value = head[i + 1]
            elif a.startswith(f + "=") and f.startswith("--"):
                value = a.split("=", 1)[1]
            elif len(f) == 2 and a.startswith(f) and len(a) > 2 and not a.startswith("--"):
                value = a[2:]
    return value


def _default_store(args: Sequence[str]) -> Path | str:
    given = _flag_value(args, STORE_FLAG)
    if given and is_server_url(given):
        return given
    workdir = _flag_value(args, "--directory", "-d") or "."
    store = default_store_path(given)  # --logger-iscc-store, $ISCC_LINEAGE_STORE, the default
    return store if given or store != DEFAULT_STORE else Path(workdir) / DEFAULT_STORE


def _call(command: list[str]) -> int:
    try:
        proc = subprocess.Popen(command)
    except OSError as exc:
        raise CommandError(f"{command[0]}: cannot run: {exc.strerror}") from None
    try:
        return proc.wait()
    except KeyboardInterrupt:  # pragma: no cover - interactive; snakemake got SIGINT too
        return proc.wait()


def _summarise(store_path: Path | str, t0: float) -> None:
    """One line on stdout about the run recorded since ``t0``, or a note on stderr."""
    try:
        with open_store(store_path, create=False) as store:
            runs = [
                r
                for r in store.runs(limit=5)
                if datetime.fromisoformat(r.started).timestamp() >= t0 - 2.0
            ]
    except LineageError:
        runs = []
    if not runs:
        click.echo(
            f"iscc-lineage: no run recorded in {_shown(store_path)} (a dry run, nothing to "
            "do, or the iscc logger did not start)",
            err=True,
        )
        return
    r = runs[0]
    click.echo(f"Recorded run {r.id[:12]} ({r.status}): {r.steps} steps in {_shown(store_path)}")


def _shown(path: Path | str) -> str:
    """A path relative to here when it is below here, else absolute; a URL without password."""
    if is_server_url(str(path)):
        return redact_credentials(str(path))
    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else os.path.abspath(path)


@cli.command(name="import")
@click.argument(
    "workflow_dir",
    default=".",
    required=False,
    type=click.Path(path_type=Path, exists=True, file_okay=False),
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def import_command(ctx: click.Context, workflow_dir: Path, quiet: bool) -> None:
    """Rebuild lineage of past runs from WORKFLOW_DIR/.snakemake (made without the plugin).

    Reads Snakemake's metadata records (file or `--persistence-backend db`) and run logs,
    fingerprints the files that are still what their job made, and records the rest with a
    note (temp files gone, outputs changed since). Importing again adds only new jobs.
    The store is --store / $ISCC_LINEAGE_STORE, else WORKFLOW_DIR/.iscc-lineage/lineage.db.

    \b
    Examples:
      iscc-lineage import
      iscc-lineage --store lab.db import /scratch/run1
    """
    from iscc_lineage.snakemake.importer import plan_import, record_plan  # ~25 ms: only here

    plan = plan_import(workflow_dir)
    for line in plan.skipped:  # hostile or damaged records: named, never fatal
        click.echo(f"skipped {line}", err=True)
    target = (ctx.obj or {}).get("store") or workflow_dir / DEFAULT_STORE
    with open_store(target, create=True) as store:
        from iscc_lineage.store.spool import flush_spools

        flush_spools(store, workflow_dir)  # what live capture could not write (a locked store)
        paths = {os.path.join(plan.workdir, p) for r in plan.records for p in (r.output, *r.input)}
        total = sum(tree_size(p) for p in paths)
        with render.progress(total, "import", quiet=quiet) as on_bytes:
            result = record_plan(plan, Recorder(store, on_bytes=on_bytes))
    _report(result, plan.workdir, _shown(target))


def _report(r: ImportResult, workdir: Path, store: str) -> None:
    runs = ", ".join(f"{rid[:12]} ({n})" for rid, n in r.runs.items()) or "none"
    click.echo(f"Imported {r.steps} steps from {workdir}/.snakemake into {store}; runs: {runs}")
    notes = [
        (r.known, "jobs imported before (skipped)"),
        (r.live, "jobs of runs recorded live (skipped)"),
        (r.failed, "failed steps (outputs kept as partial, never traced)"),
        (r.gone, "outputs gone (temp files or removed)"),
        (r.untrusted, "files changed since their job (recorded without content)"),
    ]
    for n, what in notes:
        if n:
            click.echo(f"  {n} {what}")
