"""Figure search against the store: the recorded pictures a query picture shows."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from iscc_lineage.codes.pictures import (
    CODES_SCHEME,
    DETAIL_SCHEME,
    FIGURE_SUFFIXES,
    INDEX_SCHEME,
    SKIP_SCHEME,
    is_figure,
)
from iscc_lineage.model import Content
from iscc_lineage.similar.evidence import RIVALS, Finding, Policy, collect, findings
from iscc_lineage.similar.separate import store_separator
from iscc_lineage.store import Store

if TYPE_CHECKING:
    from iscc_lineage.codes.figcodes import CodeIndex, FigureCodes

__all__ = ["Search", "figure_index", "figure_search", "needs_coding", "reindex", "uncoded"]

DEFAULT_POLICY = Policy()


@dataclass(slots=True)
class Search:
    """The answer of a figure search: findings per page/panel and the contents they name."""

    findings: list[Finding]
    contents: dict[int, Content]  #: every content a finding names or lists
    notes: list[str]

    def named(self) -> list[Content]:
        """Distinct contents named by a match, in finding order."""
        out: dict[int, Content] = {}
        for f in self.findings:
            if f.match is not None:
                out.setdefault(f.match.content_id, self.contents[f.match.content_id])
        return list(out.values())


def uncoded(store: Store) -> dict[str, str]:
    """Recorded pictures without figure codes (recorded before them): datahash -> a path of
    the content that still exists on disk."""
    import os

    ids = store.contents_lacking([CODES_SCHEME, SKIP_SCHEME], FIGURE_SUFFIXES)
    out: dict[str, str] = {}
    for c in store.contents_by_id(ids).values():
        for p in c.paths:
            if is_figure(Path(p), c.size) and os.path.isfile(p) and os.path.getsize(p) == c.size:
                out[c.datahash] = p
                break
    return out


def reindex(
    store: Store, on_done: Callable[[int, int], None] | None = None, batch: int = 32
) -> tuple[int, int]:
    """Compute the figure codes of recorded pictures that have none (lazily, once each).

    A file only counts as the content if its bytes still hash to the recorded datahash.
    Returns (pictures coded, pictures whose file changed or vanished).
    """
    from iscc_lineage.codes import fingerprint_path
    from iscc_lineage.codes.figcodes import picture_rows

    todo = uncoded(store)
    done = changed = 0
    items = sorted(todo.items())
    for start in range(0, len(items), batch):
        chunk = {}
        for h, p in items[start : start + batch]:
            try:
                same = fingerprint_path(Path(p), cache=store).datahash == h
            except (OSError, ValueError):
                same = False
            if same:
                chunk[h] = p
            else:
                changed += 1
                store.add_codes([(h, SKIP_SCHEME, f"{p}: no longer holds this content")])
        if chunk:
            store.add_codes(picture_rows(chunk))
            done += len(chunk)
        if on_done is not None:
            on_done(min(start + batch, len(items)), len(items))
    return done, changed


INDEX_CACHE_SUFFIX = ".figindex"  #: next to a SQLite store: the coarse index as raw arrays
CHECKED_SUFFIX = ".figchecked"  #: next to a SQLite store: the state uncoded() found nothing at


def _beside(store: Store, suffix: str) -> Path | None:
    where = store.location  # a SQLite file's path; a server's URL is no file
    return Path(where + suffix) if Path(where).is_file() else None


def figure_index(store: Store) -> CodeIndex:
    """The coarse index of every recorded picture. For a SQLite store it is cached next to
    the store file, keyed by the index rows' generation (count, newest id, bytes): reading
    10^5 rows again costs more than the whole scan."""
    from iscc_lineage.codes.figcodes import CodeIndex

    key = store.blob_generation(INDEX_SCHEME)
    cache = _beside(store, INDEX_CACHE_SUFFIX)
    return CodeIndex.cached(cache, key, lambda: store.blob_values(INDEX_SCHEME))


def needs_coding(store: Store) -> dict[str, str]:
    """:func:`uncoded`, skipped when nothing was recorded since it last found none (the newest
    content and observation ids are unchanged): a search among 10^5 pictures need not look
    for pictures recorded before figure codes each time."""
    marker = _beside(store, CHECKED_SUFFIX)
    state = store.newest_ids()
    if marker is not None:
        try:
            if marker.read_text(encoding="ascii") == state:
                return {}
        except OSError:
            pass
    todo = uncoded(store)
    if not todo and marker is not None:
        with contextlib.suppress(OSError):  # a read-only folder: check again next time
            marker.write_text(state, encoding="ascii")
    return todo


def figure_search(store: Store, path: Path, policy: Policy = DEFAULT_POLICY) -> Search:
    """Search the recorded figures for what the picture at ``path`` shows."""
    from iscc_lineage.codes.figcodes import FigureCodes, query_views, split_codes

    cache: dict[int, FigureCodes] = {}

    def details(ids: Sequence[int]) -> dict[int, FigureCodes]:
        for cid, value in store.blob_values_of(ids, DETAIL_SCHEME).items():
            cache[cid] = FigureCodes.from_detail_value(value)
        return cache

    def full(ids: Sequence[int]) -> dict[int, list[bytes]]:
        return {cid: split_codes(v) for cid, v in store.blob_values_of(ids, CODES_SCHEME).items()}

    views = query_views(path)

    def rivals(ids: Sequence[int]) -> list[int]:
        return store.blob_rivals(ids, CODES_SCHEME, RIVALS)

    found = collect(views, figure_index(store), details, full, rivals)
    result = findings(found, policy, store_separator(store, path, found))
    ids = {e.content_id for f in result for e in f.candidates}
    contents = store.contents_by_id(ids)
    return Search([_collapse(store, f, contents) for f in result], contents, found.notes)


def _collapse(store: Store, f: Finding, contents: Mapping[int, Content]) -> Finding:
    """Among candidates the evidence cannot separate, drop those made into another candidate
    (a raw TIFF and the PNG exported from it with the same pixels): the one made last holds
    the others in its lineage. One left: it is the match; more: still ambiguous."""
    if f.status != "ambiguous":
        return f
    upstream: set[str] = set()
    for e in f.candidates:
        c = contents[e.content_id]
        steps = store.steps_by_id(store.walk(c.datahash, "trace"))
        upstream |= {
            x.datahash for s in steps for x in s.inputs if x.datahash and x.datahash != c.datahash
        }
    keep = [e for e in f.candidates if contents[e.content_id].datahash not in upstream]
    dropped = len(f.candidates) - len(keep)
    if not dropped or not keep:
        return f
    status: Literal["match", "ambiguous"] = "match" if len(keep) == 1 else "ambiguous"
    return Finding(
        f.page, f.box, f.kind, status, keep, f.margin, dropped, f.separation, f.resolution
    )
