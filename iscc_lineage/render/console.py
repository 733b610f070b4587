"""The rich consoles (stdout for results, stderr for progress), markup escaping, JSON out."""

from __future__ import annotations

import json
import os
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

from iscc_lineage.model import Content

__all__ = [
    "content_label",
    "dump_json",
    "err",
    "escape",
    "out",
    "rel",
    "same_pixels_label",
    "status_markup",
]


# rich is imported at first use, not with the module: `iscc-lineage fingerprint` draws
# nothing and should not pay ~40 ms of start-up for it.
@cache
def out() -> Console:
    from rich.console import Console

    # Off a terminal (a pipe, a file, a CI log) rich would wrap trees at 80 columns and cut
    # ISCCs in half: give it room instead.
    return Console(soft_wrap=True, highlight=False, width=None if sys.stdout.isatty() else 240)


@cache
def err() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def escape(text: str) -> str:
    """Escape rich markup in user text (file names, step names may contain '[')."""
    return text.replace("[", "\\[")


def dump_json(value: Any) -> None:
    """Write one JSON document to stdout (UTF-8, stable key order)."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def rel(path: str) -> str:
    """``path`` relative to the working directory, unless that climbs more than one level."""
    try:
        shown = os.path.relpath(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return path
    return shown if not shown.startswith("../../") else path


def status_markup(status: str) -> str:
    """A run's or step's status, coloured."""
    colour = {
        "finished": "green",
        "failed": "red",
        "running": "yellow",
        "incomplete": "yellow",
        "interrupted": "yellow",
    }.get(status, "white")
    return f"[{colour}]{status}[/]"


def content_label(c: Content, *, focus: str | None = None) -> str:
    """A content as its path (``focus``, else its first) and ISCC."""
    where = focus or (c.paths[0] if c.paths else "(no known path)")
    more = f" [dim](+{len(c.paths) - 1} paths)[/]" if len(c.paths) > 1 and not focus else ""
    return f"[bold]{escape(rel(where))}[/] [dim]{c.iscc}[/]{more}"


def same_pixels_label(c: Content) -> str:
    """A content holding the same image as another file."""
    return f"[magenta]same pixels as[/] {content_label(c)} [dim](different file)[/]"
