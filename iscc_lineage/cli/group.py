"""The root click group: global options, and LineageError reported as one line, exit 2."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from iscc_lineage import __version__
from iscc_lineage.errors import LineageError

__all__ = ["EXIT_ERROR", "EXIT_NEGATIVE", "EXIT_SUCCESS", "Group", "cli"]

EXIT_SUCCESS = 0
EXIT_NEGATIVE = 1
EXIT_ERROR = 2

EPILOG = """\b
Exit status: 0 success; 1 a negative answer (content unknown, verify found a change);
2 trouble (bad input, unreadable store, usage error).
The store is --store, else $ISCC_LINEAGE_STORE, else .iscc-lineage/lineage.db."""


class Group(click.Group):
    """A click group that reports :class:`LineageError` as one line and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LineageError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(EXIT_ERROR)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except KeyboardInterrupt:  # pragma: no cover - interactive
            click.echo("Aborted.", err=True)
            sys.exit(130)


@click.group(cls=Group, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--store", type=click.Path(path_type=Path), envvar="ISCC_LINEAGE_STORE",
              help="Lineage store (SQLite file).  [default: .iscc-lineage/lineage.db]")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv: debug).")
@click.version_option(__version__, "-V", "--version", prog_name="iscc-lineage")
@click.pass_context
def cli(ctx: click.Context, store: Path | None, verbose: int) -> None:
    """Content-addressed provenance for Snakemake pipelines, with ISCC codes (ISO 24138).

    \b
    Fingerprint files, record steps, trace a figure back to the raw acquisitions by content,
    walk the impact of a raw file forward, verify recorded files, export RO-Crates.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="iscc-lineage: %(levelname)s: %(message)s")
    ctx.obj = {"store": store}
