"""``iscc-lineage store copy``: move lineage between stores (SQLite <-> PostgreSQL)."""

from __future__ import annotations

import click

from iscc_lineage import render
from iscc_lineage.cli.group import OPTION_JSON, OPTION_QUIET, cli
from iscc_lineage.store import open_store
from iscc_lineage.store.copy import copy_store, count_items


@cli.group("store")
def store_group() -> None:
    """Manage lineage stores: copy one into another (e.g. project SQLite files into the lab's
    PostgreSQL store)."""


@store_group.command("copy")
@click.argument("src", metavar="SRC")
@click.argument("dst", metavar="DST")
@OPTION_QUIET
@OPTION_JSON
def copy_command(src: str, dst: str, quiet: bool, as_json: bool) -> None:
    """Copy every run, step and content of SRC that DST lacks.

    SRC and DST are SQLite files or postgresql://user@host/db URLs (passwords from
    ~/.pgpass or PGPASSWORD). Contents are matched by datahash, runs and steps by id, so
    copying again adds only what is new, and an interrupted copy resumes where it stopped.
    The stat cache is not copied (it is specific to one machine's files).

    \b
    Examples:
      iscc-lineage store copy .iscc-lineage/lineage.db postgresql://lab@db.lab/lineage
      iscc-lineage store copy postgresql://lab@db.lab/lineage backup.db
    """
    with open_store(src, create=False) as source, open_store(dst, create=True) as target:
        if source.location == target.location:
            raise click.UsageError("SRC and DST are the same store")
        with render.count_progress(count_items(source), "copy", quiet=quiet) as on_item:
            result = copy_store(source, target, on_item=on_item)
        shown = target.location
    if as_json:
        render.dump_json(
            {
                "target": shown,
                "contents": result.contents,
                "contents_present": result.contents_present,
                "runs": result.runs,
                "runs_present": result.runs_present,
                "runs_updated": result.runs_updated,
                "steps": result.steps,
                "observations": result.observations,
                "codes": result.codes,
            }
        )
        return
    click.echo(
        f"Copied {result.runs} runs ({result.steps} steps, {result.observations} "
        f"observations) and {result.contents} contents into {shown}; "
        f"{result.runs_present} runs and {result.contents_present} contents were "
        f"there already"
        + (f", {result.runs_updated} runs updated" if result.runs_updated else "")
        + "."
    )
