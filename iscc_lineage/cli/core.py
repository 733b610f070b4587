"""Core commands: fingerprint, record, trace, impact, verify, runs, show."""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from iscc_lineage import render
from iscc_lineage.cli.group import EXIT_ERROR, EXIT_NEGATIVE, cli
from iscc_lineage.errors import (
    AmbiguousError,
    EmptyContentError,
    FingerprintError,
    LineageError,
    NotFoundError,
)
from iscc_lineage.fingerprint import fingerprint_many
from iscc_lineage.lineage import Match, identify, walk
from iscc_lineage.lineage import similar as find_similar
from iscc_lineage.model import Fingerprint, Lineage
from iscc_lineage.recorder import Recorder, location
from iscc_lineage.similarity import SAME_FIGURE_BITS
from iscc_lineage.store import Store, now, open_store
from iscc_lineage.verify import verify

__all__ = ["open_from_context"]

T = TypeVar("T")

OPTION_JSON = click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
OPTION_DEPTH = click.option("--depth", type=click.IntRange(min=1), default=None,
                            help="Follow at most N steps.  [default: all]")
OPTION_QUIET = click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
PATH_ANY = click.Path(path_type=Path, exists=False)
GRAPH_SUFFIXES = (".svg", ".html", ".mmd", ".md", ".dot", ".graphml")
OPTION_GRAPH = click.option(
    "--graph", type=PATH_ANY, default=None, metavar="FILE",
    help="Also draw the lineage to FILE, in the format its suffix names: .svg, .html "
         "(a self-contained page), .mmd/.md (Mermaid), .dot (Graphviz), .graphml.")


def open_from_context(ctx: click.Context, *, create: bool = False) -> Store:
    """Open the store named by ``--store`` / ``$ISCC_LINEAGE_STORE`` / the default.

    It is closed with the command's context, so SQLite removes its -wal and -shm files.
    """
    store = open_store(ctx.obj.get("store") if ctx.obj else None, create=create)
    ctx.call_on_close(store.close)
    return store


class _DeferredCache:
    """The store's stat cache, with writes held back until the input is known to be good."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.held: list[tuple[str, Fingerprint]] = []

    def cache_get(self, key: str) -> Fingerprint | None:
        return self.store.cache_get(key)

    def cache_put(self, entries: Sequence[tuple[str, Fingerprint]]) -> None:
        self.held.extend(entries)

    def flush(self) -> None:
        if self.held:
            self.store.cache_put(self.held)
            self.held.clear()


def _printable(path: Path) -> str:
    """An absolute path as text that can always be printed (non-UTF-8 bytes escaped)."""
    return os.path.abspath(path).encode("utf-8", "backslashreplace").decode()


def _total_size(paths: list[Path]) -> int:
    total = 0
    for p in paths:
        try:
            if p.is_dir():
                total += sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
            else:
                total += p.stat().st_size
        except OSError:
            pass
    return total


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=PATH_ANY)
@click.option("--units", is_flag=True, help="Also print the 256-bit Data- and Instance-Code.")
@click.option("--no-cache", is_flag=True, help="Hash every file; skip the store's stat cache.")
@OPTION_JSON
@OPTION_QUIET
@click.pass_context
def fingerprint(ctx: click.Context, paths: tuple[Path, ...], units: bool, no_cache: bool,
                as_json: bool, quiet: bool) -> None:
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
        try:
            cache = open_from_context(ctx)
        except LineageError:
            cache = None  # no store yet: fingerprinting needs none
    plist = list(paths)
    with render.progress(_total_size(plist), "fingerprint", quiet=quiet) as on_bytes:
        results = fingerprint_many(plist, cache=cache, on_bytes=on_bytes)
    # non-UTF-8 names are shown escaped (bad\udcff), as in error messages, in both forms
    good = [(os.fsdecode(p).encode("utf-8", "backslashreplace").decode(), fp)
            for p, fp in zip(plist, results, strict=True) if isinstance(fp, Fingerprint)]
    if as_json:
        render.dump_json([{"path": p, **fp.to_dict()} for p, fp in good])
    else:
        render.fingerprint_lines(good, units=units)
    errors = [fp for fp in results if isinstance(fp, FingerprintError)]
    for e in errors:
        click.echo(f"Error: {e}", err=True)
    if errors:
        ctx.exit(EXIT_ERROR)


@cli.command(context_settings={"ignore_unknown_options": True})
@click.option("-i", "--input", "inputs", multiple=True, type=PATH_ANY, help="A file it used.")
@click.option("-o", "--output", "outputs", multiple=True, type=PATH_ANY,
              help="A file it generated.")
@click.option("-n", "--name", help="Step name.  [default: the command's program name]")
@click.option("--run", "run_ref", help="Add the step to this run id (created if new).")
@click.option("--code", type=PATH_ANY,
              help="The script or macro the step ran (its content is fingerprinted).")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A parameter of the step.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def record(ctx: click.Context, inputs: tuple[Path, ...], outputs: tuple[Path, ...],
           name: str | None, run_ref: str | None, code: Path | None, params: tuple[str, ...],
           command: tuple[str, ...]) -> None:
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
        raise LineageError(f"{command[0]}: command not found (or not executable)")
    store = open_from_context(ctx, create=True)
    rec = Recorder(store)
    used = rec.artifacts(list(inputs))
    started = now()
    status = 0
    if command:
        try:
            status = subprocess.call(list(command))
        except OSError as exc:
            raise LineageError(f"{command[0]}: cannot run: {exc.strerror}") from None
    existing = [o for o in outputs if status == 0 or o.exists()]
    made = rec.artifacts(existing)
    run_id = _ensure_run(store, rec, run_ref, "iscc-lineage record")
    step_name = name or (Path(command[0]).name if command else "manual step")
    rec.record_step(run_id, step_name, inputs=used, outputs=made, started=started,
                    command=shlex.join(command) if command else None, code=code,
                    params=param_map, exit_status=status if command else None,
                    status="finished" if status == 0 else "failed")
    rec.finish_run(run_id, "finished" if status == 0 else "failed")
    ctx.exit(status)


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
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a device or socket")
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


def _lineage_json(lin: Lineage, path: Path, fp: Fingerprint) -> dict[str, Any]:
    end_key = "sources" if lin.direction == "trace" else "derived"
    return {
        "direction": lin.direction,
        "target": {"path": _printable(path), "iscc": fp.iscc, "datahash": fp.datahash},
        "steps": [s.to_dict() for s in lin.steps],
        "contents": {h: c.to_dict() for h, c in sorted(lin.contents.items())},
        end_key: [c.to_dict() for c in lin.ends],
    }


def _walk_command(ctx: click.Context, file: Path, depth: int | None, as_json: bool,
                  direction: str, max_distance: int | None = None,
                  graph: Path | None = None) -> None:
    if graph is not None and graph.suffix.lower() not in GRAPH_SUFFIXES:
        raise click.BadParameter(f"{graph}: suffix must be one of {', '.join(GRAPH_SUFFIXES)}",
                                 param_hint="--graph")
    store = open_from_context(ctx)
    cache = _DeferredCache(store)
    fp, content = identify(store, file, cache=cache)
    if fp.size == 0:
        what = "an empty directory" if fp.kind == "tree" else "empty (0 bytes)"
        raise EmptyContentError(f"{_printable(file)}: is {what}; every empty file shares this "
                                "content, so it names no lineage")
    cache.flush()
    match = None
    if content is None:
        match = _similar_or_exit(ctx, store, file, fp, max_distance, as_json)
        content = match.content
    lin = walk(store, content.datahash, "trace" if direction == "trace" else "impact", depth)
    if graph is not None:
        _draw(lin, graph, _printable(file))
    if as_json:
        doc = _lineage_json(lin, file, fp)
        if match is not None:
            doc["match"] = match.to_dict()
        render.dump_json(doc)
    else:
        render.lineage_tree(lin, _printable(file))


def _draw(lin: Lineage, path: Path, title: str) -> None:
    """Write a picture of the lineage in the format named by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix == ".graphml":
        from iscc_lineage.graph import write_graphml  # networkx only when asked for

        write_graphml(lin, path)
        return
    from iscc_lineage import picture

    if suffix == ".html":
        text = picture.to_html(lin, title)
    elif suffix == ".md":
        text = f"```mermaid\n{picture.to_mermaid(lin)}```\n"
    else:
        text = {".svg": picture.to_svg, ".dot": picture.to_dot,
                ".mmd": picture.to_mermaid}[suffix](lin)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LineageError(f"{path}: cannot write: {exc.strerror}") from None
    click.echo(f"wrote {path}", err=True)


def _similar_or_exit(ctx: click.Context, store: Store, file: Path, fp: Fingerprint,
                     max_distance: int | None, as_json: bool) -> Match:
    """The nearest recorded content within ``max_distance``, or a negative answer (exit 1)."""
    matches = find_similar(store, file, fp) if max_distance is not None else []
    if matches and matches[0].distance <= (max_distance or 0):
        best = matches[0]
        click.echo(f"{file}: not recorded; following the nearest by {best.method}: "
                   f"{best.distance}/{best.bits} bits", err=True)
        return best
    if as_json:
        render.dump_json({"target": {"path": _printable(file), "iscc": fp.iscc,
                                     "datahash": fp.datahash}, "known": False,
                          "candidates": [m.to_dict() for m in matches]})
    click.echo(f"{file}: content {fp.iscc} is not in the lineage store", err=True)
    if matches:
        click.echo(f"nearest recorded contents (none within {max_distance} of 64 bits):",
                   err=True)
        for m in matches:
            where = m.content.paths[0] if m.content.paths else m.content.iscc
            click.echo(f"  {m.distance:>2}/64 bits by {m.method}  {where}", err=True)
    elif max_distance is None:
        click.echo("(try --similar to look for a re-saved, resized or edited copy)", err=True)
    ctx.exit(EXIT_NEGATIVE)


@cli.command()
@click.argument("file", type=PATH_ANY)
@OPTION_DEPTH
@click.option("--similar", is_flag=True,
              help="If FILE itself is not recorded, follow the nearest recorded content: by "
                   "Image-Code for pictures (re-saved, re-encoded, resized, annotated), else by "
                   "Data-Code.")
@click.option("--threshold", type=click.IntRange(0, 64), default=SAME_FIGURE_BITS,
              show_default=True, help="With --similar: the largest distance, in bits of 64.")
@OPTION_JSON
@OPTION_GRAPH
@click.pass_context
def trace(ctx: click.Context, file: Path, depth: int | None, similar: bool, threshold: int,
          as_json: bool, graph: Path | None) -> None:
    """Identify FILE by content and walk back through every step to the raw sources.

    Works across runs: a content produced or used in many runs is one node.
    Exit status 1 when the content is not in the store; 2 for an empty file (every empty
    file shares one content, so it names no lineage).

    \b
    Examples:
      iscc-lineage trace results/figures/summary.png
      iscc-lineage trace --json --depth 2 figure.png
      iscc-lineage trace --similar paper/fig2-panel-b.jpg
      iscc-lineage trace --similar --threshold 20 annotated-figure.png
    """
    _walk_command(ctx, file, depth, as_json, "trace", threshold if similar else None, graph)


@cli.command()
@click.argument("file", type=PATH_ANY)
@OPTION_DEPTH
@OPTION_JSON
@OPTION_GRAPH
@click.pass_context
def impact(ctx: click.Context, file: Path, depth: int | None, as_json: bool,
           graph: Path | None) -> None:
    """Identify FILE by content and walk forward to everything derived from it.

    \b
    Example:
      iscc-lineage impact raw/s01.tif
    """
    _walk_command(ctx, file, depth, as_json, "impact", graph=graph)


@cli.command(name="verify")
@click.argument("paths", nargs=-1, type=PATH_ANY)
@click.option("--run", "run_ref", help="Verify what this run used and generated.")
@click.option("--crate", "crate_path", type=click.Path(exists=True, path_type=Path),
              help="Check an exported RO-Crate (folder or zip) against the ISCCs it declares.")
@OPTION_JSON
@OPTION_QUIET
@click.pass_context
def verify_command(ctx: click.Context, paths: tuple[Path, ...], run_ref: str | None,
                   as_json: bool, quiet: bool, crate_path: Path | None = None) -> None:
    """Re-fingerprint recorded files and report ok / changed / missing.

    Always re-hashes (never the stat cache). A change shows the Data-Code distance, so
    "3 bits of 64" (an edit) reads apart from "unrelated". Exit status 1 if anything changed
    or is missing.

    \b
    Examples:
      iscc-lineage verify                    # every recorded location
      iscc-lineage verify --run 3f2a results/figures/summary.png
      iscc-lineage verify --crate deposit.zip  # a crate's files against its ISCCs
    """
    if crate_path is not None:
        if paths or run_ref:
            raise click.UsageError("--crate checks a crate; give no PATHS or --run with it")
        from iscc_lineage.cli.export import verify_crate_command

        verify_crate_command(ctx, crate_path, as_json=as_json)
        return
    store = open_from_context(ctx)
    run_id = store.run(run_ref).id if run_ref else None
    wanted = [location(p) for p in paths] or None
    results = verify(store, run_id=run_id, paths=wanted)
    if wanted:
        known = {c.path for c in results}
        for p in wanted:
            if p not in known:
                raise NotFoundError(f"{p}: no recorded content at this path")
    if as_json:
        render.dump_json([c.to_dict() for c in results])
    else:
        render.checks(results)
    if any(c.status != "ok" for c in results):
        ctx.exit(EXIT_NEGATIVE)


@cli.command()
@click.option("-n", "--limit", type=click.IntRange(min=1), default=None, help="Newest N runs.")
@OPTION_JSON
@click.pass_context
def runs(ctx: click.Context, limit: int | None, as_json: bool) -> None:
    """List recorded runs, newest first."""
    found = open_from_context(ctx).runs(limit)
    if as_json:
        render.dump_json([r.to_dict() for r in found])
    else:
        render.runs_table(found)


@cli.command()
@click.argument("ref")
@OPTION_JSON
@click.pass_context
def show(ctx: click.Context, ref: str, as_json: bool) -> None:
    """Show a run or a step by id (a unique prefix is enough).

    Exit status 2 when nothing matches, or when the prefix fits more than one run or step.
    """
    store = open_from_context(ctx)
    run, step = _match(store.run, ref), _match(store.step, ref)
    if run is not None and step is not None:
        raise AmbiguousError(f"{ref!r} matches a run and a step; give more characters")
    if step is not None:
        if as_json:
            render.dump_json({"step": step.to_dict()})
        else:
            render.step_detail(step)
        return
    if run is None:
        raise NotFoundError(f"no run or step matches {ref!r}")
    steps = store.steps_of_run(run.id)
    if as_json:
        render.dump_json({"run": run.to_dict(), "steps": [s.to_dict() for s in steps]})
    else:
        render.run_detail(run, steps)


def _match(find: Callable[[str], T], ref: str) -> T | None:
    """``find(ref)``, or None when nothing matches; an ambiguous prefix still raises."""
    try:
        return find(ref)
    except AmbiguousError:
        raise
    except NotFoundError:
        return None
