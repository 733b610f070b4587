"""Fingerprint files and record steps by hand: ``fingerprint``, ``record``."""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from iscc_lineage import render
from iscc_lineage.cli.group import (
    OPTION_JSON,
    OPTION_QUIET,
    PATH_ANY,
    DeferredCache,
    cli,
    open_from_context,
)
from iscc_lineage.codes import fingerprint_many
from iscc_lineage.errors import (
    CommandError,
    FingerprintError,
    LineageError,
    NotFoundError,
    StoreError,
)
from iscc_lineage.locations import location, printable, tree_size
from iscc_lineage.model import Artifact, Fingerprint
from iscc_lineage.recorder import Recorder
from iscc_lineage.store import Store, default_store_path, now, sqlite_path

__all__ = ["fingerprint", "record"]


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=PATH_ANY)
@click.option("--units", is_flag=True, help="Also print the 256-bit Data- and Instance-Code.")
@click.option("--no-cache", is_flag=True, help="Hash every file; skip the store's stat cache.")
@OPTION_JSON
@OPTION_QUIET
@click.pass_context
def fingerprint(
    ctx: click.Context,
    paths: tuple[Path, ...],
    units: bool,
    no_cache: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Print the ISCC-SUM (ISO 24138, narrow) of files and directories.

    Lines read like `iscc-sum --narrow`: `ISCC:KUA… *path`. A directory gets a manifest
    fingerprint (member paths and contents). The stat cache of an existing store is used
    unless --no-cache; nothing is recorded.

    \b
    Examples:
      iscc-lineage fingerprint raw/*.tif
      iscc-lineage fingerprint --json results/zarr/s01.ome.zarr
    """
    cache = None
    if not no_cache:
        try:  # cache writes are held back: a failed command (exit 2) writes nothing
            cache = DeferredCache(open_from_context(ctx))
        except LineageError:
            cache = None  # no store yet: fingerprinting needs none
    plist = list(paths)
    # the total walks and stats every file: only worth it when a bar is drawn (10^5 chunks)
    total = sum(tree_size(p) for p in plist) if render.progress_shown(quiet) else 0
    with render.progress(total, "fingerprint", quiet=quiet) as on_bytes:
        results = fingerprint_many(plist, cache=cache, on_bytes=on_bytes)
    # non-UTF-8 names are shown escaped (bad\udcff), as in error messages, in both forms
    good = [
        (printable(p), fp)
        for p, fp in zip(plist, results, strict=True)
        if isinstance(fp, Fingerprint)
    ]
    if as_json:
        render.dump_json([{"path": p, **fp.to_dict()} for p, fp in good])
    else:
        render.fingerprint_lines(good, units=units)
    errors = [fp for fp in results if isinstance(fp, FingerprintError)]
    if errors:  # after the good lines, as iscc-sum does; one line through the group's path
        more = f" (and {len(errors) - 1} more: " + "; ".join(map(str, errors[1:])) + ")"
        raise FingerprintError(f"{errors[0]}{more if len(errors) > 1 else ''}")
    if cache is not None:
        cache.flush()


@cli.command(context_settings={"ignore_unknown_options": True})
@click.option("-i", "--input", "inputs", multiple=True, type=PATH_ANY, help="A file it used.")
@click.option(
    "-o", "--output", "outputs", multiple=True, type=PATH_ANY, help="A file it generated."
)
@click.option("-n", "--name", help="Step name.  [default: the command's program name]")
@click.option("--run", "run_ref", help="Add the step to this run id (created if new).")
@click.option(
    "--code", type=PATH_ANY, help="The script or macro the step ran (its content is fingerprinted)."
)
@click.option(
    "-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="A parameter of the step."
)
@click.option(
    "--pixels",
    is_flag=True,
    help="Also pixel-code bioimages among the files (TIFF, OME-TIFF, OME-Zarr; CZI, "
    "ND2, LIF with their extras): copies in other formats then share the "
    "lineage. Costs one more read of each image.",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def record(
    ctx: click.Context,
    inputs: tuple[Path, ...],
    outputs: tuple[Path, ...],
    name: str | None,
    run_ref: str | None,
    code: Path | None,
    params: tuple[str, ...],
    pixels: bool,
    command: tuple[str, ...],
) -> None:
    """Record one step: fingerprint inputs, run COMMAND, fingerprint outputs.

    Without a COMMAND it records a manual step (a Fiji macro, an export from a GUI tool).
    The command's exit status is recorded and passed on; a failed step's outputs are kept
    as partial, never traced as results.

    \b
    Examples:
      iscc-lineage record -i raw.tif -o mask.tif -- python segment.py raw.tif mask.tif
      iscc-lineage record -i mask.tif -o figure.png --name "Fiji export"
    """
    param_map = dict(_split_param(p) for p in params)
    # Bad input is refused before the store is created or the command runs: nothing written.
    _precheck(inputs, must_exist=True)
    _precheck(outputs, must_exist=False)
    _precheck([code] if code is not None else [], must_exist=True, file_only=True)
    if command and shutil.which(command[0]) is None:
        raise CommandError(f"{command[0]}: command not found (or not executable)")
    # The store is written only once everything is known to be good: stat-cache entries are
    # held back, and a store that does not exist yet (or an empty file) is created last.
    store = _existing_store(ctx)
    cache = DeferredCache(store)  # no store yet: its entries wait for the store (first record)
    used = _artifacts(list(inputs), cache)
    started = now()
    status = 0
    if command:
        try:
            status = subprocess.call(list(command))
        except OSError as exc:
            raise CommandError(f"{command[0]}: cannot run: {exc.strerror}") from None
    existing = [o for o in outputs if status == 0 or o.exists()]
    made = _artifacts(existing, cache)
    if store is None:
        store = open_from_context(ctx, create=True)
    rec = Recorder(store, pixels=pixels)
    cache.store = store
    cache.flush()  # before the pixel codes: they re-check each file through the stat cache
    run_id = _ensure_run(store, rec, run_ref, "iscc-lineage record")
    step_name = name or (Path(command[0]).name if command else "manual step")
    rec.record_step(
        run_id,
        step_name,
        inputs=used,
        outputs=made,
        started=started,
        command=shlex.join(command) if command else None,
        code=code,
        params=param_map,
        exit_status=status if command else None,
        status="finished" if status == 0 else "failed",
    )
    rec.finish_run(run_id, "finished" if status == 0 else "failed")
    ctx.exit(status)


def _existing_store(ctx: click.Context) -> Store | None:
    """The store, opened only if it holds something; None for a missing or empty file (it is
    created when the step is written, so a failed ``record`` leaves no store behind)."""
    target = default_store_path(ctx.obj.get("store") if ctx.obj else None)
    path = sqlite_path(str(target))
    if path is not None and path != ":memory:":
        try:
            if os.stat(path).st_size == 0:
                return None
        except (FileNotFoundError, NotADirectoryError):
            _check_creatable(Path(path))
            return None
        except OSError:
            pass  # let opening say what is wrong, in one line
    return open_from_context(ctx)


def _check_creatable(path: Path) -> None:
    """Refuse, before the command runs, a store that could not be created (nothing made)."""
    parent = Path(os.path.abspath(path)).parent
    existing = next(p for p in (parent, *parent.parents) if os.path.lexists(p))
    if not existing.is_dir():
        raise StoreError(
            f"{path}: cannot create store: {_shown(existing, path)} is not a directory"
        )
    if not os.access(existing, os.W_OK):
        raise StoreError(f"{path}: cannot create store: {_shown(existing, path)} is not writable")


def _shown(p: Path, like: Path) -> str:
    """``p`` relative to the working directory when ``like`` was given relative."""
    return os.path.relpath(p) if not like.is_absolute() else str(p)


def _artifacts(paths: Sequence[Path], cache: DeferredCache | None) -> list[Artifact]:
    """Fingerprint paths as :meth:`Recorder.artifacts` does, through a held-back cache."""
    locs = [location(p) for p in paths]
    out = []
    for loc, fp in zip(locs, fingerprint_many([Path(p) for p in locs], cache=cache), strict=True):
        if isinstance(fp, FingerprintError):
            raise fp
        out.append(Artifact(loc, fp))
    return out


def _precheck(paths: Sequence[Path], *, must_exist: bool, file_only: bool = False) -> None:
    """Refuse a path that cannot be recorded: a non-UTF-8 name, missing (when it must exist),
    a symlink loop, a FIFO or device, or a directory where a file is expected.

    :raises FingerprintError: one line naming the path and the problem.
    """
    for p in paths:
        location(p)  # a non-UTF-8 name cannot go into the store
        try:
            mode = p.stat().st_mode
        except FileNotFoundError:
            if must_exist:
                raise FingerprintError(f"{p}: no such file or directory") from None
            continue
        except OSError as exc:
            raise FingerprintError(f"{p}: {exc.strerror or exc}") from None
        if stat.S_ISREG(mode) or (stat.S_ISDIR(mode) and not file_only):
            continue
        kind = (
            "a directory"
            if stat.S_ISDIR(mode)
            else "a FIFO"
            if stat.S_ISFIFO(mode)
            else "a device or socket"
        )
        raise FingerprintError(f"{p}: is {kind}, not a regular file")


def _split_param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--param")
    return key, value


def _ensure_run(store: Store, rec: Recorder, ref: str | None, workflow: str | None) -> str:
    if ref:
        try:
            return store.run(ref).id
        except NotFoundError:
            pass
    return rec.begin_run(run_id=ref, workflow=workflow, command=shlex.join(sys.argv))
