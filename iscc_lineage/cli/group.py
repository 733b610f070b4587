"""The root click group: global options, and LineageError reported as one line, exit 2."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from iscc_lineage import locations
from iscc_lineage._version import __version__
from iscc_lineage.errors import LineageError
from iscc_lineage.model import Fingerprint
from iscc_lineage.store import DEFAULT_STORE, Store, find_store, open_store

__all__ = [
    "EXIT_ERROR",
    "EXIT_NEGATIVE",
    "EXIT_SUCCESS",
    "OPTION_DEPTH",
    "OPTION_JSON",
    "OPTION_QUIET",
    "PATH_ANY",
    "DeferredCache",
    "Group",
    "cli",
    "open_from_context",
    "printable",
    "store_shown",
]

EXIT_SUCCESS = 0
EXIT_NEGATIVE = 1
EXIT_ERROR = 2

EPILOG = """\b
Exit status: 0 success; 1 a negative answer (content unknown, verify found a change);
2 trouble (bad input, unreadable store, usage error).
The store is --store, else $ISCC_LINEAGE_STORE, else .iscc-lineage/lineage.db."""


#: command -> the module of ``iscc_lineage.cli`` that defines it, imported when the command is
#: asked for: `fingerprint` does not pay for the export, reproduce or signing code at startup
COMMANDS = {
    **dict.fromkeys(("fingerprint", "record"), "record"),
    **dict.fromkeys(("trace", "impact", "runs", "show"), "lineage"),
    **dict.fromkeys(("init", "run", "import"), "workflow"),
    **dict.fromkeys(("keys", "sign", "declare"), "sign"),
    **dict.fromkeys(("reproduce", "diff"), "reproduce"),
    "export": "export",
    "reindex": "images",
    "store": "store",
    "verify": "verify",
}


def load_commands(names: Sequence[str] | None = None) -> None:
    """Import the modules that register ``names`` (all commands by default)."""
    for module in sorted({COMMANDS[n] for n in (COMMANDS if names is None else names)}):
        importlib.import_module(f"iscc_lineage.cli.{module}")


class Group(click.Group):
    """A click group that reports :class:`LineageError` as one line and exit status 2.

    The root group loads its commands' modules on demand (:data:`COMMANDS`).
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        if self.name == "cli":
            return sorted({*self.commands, *COMMANDS})
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if self.name == "cli" and cmd_name not in self.commands and cmd_name in COMMANDS:
            load_commands([cmd_name])
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LineageError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(EXIT_ERROR)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("standalone_mode", True) is False:
            return super().main(*args, **kwargs)
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.UsageError as exc:  # one line, not click's usage + hint + error
            where = exc.ctx.command_path if exc.ctx is not None else "iscc-lineage"
            click.echo(f"Error: {exc.format_message()} (see '{where} --help')", err=True)
            sys.exit(EXIT_ERROR)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except (click.Abort, KeyboardInterrupt):
            click.echo("Aborted.", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else EXIT_SUCCESS)


@click.group(cls=Group, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--store",
    type=str,
    envvar="ISCC_LINEAGE_STORE",
    metavar="PATH|URL",
    help="Lineage store: a SQLite file, or postgresql://user@host/db for a "
    "lab-wide store.  [default: .iscc-lineage/lineage.db]",
)
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv: debug).")
@click.version_option(__version__, "-V", "--version", prog_name="iscc-lineage")
@click.pass_context
def cli(ctx: click.Context, store: str | None, verbose: int) -> None:
    """Content-addressed provenance for Snakemake pipelines, with ISCC codes (ISO 24138).

    \b
    Fingerprint files, record steps, trace a figure back to the raw acquisitions by content,
    walk the impact of a raw file forward, verify recorded files, export RO-Crates.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="iscc-lineage: %(levelname)s: %(message)s")
    ctx.obj = {"store": store}


OPTION_JSON = click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
OPTION_DEPTH = click.option(
    "--depth",
    type=click.IntRange(min=1),
    default=None,
    help="Follow at most N steps.  [default: all]",
)
OPTION_QUIET = click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
PATH_ANY = click.Path(path_type=Path, exists=False)


def open_from_context(ctx: click.Context, *, create: bool = False) -> Store:
    """Open the store named by ``--store`` / ``$ISCC_LINEAGE_STORE``, else the nearest
    ``.iscc-lineage/lineage.db`` in this folder or above it (as git finds ``.git``), else
    ``.iscc-lineage/lineage.db`` here.

    It is closed with the command's context, so SQLite removes its -wal and -shm files.
    """
    given = ctx.obj.get("store") if ctx.obj else None
    store = open_store(given or find_store(Path.cwd()) or DEFAULT_STORE, create=create)
    ctx.call_on_close(store.close)
    return store


def store_shown(store: Store) -> str:
    """The store's location as the user would type it from here."""
    loc = store.location
    if "://" in loc or loc == ":memory:":
        return loc
    rel = os.path.relpath(loc)
    return rel if len(rel) < len(loc) else loc


class DeferredCache:
    """The store's stat cache, with writes held back until the input is known to be good.

    ``store`` may be None while the store does not exist yet (a first ``record``): nothing
    is found, entries are held, and :meth:`flush` writes them once ``store`` is set."""

    def __init__(self, store: Store | None) -> None:
        self.store = store
        self.held: list[tuple[str, Fingerprint]] = []

    def cache_get(self, key: str) -> Fingerprint | None:
        return self.store.cache_get(key) if self.store is not None else None

    def cache_get_many(self, keys: Sequence[str]) -> dict[str, Fingerprint]:
        return self.store.cache_get_many(keys) if self.store is not None else {}

    def cache_put(self, entries: Sequence[tuple[str, Fingerprint]]) -> None:
        self.held.extend(entries)

    def flush(self) -> None:
        if self.held and self.store is not None:
            self.store.cache_put(self.held)
            self.held.clear()


def printable(path: Path) -> str:
    """An absolute path as text that can always be printed (non-UTF-8 bytes escaped)."""
    return locations.printable(os.path.abspath(path))
