"""Walk the lineage: ``trace``, ``impact``, ``runs``, ``show``."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import click

from iscc_lineage import render
from iscc_lineage.cli.figures import figure_search_or_exit
from iscc_lineage.cli.group import (
    EXIT_NEGATIVE,
    OPTION_DEPTH,
    OPTION_JSON,
    PATH_ANY,
    DeferredCache,
    cli,
    open_from_context,
    printable,
    store_shown,
)
from iscc_lineage.codes.image import SAME_FIGURE_BITS
from iscc_lineage.codes.pictures import is_figure
from iscc_lineage.errors import AmbiguousError, EmptyContentError, ExportError, NotFoundError
from iscc_lineage.lineage import Resolved, find_same_pixels, resolve, walk
from iscc_lineage.model import Fingerprint, Lineage
from iscc_lineage.similar import Match
from iscc_lineage.similar import similar as find_similar
from iscc_lineage.store import Store

__all__ = ["impact", "runs", "show", "trace"]

T = TypeVar("T")

GRAPH_SUFFIXES = (".svg", ".html", ".mmd", ".md", ".dot", ".graphml")
OPTION_GRAPH = click.option(
    "--graph",
    type=PATH_ANY,
    default=None,
    metavar="FILE",
    help="Also draw the lineage to FILE, in the format its suffix names: .svg, .html "
    "(a self-contained page), .mmd/.md (Mermaid), .dot (Graphviz), .graphml.",
)


def _lineage_json(lin: Lineage, res: Resolved) -> dict[str, Any]:
    end_key = "sources" if lin.direction == "trace" else "derived"
    shown = (
        printable(Path(res.query))
        if res.how in ("content", "member", "recorded path")
        else res.query
    )
    return {
        "direction": lin.direction,
        "target": {"path": shown, "iscc": lin.target.iscc, "datahash": lin.target.datahash},
        "resolved": res.how,
        "note": res.note,
        "steps": [s.to_dict() for s in lin.steps],
        "contents": {h: c.to_dict() for h, c in sorted(lin.contents.items())},
        end_key: [c.to_dict() for c in lin.ends],
        "members": dict(sorted(lin.containers.items())),
        "repeats": {k: list(v) for k, v in sorted(lin.repeats.items())},
        "same_pixels_as": {h: list(ts) for h, ts in sorted(lin.twins.items())},
        "images": {k: im.to_dict() for k, im in sorted(lin.images.items())},
    }


def _walk_command(
    ctx: click.Context,
    query: str,
    depth: int | None,
    as_json: bool,
    direction: Literal["trace", "impact"],
    max_distance: int | None = None,
    graph: Path | None = None,
    run: str | None = None,
    latest: bool = False,
) -> None:
    if graph is not None and graph.suffix.lower() not in GRAPH_SUFFIXES:
        raise click.BadParameter(
            f"{graph}: suffix must be one of {', '.join(GRAPH_SUFFIXES)}", param_hint="--graph"
        )
    store = open_from_context(ctx)
    cache = DeferredCache(store)
    res = resolve(store, query, cache=cache)
    fp = res.fingerprint
    if fp is not None and fp.size == 0:
        what = "an empty directory" if fp.kind == "tree" else "empty (0 bytes)"
        raise EmptyContentError(
            f"{printable(Path(query))}: is {what}; every empty file shares "
            "this content, so it names no lineage"
        )
    cache.flush()
    match: dict[str, Any] | None = None
    others: list[dict[str, Any]] = []
    same = None
    content = res.content
    if content is None:
        assert fp is not None
        file = Path(query)
        same = find_same_pixels(store, file)  # another format of a recorded image
        if same is not None:
            content = same.content
        elif max_distance is not None and is_figure(file, fp.size):
            found = figure_search_or_exit(ctx, store, file, fp, as_json, graph, _draw)
            if found is None:  # nothing verified: the Data-Code may still know the bytes
                content = _similar_or_exit(ctx, store, file, fp, max_distance, as_json).content
            else:
                content, match, others = found
        else:
            best = _similar_or_exit(ctx, store, file, fp, max_distance, as_json)
            content, match = best.content, best.to_dict()
    run_id = store.run(run).id if run else None
    target = content if res.how == "member" else None
    lin = walk(store, content.datahash, direction, depth, target=target, run=run_id, latest=latest)
    title = printable(Path(query)) if fp is not None else query
    if graph is not None:
        _draw(lin, graph, title)
    if as_json:
        doc = _lineage_json(lin, res)
        if match is not None:
            doc["match"] = match
            doc["candidates"] = others
        if same is not None:
            doc["same_pixels"] = same.to_dict()
        render.dump_json(doc)
    else:
        render.lineage_tree(
            lin,
            title,
            store=store_shown(store),
            note=res.note,
            same_pixels=same is not None,
            unrecorded_image=(same.image.pixel_id, same.image.iscc) if same else None,
        )


def _draw(lin: Lineage, path: Path, title: str) -> None:
    """Write a picture of the lineage in the format named by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix == ".graphml":
        from iscc_lineage.export.graph import write_graphml  # networkx only when asked for

        write_graphml(lin, path)
        return
    from iscc_lineage.export import diagram, svg

    if suffix == ".html":
        text = svg.to_html(lin, title)
    elif suffix == ".md":
        text = f"```mermaid\n{diagram.to_mermaid(lin)}```\n"
    else:
        text = {".svg": svg.to_svg, ".dot": diagram.to_dot, ".mmd": diagram.to_mermaid}[suffix](lin)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ExportError(f"{path}: cannot write: {exc.strerror}") from None
    click.echo(f"wrote {path}", err=True)


def _similar_or_exit(
    ctx: click.Context,
    store: Store,
    file: Path,
    fp: Fingerprint,
    max_distance: int | None,
    as_json: bool,
) -> Match:
    """The nearest recorded content within ``max_distance``, or a negative answer (exit 1)."""
    matches = find_similar(store, file, fp) if max_distance is not None else []
    if matches and matches[0].distance <= (max_distance or 0):
        best = matches[0]
        click.echo(
            f"{file}: not recorded; following the nearest by {best.method}: "
            f"{best.distance}/{best.bits} bits",
            err=True,
        )
        return best
    if as_json:
        render.dump_json(
            {
                "target": {"path": printable(file), "iscc": fp.iscc, "datahash": fp.datahash},
                "known": False,
                "candidates": [m.to_dict() for m in matches],
            }
        )
    click.echo(f"{file}: content {fp.iscc} is not in the lineage store", err=True)
    if matches:
        click.echo(f"nearest recorded contents (none within {max_distance} of 64 bits):", err=True)
        for m in matches:
            where = m.content.paths[0] if m.content.paths else m.content.iscc
            click.echo(f"  {m.distance:>2}/64 bits by {m.method}  {where}", err=True)
    elif max_distance is None:
        click.echo("(try --similar to look for a re-saved, resized or edited copy)", err=True)
    ctx.exit(EXIT_NEGATIVE)


OPTION_RUN = click.option(
    "--run",
    "run_ref",
    metavar="ID",
    help="Where several steps made (trace) or used (impact) a content, follow those of this "
    "run (an id prefix is enough).",
)
OPTION_LATEST = click.option(
    "--latest",
    is_flag=True,
    help="Where several steps made (trace) or used (impact) a content, follow the newest.",
)


@cli.command()
@click.argument("query", metavar="FILE|ISCC|DATAHASH")
@OPTION_DEPTH
@click.option(
    "--similar",
    is_flag=True,
    help="If FILE itself is not recorded, find the recorded content it shows. "
    "Pictures (PNG, JPEG, TIFF, WebP, SVG, PDF; a figure, a panel, a crop, a "
    "screenshot, a paper page) by codes and keypoint verification, named only "
    "when clearly better than every other candidate; other files by Data-Code.",
)
@click.option(
    "--threshold",
    type=click.IntRange(0, 64),
    default=SAME_FIGURE_BITS,
    show_default=True,
    help="With --similar, for files that are not pictures: the "
    "largest Data-Code distance, in bits of 64.",
)
@OPTION_RUN
@OPTION_LATEST
@OPTION_JSON
@OPTION_GRAPH
@click.pass_context
def trace(
    ctx: click.Context,
    query: str,
    depth: int | None,
    similar: bool,
    threshold: int,
    run_ref: str | None,
    latest: bool,
    as_json: bool,
    graph: Path | None,
) -> None:
    """Identify FILE by content and walk back through every step to the raw sources.

    FILE may also be an ISCC-SUM (ISCC:KUA…), a datahash (1e20…), or a path that is gone
    but was recorded. A file inside a recorded directory (an OME-Zarr chunk) traces to the
    directory's lineage. Works across runs: a content produced or used in many runs is one
    node; identical re-runs are shown once. Exit status 1 when the content is not in the
    store, or (--similar) when nothing is found or several recorded figures are within the
    margin ("ambiguous": every candidate is listed with its evidence); 2 for an empty file
    (every empty file shares one content, so it names no lineage).

    With --similar, a paper PDF or a multi-panel picture gives one line per panel: page, box,
    the recorded figure it shows, the evidence, and the raw acquisitions it comes from.

    \b
    Examples:
      iscc-lineage trace results/figures/summary.png
      iscc-lineage trace --json --depth 2 figure.png
      iscc-lineage trace --similar paper/fig2-panel-b.jpg
      iscc-lineage trace --similar --json paper.pdf
      iscc-lineage trace ISCC:KUAL24QRXXCE6JCAW5SIGVWU3M4AS
    """
    _walk_command(
        ctx, query, depth, as_json, "trace", threshold if similar else None, graph, run_ref, latest
    )


@cli.command()
@click.argument("query", metavar="FILE|ISCC|DATAHASH")
@OPTION_DEPTH
@OPTION_RUN
@OPTION_LATEST
@OPTION_JSON
@OPTION_GRAPH
@click.pass_context
def impact(
    ctx: click.Context,
    query: str,
    depth: int | None,
    run_ref: str | None,
    latest: bool,
    as_json: bool,
    graph: Path | None,
) -> None:
    """Identify FILE by content and walk forward to everything derived from it.

    FILE may also be an ISCC-SUM, a datahash, or a recorded path that is gone.

    \b
    Example:
      iscc-lineage impact raw/s01.tif
    """
    _walk_command(ctx, query, depth, as_json, "impact", graph=graph, run=run_ref, latest=latest)


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
    """Show a run or a step by id (a unique prefix is enough), or a file.

    For a FILE: its recorded content, its images (pixel codes, acquisition metadata: instrument,
    objective, channels, pixel sizes, date) and the recorded files holding the same pixels.

    Exit status 2 when nothing matches, or when the prefix fits more than one run or step.
    """
    if os.path.exists(ref):  # a file: its content, images and acquisition metadata
        from iscc_lineage.cli.images import show_file

        show_file(ctx, Path(ref), as_json)
        return
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
