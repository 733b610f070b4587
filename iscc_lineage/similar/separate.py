"""Where the pixels of a near-identical candidate come from: its recorded file when it is still
on disk with the recorded content (a re-fingerprint through the store's stat cache decides,
never the modification time), else its stored thumbnail. All candidates of one comparison come
from the same kind of source (files for all, or thumbnails for all): a full-resolution file
against a thumbnail would decide by resolution, not by content."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from iscc_lineage.similar.evidence import Collected, Evidence, Separator

if TYPE_CHECKING:
    from iscc_lineage.codes.compare import Separation, Source
    from iscc_lineage.codes.figure import Gray

__all__ = ["separator"]


def separator(
    c: Collected,
    pages: Callable[[], Mapping[int, Gray]],
    paths: Callable[[int], Sequence[Path]],
) -> Separator:
    """A :data:`Separator` for the views of ``c``: ``pages()`` decodes the query's pages (once,
    on first use), ``paths(content_id)`` the candidate's files still holding its content.
    Comparisons are kept in ``c.separations`` (another policy reuses them)."""
    from iscc_lineage.codes.compare import file_source, separate, thumb_source

    files: dict[tuple[int, int], Source | None] = {}
    decoded: list[Mapping[int, Gray]] = []

    def from_file(e: Evidence) -> Source | None:
        key = (e.content_id, e.region.page)
        if key not in files:
            files[key] = None
            for p in paths(e.content_id):
                src = file_source(p, e.region.page, e.region.box)
                if src is not None:
                    files[key] = src
                    break
        return files[key]

    def run(pos: int, cands: Sequence[Evidence]) -> Separation | None:
        key = (pos, tuple(e.content_id for e in cands))
        if key in c.separations:
            return c.separations[key]
        view = c.views[pos]
        out: Separation | None = None
        srcs = [from_file(e) for e in cands]
        if any(s is None for s in srcs):
            details = [e.region.detail for e in cands]
            srcs = [thumb_source(d) if d is not None else None for d in details]
        if not decoded:
            decoded.append(pages())
        if view.page in decoded[0] and all(s is not None for s in srcs):
            out = separate(
                decoded[0][view.page],
                view.box,
                [(s, e.geometry.transform) for s, e in zip(srcs, cands, strict=True) if s],
            )
        c.separations[key] = out
        return out

    return run
