"""``trace --similar`` for pictures and papers, and ``reindex``: the figure search at the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from iscc_lineage import render
from iscc_lineage.cli.group import EXIT_NEGATIVE, open_from_context, printable
from iscc_lineage.lineage import walk
from iscc_lineage.lineage.paper import Panel, paper_lineage
from iscc_lineage.model import Content, Fingerprint, Lineage
from iscc_lineage.similar import Evidence, Finding, Search, figure_search, reindex, uncoded
from iscc_lineage.similar.search import needs_coding
from iscc_lineage.store import Store

__all__ = ["evidence_dict", "figure_search_or_exit", "reindex_figures", "resolve_figure"]


def _progress_reindex(store: Store, todo: int) -> tuple[int, int]:
    """Code ``todo`` older pictures with a progress bar on stderr."""
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("coding recorded pictures", total=todo)
        return reindex(store, lambda done, _total: bar.update(task, completed=done))


def lazy_reindex(store: Store) -> None:
    """Code the pictures recorded before figure codes existed, once, before a search."""
    todo = len(needs_coding(store))
    if todo:
        done, changed = _progress_reindex(store, todo)
        click.echo(
            f"coded {done} recorded picture(s) for figure search"
            + (f"; {changed} changed or gone since recorded" if changed else ""),
            err=True,
        )


def evidence_dict(e: Evidence, f: Finding, c: Content) -> dict[str, Any]:
    """A candidate or match as JSON: which recorded content, and why."""
    return {
        "datahash": c.datahash,
        "iscc": c.iscc,
        "paths": list(c.paths),
        **e.to_dict(),
        "page_in_query": f.page,
        "box_in_query": [round(v, 1) for v in f.box],
        "margin": f.margin,
        "resolution": f.resolution,
        "pixels": f.separation.get(e.content_id),
    }


def _why(e: Evidence) -> str:
    g = e.geometry
    return (
        f"{g.inliers} keypoint inliers, scale {g.scale:.2f}, residual {g.residual:.4f}, "
        f"correlation {g.correlation:.3f}, box in original "
        f"[{', '.join(f'{v:.0f}' for v in g.box)}]"
    )


def _pixels(f: Finding, e: Evidence) -> str:
    """The pixel comparison of a listed candidate against the best, if one was made."""
    p = f.separation.get(e.content_id)
    if not p or "differing_pixels" not in p:
        return ""
    return (
        f"; vs the first, from the {f.resolution}: {p['differing_pixels']} differing pixels, "
        f"error there {p['error_best']} vs {p['error_other']}, "
        f"mean squared {p['mse_best']} vs {p['mse_other']}"
    )


def _name(c: Content) -> str:
    return printable(Path(c.paths[0])) if c.paths else c.iscc


def _box(f: Finding) -> str:
    return "[" + ", ".join(f"{v:.0f}" for v in f.box) + "]"


def _sources(store: Store, c: Content) -> list[Content]:
    return list(walk(store, c.datahash, "trace").ends)


Draw = Callable[[Lineage, Path, str], None]


def figure_search_or_exit(
    ctx: click.Context,
    store: Store,
    file: Path,
    fp: Fingerprint,
    as_json: bool,
    graph: Path | None,
    draw: Draw | None = None,
) -> tuple[Content, dict[str, Any], list[dict[str, Any]]] | None:
    """The recorded figure ``file`` shows, with the evidence as JSON; or a negative answer.

    Returns None when no recorded picture verifies (the caller may still try the Data-Code).
    Exits 1 when the best candidates are within the margin ("ambiguous"), 0 after printing
    one line per panel for a paper (a PDF, or several panels naming different figures).
    """
    lazy_reindex(store)
    search = figure_search(store, file)
    for note in search.notes:
        click.echo(f"{printable(file)}: {note}", err=True)
    real = [f for f in search.findings if f.status != "none"]
    if not real:
        return None
    if file.suffix.lower() == ".pdf" or len({_key(f) for f in real}) > 1:
        _paper(ctx, store, file, fp, search, as_json, (graph, draw) if graph and draw else None)
    f = real[0]
    if f.status == "ambiguous":
        _ambiguous_exit(ctx, file, fp, f, search, as_json)
    assert f.match is not None
    c = search.contents[f.match.content_id]
    click.echo(
        f"{printable(file)}: not recorded; it shows {_name(c)} ({_why(f.match)}"
        + (
            f", margin {f.margin:.4f} to the runner-up"
            if f.margin is not None and not f.collapsed
            else ""
        )
        + (f"; {f.collapsed} equally near picture(s) are in its own lineage" if f.collapsed else "")
        + ")",
        err=True,
    )
    others = [evidence_dict(e, f, search.contents[e.content_id]) for e in f.candidates[1:]]
    return c, evidence_dict(f.match, f, c), others


def resolve_figure(
    ctx: click.Context, store: Store, file: Path
) -> tuple[Content, dict[str, Any]] | None:
    """For ``export crate --similar``: the recorded figure ``file`` shows and the evidence;
    None if no picture verifies; exit 1 when ambiguous or the file shows several figures."""
    from iscc_lineage.codes import fingerprint_path
    from iscc_lineage.codes.pictures import is_figure

    fp = fingerprint_path(file, cache=store)
    if not is_figure(file, fp.size):
        return None
    lazy_reindex(store)
    search = figure_search(store, file)
    real = [f for f in search.findings if f.status != "none"]
    if not real:
        return None
    if len({_key(f) for f in real}) > 1:
        click.echo(
            f"{printable(file)}: shows {len(real)} different figures; export each "
            "panel's figure with --for, or see `trace --similar`",
            err=True,
        )
        ctx.exit(EXIT_NEGATIVE)
    f = real[0]
    if f.status == "ambiguous":
        _ambiguous_exit(ctx, file, fp, f, search, False)
    assert f.match is not None
    c = search.contents[f.match.content_id]
    click.echo(
        f"{printable(file)}: exporting the lineage of {_name(c)} ({_why(f.match)})", err=True
    )
    doc = evidence_dict(f.match, f, c)
    doc["runners_up"] = [
        evidence_dict(e, f, search.contents[e.content_id]) for e in f.candidates[1:]
    ]
    return c, doc


def _key(f: Finding) -> tuple[int, ...]:
    return tuple(sorted({e.content_id for e in f.candidates}))


def _target(file: Path, fp: Fingerprint) -> dict[str, Any]:
    return {"path": printable(file), "iscc": fp.iscc, "datahash": fp.datahash}


def _ambiguous_exit(
    ctx: click.Context, file: Path, fp: Fingerprint, f: Finding, search: Search, as_json: bool
) -> None:
    cands = [(e, search.contents[e.content_id]) for e in f.candidates]
    if as_json:
        render.dump_json(
            {
                "target": _target(file, fp),
                "known": False,
                "ambiguous": True,
                "candidates": [evidence_dict(e, f, c) for e, c in cands],
            }
        )
    click.echo(
        f"{printable(file)}: ambiguous: {len(cands)} figures within the margin; "
        "the evidence cannot tell them apart:",
        err=True,
    )
    for e, c in cands:
        click.echo(f"  {_name(c)}  ({_why(e)}{_pixels(f, e)})", err=True)
    ctx.exit(EXIT_NEGATIVE)


def _paper(
    ctx: click.Context,
    store: Store,
    file: Path,
    fp: Fingerprint,
    search: Search,
    as_json: bool,
    graph: tuple[Path, Draw] | None = None,
) -> None:
    """One line per panel (page, box, figure, evidence, raw acquisitions); exit 0 if any panel
    was matched, else 1. ``graph``: the whole paper's lineage in one picture (every matched
    panel's figure and its lineage, lineage.paper)."""
    panels: list[dict[str, Any]] = []
    matched: list[Panel] = []
    for f in search.findings:
        entry: dict[str, Any] = {
            "page": f.page + 1,
            "box": [round(v, 1) for v in f.box],
            "status": f.status,
            "match": None,
            "candidates": [],
            "sources": [],
        }
        if f.status == "match" and f.match is not None:
            c = search.contents[f.match.content_id]
            src = _sources(store, c)
            entry["match"] = evidence_dict(f.match, f, c)
            entry["sources"] = [s.to_dict() for s in src]
            matched.append(Panel(f.page + 1, f.box, c, _why(f.match)))
            if not as_json:
                raw = ", ".join(_name(s) for s in src) or "-"
                click.echo(
                    f"page {f.page + 1} {_box(f)}: {_name(c)}  ({_why(f.match)})  <- raw: {raw}"
                )
        elif f.status == "ambiguous":
            entry["candidates"] = [
                evidence_dict(e, f, search.contents[e.content_id]) for e in f.candidates
            ]
            if not as_json:
                names = "; ".join(
                    f"{_name(search.contents[e.content_id])} "
                    f"({e.geometry.inliers} inliers, residual {e.residual:.4f})"
                    for e in f.candidates
                )
                click.echo(
                    f"page {f.page + 1} {_box(f)}: ambiguous: {len(f.candidates)} "
                    f"figures within the margin: {names}"
                )
        elif not as_json:
            click.echo(f"page {f.page + 1} {_box(f)}: no recorded figure")
        panels.append(entry)
    if graph is not None and matched:
        path, draw = graph
        draw(paper_lineage(store, fp, printable(file), matched), path, printable(file))
    elif graph is not None:
        click.echo(f"{printable(file)}: no panel matched; no graph written", err=True)
    if as_json:
        render.dump_json({"target": _target(file, fp), "panels": panels})
    ctx.exit(0 if any(p["status"] == "match" for p in panels) else EXIT_NEGATIVE)


def reindex_figures(ctx: click.Context) -> None:
    """``reindex --figures``: figure codes for recorded pictures that have none."""
    store = open_from_context(ctx)
    store.check_writable()
    todo = len(uncoded(store))
    done, changed = _progress_reindex(store, todo) if todo else (0, 0)
    click.echo(
        f"coded {done} of {todo} picture(s) for figure search"
        + (f"; {changed} changed or gone since recorded" if changed else "")
    )
