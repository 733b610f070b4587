"""Transient progress bars on a terminal's stderr (bytes or items), or none off a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from iscc_lineage.render.console import err

__all__ = ["count_progress", "progress", "progress_shown"]


def progress_shown(quiet: bool = False) -> bool:
    """Whether :func:`progress` would draw a bar (stderr is a terminal and not quiet)."""
    return not quiet and err().is_terminal


@contextmanager
def progress(
    total: int, label: str, *, quiet: bool = False
) -> Iterator[Callable[[int], None] | None]:
    """A transient byte-progress bar on stderr, or ``None`` when stderr is not a terminal."""
    if quiet or total <= 0 or not err().is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err(),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


@contextmanager
def count_progress(
    total: int, label: str, *, quiet: bool = False
) -> Iterator[Callable[[int], None] | None]:
    """A transient progress bar counting items (``12,000/40,000``) on a terminal's stderr."""
    if quiet or total <= 0 or not err().is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err(),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
