"""A checksum file that ``iscc-sum -c`` verifies: the recorded narrow ISCC-SUM of every file
an export selection used or generated, as ``ISCC:KUA… *path`` lines (folders ``*path/``, the
form of ``iscc-sum --tree --narrow``).

Paths are relative to the checksum file's folder: run ``iscc-sum -c`` there. Codes are the
recorded ones (never re-hashed), so a file changed since the run fails the check.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iscc_lineage.errors import ExportError
from iscc_lineage.export.select import select
from iscc_lineage.locations import is_url
from iscc_lineage.store import Store
from iscc_lineage.verify import GONE_TEMP, removed_temps

__all__ = ["ChecksumSummary", "export_checksums"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChecksumSummary:
    """What was written, and which recorded locations were left out and why."""

    out: str
    lines: int
    skipped: dict[str, str] = field(default_factory=dict)  #: location -> reason

    def to_dict(self) -> dict[str, Any]:
        return {"out": self.out, "lines": self.lines, "skipped": self.skipped}


def export_checksums(
    store: Store,
    out: Path,
    *,
    runs: Sequence[str] = (),
    for_files: Sequence[Path] = (),
    force: bool = False,
) -> ChecksumSummary:
    """Write the checksum file of the selection (default: the newest run) to ``out``.

    Per location the latest recorded content counts. Locations that are gone (temporary
    files), URLs, content-less locations and names ``iscc-sum`` cannot read back (a newline
    in the name) are skipped and named in the summary.

    :raises ExportError: ``out`` exists (without ``force``) or is a folder.
    """
    out = Path(out)
    if out.is_dir():
        raise ExportError(f"{out}: is a folder; give the checksum file's name")
    if out.exists() and not force:
        raise ExportError(f"{out}: exists (use --force to replace it)")
    sel = select(store, runs=runs, for_files=for_files)
    latest: dict[str, str | None] = {}
    for s in sel.steps:
        if s.code and s.code_datahash:
            latest[s.code] = s.code_datahash
        for e in (*s.inputs, *s.outputs):
            latest[e.path] = e.datahash
    for loc, target in sel.targets:
        latest.setdefault(loc, target.datahash)
    base = os.path.abspath(out.parent)
    lines: list[tuple[str, str]] = []
    skipped: dict[str, str] = {}
    temps = removed_temps(store)
    for loc, h in latest.items():
        content = sel.contents.get(h) if h else None
        why = _skip(loc, content is not None, loc in temps)
        if why or content is None:
            skipped[loc] = why or "no content recorded"
            continue
        rel = os.path.relpath(loc, base).replace(os.sep, "/")
        lines.append((rel + ("/" if content.kind == "tree" else ""), content.iscc))
    lines.sort()
    text = "".join(f"{iscc} *{rel}\n" for rel, iscc in lines)
    try:
        out.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise ExportError(f"{out}: {exc.strerror or exc}") from None
    for loc, why in sorted(skipped.items()):
        log.info("not in %s: %s (%s)", out, loc, why)
    return ChecksumSummary(str(out), len(lines), dict(sorted(skipped.items())))


def _skip(loc: str, has_content: bool, temp: bool) -> str | None:
    if is_url(loc):
        return "a URL, not a local file"
    if not has_content:
        return "no content recorded (pipe, or not fingerprinted)"
    if "\n" in loc or "\r" in loc:
        return "a newline in the name (iscc-sum reads one file per line)"
    if not os.path.lexists(loc):
        return f"gone ({GONE_TEMP})" if temp else "missing"
    return None
