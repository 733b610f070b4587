"""Where the pixels of a near-identical candidate come from: its recorded file when it is still
on disk with the recorded content (a re-fingerprint through the store's stat cache decides,
never the modification time), else its stored thumbnail. All candidates of one comparison come
from the same kind of source (files for all, or thumbnails for all): a full-resolution file
against a thumbnail would decide by resolution, not by content."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from iscc_lineage.model import Content
from iscc_lineage.similar.evidence import Collected, Evidence, Separator
from iscc_lineage.store import Store

if TYPE_CHECKING:
    from iscc_lineage.codes.compare import Separation, Source
    from iscc_lineage.codes.figure import Gray

__all__ = ["VECTOR_SUFFIXES", "holding", "is_vector", "separator", "store_separator"]


def separator(
    c: Collected,
    pages: Callable[[], Mapping[int, Gray]],
    paths: Callable[[int], Sequence[Path]],
    vector: Callable[[int], bool],
) -> Separator:
    """A :data:`Separator` for the views of ``c``: ``pages()`` decodes the query's pages (once,
    on first use), ``paths(content_id)`` the candidate's files still holding its content,
    ``vector(content_id)`` whether it is a vector figure.
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

    def compare(pos: int, cands: Sequence[Evidence]) -> Separation | None:
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

    return _Separator(compare, vector)


class _Separator:
    def __init__(
        self,
        compare: Callable[[int, Sequence[Evidence]], Separation | None],
        vector: Callable[[int], bool],
    ) -> None:
        self._compare = compare
        self._vector = vector

    def __call__(self, pos: int, cands: Sequence[Evidence]) -> Separation | None:
        return self._compare(pos, cands)

    def vector(self, content_id: int) -> bool:
        return self._vector(content_id)


VECTOR_SUFFIXES = (".svg", ".svgz", ".pdf", ".eps", ".ps")


def is_vector(path: str | Path) -> bool:
    """A figure drawn by a renderer at decoding (SVG, PDF, EPS), not stored as pixels."""
    return Path(path).suffix.lower() in VECTOR_SUFFIXES


def holding(store: Store, c: Content) -> list[Path]:
    """The recorded paths of ``c`` that still hold its content: same size, and the bytes
    hash to its datahash (through the store's stat cache: content decides, never mtime)."""
    import os

    from iscc_lineage.codes import fingerprint_path

    out = []
    for p in c.paths:
        try:
            if os.path.getsize(p) != c.size:
                continue
            if fingerprint_path(Path(p), cache=store).datahash == c.datahash:
                out.append(Path(p))
        except (OSError, ValueError):
            continue
    return out


def store_separator(store: Store, query: Path, c: Collected) -> Separator:
    """The :func:`separator` of a search on ``store``: the query decoded as for its views, the
    candidates' files found through their recorded paths."""
    from iscc_lineage.codes.compare import query_pages
    from iscc_lineage.codes.figcodes import PAPER_SIDE
    from iscc_lineage.codes.figure import CODE_SIDE

    known: dict[int, Content | None] = {}

    def content(cid: int) -> Content | None:
        if cid not in known:
            known[cid] = store.contents_by_id([cid]).get(cid)
        return known[cid]

    def paths(cid: int) -> list[Path]:
        c = content(cid)
        return [] if c is None else holding(store, c)

    def vector(cid: int) -> bool:  # by the recorded paths alone: no file is read
        c = content(cid)
        return c is not None and any(is_vector(p) for p in c.paths)

    side = PAPER_SIDE if query.suffix.lower() == ".pdf" else CODE_SIDE
    return separator(c, lambda: query_pages(query, side), paths, vector)
