"""Images: ``reindex --pixels`` (pixel codes for recorded bioimages, later) and ``show FILE``
(a file's images: pixel codes, the files with the same pixels, acquisition metadata)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from iscc_lineage import render
from iscc_lineage.cli.group import (
    EXIT_NEGATIVE,
    OPTION_JSON,
    OPTION_QUIET,
    DeferredCache,
    cli,
    open_from_context,
    printable,
)
from iscc_lineage.lineage import find_same_pixels, identify
from iscc_lineage.pixels import Outcome, code_contents, pending

__all__ = ["reindex", "show_file"]


@cli.command()
@click.option(
    "--pixels",
    is_flag=True,
    help="Pixel-code recorded bioimages (TIFF, OME-TIFF, OME-Zarr; CZI, ND2, LIF "
    "with their extras) that have no pixel code yet.",
)
@click.option(
    "--figures",
    is_flag=True,
    help="Figure-code recorded pictures (PNG, JPEG, TIFF, WebP, SVG, PDF) recorded "
    "before figure search, so `trace --similar` finds crops, panels and paper "
    "pages of them (done by itself on the first search too).",
)
@OPTION_JSON
@OPTION_QUIET
@click.pass_context
def reindex(ctx: click.Context, pixels: bool, figures: bool, as_json: bool, quiet: bool) -> None:
    """Add codes to contents already in the store.

    With --pixels, every recorded bioimage whose file still holds the recorded content gets
    its pixel codes and acquisition metadata: from then on its copies in other formats (same
    pixels) share its lineage. Files that changed since they were recorded are skipped;
    files no installed reader can open are noted and not retried.

    \b
    Examples:
      iscc-lineage reindex --pixels
      iscc-lineage reindex --figures
    """
    if not pixels and not figures:
        raise click.UsageError("nothing to do: give --pixels or --figures")
    if figures:
        from iscc_lineage.cli.figures import reindex_figures

        reindex_figures(ctx)
        if not pixels:
            return
    store = open_from_context(ctx)
    todo = pending(store)
    cache = DeferredCache(store)
    done: list[Outcome] = []
    with render.progress(
        sum(size for _, _, size in todo), "pixel codes", quiet=quiet or as_json
    ) as on_bytes:
        code_contents(
            store, [(h, p) for h, p, _ in todo], cache=cache, on_bytes=on_bytes, on_done=done.append
        )
    cache.flush()
    if as_json:
        render.dump_json({"outcomes": [_outcome_dict(o) for o in done]})
        return
    render.reindex_lines(done)


def _outcome_dict(o: Outcome) -> dict[str, Any]:
    out: dict[str, Any] = {"path": o.path, "datahash": o.datahash}
    if o.skipped:
        out["skipped"] = o.skipped
    elif o.result is not None:
        out["reader"] = o.result.reader
        out["note"] = o.result.note
        out["images"] = [i.to_dict() for i in o.result.images]
    return out


def show_file(ctx: click.Context, file: Path, as_json: bool) -> None:
    """``show FILE``: the recorded content of FILE with its images (pixel codes, acquisition
    metadata) and the other recorded files holding the same pixels.

    A FILE that is not recorded but holds a recorded image's pixels (another format of it)
    shows that image. Exit status 1 when neither is known.
    """
    store = open_from_context(ctx)
    cache = DeferredCache(store)
    fp, content = identify(store, file, cache=cache)
    cache.flush()
    via = False
    if content is None:
        same = find_same_pixels(store, file)
        if same is None:
            if as_json:
                render.dump_json(
                    {
                        "file": {
                            "path": printable(file),
                            "iscc": fp.iscc,
                            "datahash": fp.datahash,
                            "known": False,
                        }
                    }
                )
            click.echo(
                f"{file}: neither its content nor its pixels are in the lineage store", err=True
            )
            ctx.exit(EXIT_NEGATIVE)
            return
        content, via = same.content, True
    images = store.images([content.datahash]).get(content.datahash, [])
    twins = store.same_pixels([content.datahash]).get(content.datahash, [])
    others = store.contents(twins)
    note = store.pixel_notes([content.datahash]).get(content.datahash)
    if as_json:
        render.dump_json(
            {
                "file": {
                    "path": printable(file),
                    "known": True,
                    "same_pixels_only": via,
                    "content": content.to_dict(),
                    "pixel_note": note,
                    "images": [i.to_dict() for i in images],
                    "same_pixels": [c.to_dict() for _, c in sorted(others.items())],
                }
            }
        )
        return
    render.content_detail(
        printable(file), content, images, list(others.values()), note, same_pixels=via
    )
