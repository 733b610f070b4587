"""Where each file of a crate goes: into the payload, to a web URL, or a ``#``-local reference.

Maps recorded locations (absolute paths, URLs) to crate-relative paths that can never leave
the crate, decides per file whether its bytes are shipped, and gives every data entity a
stable ``@id``. Reads the file system and the store's stat cache; imports no rocrate.
"""

from __future__ import annotations

import functools
import hashlib
import os
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from iscc_lineage.codes import FingerprintCache, fingerprint_path
from iscc_lineage.errors import FingerprintError
from iscc_lineage.export.crate.terms import METADATA
from iscc_lineage.locations import is_url
from iscc_lineage.model import Content, Fingerprint, Member
from iscc_lineage.size import format_size

__all__ = ["RESERVED", "Entry", "Policy", "crate_rel", "external_rel", "is_external", "place"]

Mode = Literal["payload", "web", "local"]
#: Names the export writes itself; a recorded file of that name moves to ``files/``.
RESERVED = frozenset({METADATA, "ro-crate-preview.html", "README.md", "workflow/recorded-steps.sh"})
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True, slots=True)
class Policy:
    """What goes into the payload (``--data``, ``--max-size``) and how the rest is named."""

    data: Literal["none", "small", "all"] = "small"
    max_size: int = 100_000_000
    data_url: str | None = None
    sha256: bool = True
    include_outside: bool = False  #: also copy files from outside the workflow folder(s)
    keep_paths: bool = False  #: keep absolute local paths and user names in the crate


@dataclass(slots=True)
class Entry:
    """One file or directory the crate describes, and what the export decided for it."""

    rel: str  #: crate-relative POSIX path (never absolute, never with ``..``)
    location: str  #: where it was recorded: an absolute path or a URL
    content: Content | None  #: None: a location without content (pipe, not fingerprinted)
    note: str | None = None  #: the store's note on a content-less location
    code: bool = False  #: workflow code (Snakefile, rules, scripts, envs, config): shipped
    order: int = 0  #: when it was first seen in the selection (later wins a path)
    generated: bytes | None = None  #: bytes the export writes itself (README, descriptions)
    recorded: str | None = None  #: code: the datahash the run recorded (content may be unknown)
    mode: Mode = "local"
    id: str = ""
    sha256: str | None = None
    why: str | None = None  #: why it is not in the payload, or how it differs from the run's
    members: tuple[Member, ...] = ()  #: a directory in the payload: the files to copy
    alias: Entry | None = field(default=None, repr=False)  #: same file as a code entry

    @property
    def is_tree(self) -> bool:
        return self.content is not None and self.content.kind == "tree"

    def resolved(self) -> Entry:
        """The entry that stands for this one in the crate (itself, or the code entry)."""
        return self.alias or self


def crate_rel(loc: str, workdir: str, code_base: str | None = None) -> str:
    """The crate path of a recorded location: relative to the run's working directory, else
    ``workflow/`` + relative to the Snakefile's folder, else
    ``external/<digest of its folder>/<name>`` (:func:`external_rel`: no local path in it).

    Normalised first, so ``..`` and absolute paths can never point outside the crate. A URL
    (a storage query, a wrapper) stays as it is: it is only ever referenced, never copied.
    """
    if is_url(loc):
        return loc
    p = posixpath.normpath(loc if loc.startswith("/") else posixpath.join(workdir, loc))
    if p.startswith("//"):  # POSIX keeps a leading "//"; it is still the root
        p = "/" + p.lstrip("/")
    rel = None
    for base, prefix in ((_norm(workdir), ""), (_norm(code_base), "workflow/")):
        if base and p.startswith(base) and len(p) > len(base) and p[len(base)] == "/":
            rel = prefix + p[len(base) + 1 :]
            break
    if rel is None:
        rel = external_rel(p)
    return "files/" + rel if rel in RESERVED else rel


def external_rel(path: str) -> str:
    """``external/<8 hex of the folder's SHA-256>/<name>``: files of one folder stay together
    and files of two folders never meet, without naming the folder."""
    folder, name = posixpath.split(path)
    digest = hashlib.sha256(folder.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"external/{digest}/{name or 'root'}"


def is_external(rel: str) -> bool:
    """A crate path of a file from outside the workflow folder(s)."""
    return rel.startswith("external/")


@functools.lru_cache(maxsize=256)
def _norm(base: str | None) -> str | None:
    if not base:
        return None
    p = posixpath.normpath(base)
    return "" if p == "/" else p


def content_of(fp: Fingerprint) -> Content:
    """A fingerprint taken at export time as a content (not a store row: id 0)."""
    return Content(0, fp.iscc, fp.datahash, fp.size, fp.data_code, fp.instance_code, fp.kind)


def place(
    entries: Iterable[Entry], policy: Policy, *, cache: FingerprintCache | None = None
) -> list[Entry]:
    """Decide the mode and ``@id`` of every entry; return those that stand in the crate.

    Per crate path the latest entry wins; an older content seen at the same path (the file
    was overwritten) can only be referenced. A file is shipped only when what is on disk now
    is the recorded content; workflow code is shipped as found, with a note when it changed.
    """
    by_rel: dict[str, list[Entry]] = {}
    for e in entries:
        by_rel.setdefault(e.rel, []).append(e)
    used: set[str] = set()
    kept: list[Entry] = []
    for rel in sorted(by_rel):
        group = sorted(by_rel[rel], key=lambda e: (not (e.code or e.generated), -e.order))
        primary = group[0]
        for e in group:
            if (
                e is not primary
                and primary.code
                and primary.content is not None
                and e.content is not None
                and e.content.datahash == primary.content.datahash
            ):
                e.alias = primary  # a script or config file that is also a step's input
                continue
            if not _decide(e, e is primary, policy, cache):
                continue
            e.id = _unique(_make_id(e, e is primary, policy), used)
            kept.append(e)
    return kept


def _decide(e: Entry, primary: bool, policy: Policy, cache: FingerprintCache | None) -> bool:
    """Set ``e.mode`` (and ``why``); False when the entry has nothing to describe."""
    if e.generated is not None:
        e.mode = "payload"
        return True
    if is_url(e.location):
        e.mode = "web"
        return True
    if e.code:
        return _decide_code(e, primary, cache)
    if e.content is None:
        e.why = e.note or "no content was recorded at this location"
        return True
    if not primary:
        e.why = "a later step of the exported runs wrote other content to this path"
        return True
    size, changed = e.content.size, False
    if is_external(e.rel) and not policy.include_outside:
        e.why = "outside the workflow folder: described, not copied (--include-outside copies it)"
    elif policy.data == "none":
        e.why = "data left out of the payload (--data none)"
    elif policy.data == "small" and size > policy.max_size:
        e.why = f"{format_size(size)} > --max-size {format_size(policy.max_size)}"
    else:
        fp, problem = _current(e.location, cache)
        if fp is not None and fp.datahash == e.content.datahash:
            if any(m.link is not None for m in fp.members):
                e.why = "a directory with symlinks (referenced so that its identity holds)"
            else:
                e.mode, e.members = "payload", fp.members
                return True
        else:
            e.why, changed = problem or "changed since it was recorded", True
    if policy.data_url and not changed and _still_there(e):  # it can still be deposited
        e.mode = "web"
    return True


def _decide_code(e: Entry, primary: bool, cache: FingerprintCache | None) -> bool:
    fp, problem = _current(e.location, cache) if primary else (None, "overwritten")
    if fp is None or any(m.link is not None for m in fp.members):
        if e.content is None:
            return False  # nothing known about it: leave it out
        e.why = problem or "a directory with symlinks"
        return True
    want = e.content.datahash if e.content is not None else e.recorded
    if want is not None and want != fp.datahash:
        used = e.content.iscc if e.content is not None else f"datahash {want}"
        e.why = (
            f"changed after the run: the run used content {used}; this is the file as "
            "found at export time"
        )
    e.content, e.mode, e.members = content_of(fp), "payload", fp.members
    return True


def _current(
    location: str, cache: FingerprintCache | None
) -> tuple[Fingerprint | None, str | None]:
    """The content at a location now (through the stat cache), or why there is none."""
    if not os.path.lexists(location):
        return None, "gone since it was recorded (deleted, or a temporary file)"
    try:
        return fingerprint_path(Path(location), cache=cache), None
    except FingerprintError as exc:
        return None, f"unreadable at export time ({exc})"


def _still_there(e: Entry) -> bool:
    """Cheap check that a referenced file can still be deposited: present, same size."""
    assert e.content is not None
    try:
        st = os.stat(e.location)
    except OSError:
        return False
    return e.is_tree or st.st_size == e.content.size


def _make_id(e: Entry, primary: bool, policy: Policy) -> str:
    slash = "/" if e.is_tree else ""
    path = quote(e.rel, safe="/") + slash
    if e.mode == "payload":
        return path
    if e.mode == "web":
        if is_url(e.location):
            return e.location
        assert policy.data_url is not None
        return policy.data_url.rstrip("/") + "/" + path
    if primary:
        return "#" + path
    return "#" + path + "@" + (e.content.iscc.removeprefix("ISCC:") if e.content else "unknown")


def _unique(candidate: str, used: set[str]) -> str:
    out, n = candidate, 1
    while out in used:
        n += 1
        out = f"{candidate}@{n}"
    used.add(out)
    return out
