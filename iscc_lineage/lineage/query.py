"""What a query names in the store: a file by its content, an ISCC, a datahash, a recorded path."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from iscc_lineage.codes import FingerprintCache, fingerprint_path
from iscc_lineage.codes.pixel import ImageCode, is_bioimage, pixel_codes
from iscc_lineage.errors import AmbiguousError, NotFoundError
from iscc_lineage.locations import location
from iscc_lineage.model import Content, Fingerprint
from iscc_lineage.store import Store

__all__ = ["DATAHASH", "Resolved", "SamePixels", "find_same_pixels", "identify", "resolve"]


def identify(
    store: Store, path: Path, *, cache: FingerprintCache | None = None
) -> tuple[Fingerprint, Content | None]:
    """Fingerprint ``path`` and look its content up (by full datahash, never a prefix)."""
    fp = fingerprint_path(path, cache=cache)
    return fp, store.content(fp.datahash)


DATAHASH = re.compile(r"^1e20[0-9a-f]{64}$")  #: a BLAKE3 multihash, as the store keeps it


How = Literal["content", "iscc", "datahash", "recorded path", "member"]


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a query (a file, an ISCC, a datahash, a recorded path) names in the store."""

    query: str
    how: How  #: how it was found
    fingerprint: Fingerprint | None  #: of the file on disk, when the query is one
    content: Content | None  #: what to walk from; None when the store has no such content
    note: str | None = None  #: what the user should be told about how it was found

    @property
    def datahash(self) -> str:
        if self.content is not None:
            return self.content.datahash
        assert self.fingerprint is not None
        return self.fingerprint.datahash


def resolve(store: Store, query: str, *, cache: FingerprintCache | None = None) -> Resolved:
    """Find what ``query`` names: a file on disk by its content (or, when the file itself was
    never recorded, the recorded directory that holds it), an ``ISCC:…`` code, a ``1e20…``
    datahash, or a path that is gone but was recorded (its newest recorded content).

    :raises NotFoundError: a code or datahash that no recorded content has.
    :raises AmbiguousError: an ISCC-SUM shared by several recorded contents.
    :raises FingerprintError: a path that is neither on disk nor recorded.
    """
    path = Path(query)
    if not os.path.lexists(path):
        if query[:5].upper() == "ISCC:":
            code = "ISCC:" + query[5:].upper()
            found = store.contents_by_iscc(code)
            if len(found) > 1:
                raise AmbiguousError(
                    f"{code} is the ISCC-SUM of {len(found)} recorded contents "
                    f"({', '.join(c.datahash[:16] for c in found)}); "
                    "ask by datahash"
                )
            if not found:
                raise NotFoundError(f"{code}: no recorded content has this ISCC-SUM")
            return Resolved(query, "iscc", None, found[0])
        if DATAHASH.match(query.lower()):
            content = store.content(query.lower())
            if content is None:
                raise NotFoundError(f"{query}: no recorded content has this datahash")
            return Resolved(query, "datahash", None, content)
        recorded = store.recorded_at(location(path))
        if recorded:
            content, when, run = recorded[0]
            note = (
                f"{query}: not on disk; recorded content {content.iscc} "
                f"(seen {when[:19].replace('T', ' ')}"
                f"{f' in run {run[:12]}' if run else ''})"
            )
            if len(recorded) > 1:
                older = ", ".join(c.iscc for c, _, _ in recorded[1:4])
                note += (
                    f"; {len(recorded) - 1} other content(s) were recorded at this path "
                    f"before: {older}{' …' if len(recorded) > 4 else ''}"
                )
            return Resolved(query, "recorded path", None, content, note)
    fp = fingerprint_path(path, cache=cache)
    content = store.content(fp.datahash)
    if content is None and fp.kind == "file" and fp.size > 0:
        holders = store.containing(fp.datahash)
        if holders:
            dirs = store.contents(t for t, _ in holders)
            where = "; ".join(
                f"{(dirs[t].paths or (dirs[t].iscc,))[0] if t in dirs else t}/{m}"
                for t, m in holders[:3]
            )
            note = (
                f"{query}: not recorded as a file itself; the same content is recorded "
                f"inside {len(holders)} director{'y' if len(holders) == 1 else 'ies'}: "
                f"{where}{' …' if len(holders) > 3 else ''}"
            )
            target = Content(
                0,
                fp.iscc,
                fp.datahash,
                fp.size,
                fp.data_code,
                fp.instance_code,
                "file",
                (location(path),),
            )
            return Resolved(query, "member", fp, target, note)
    return Resolved(query, "content", fp, content)


@dataclass(frozen=True, slots=True)
class SamePixels:
    """A recorded content holding the image of a file that is not recorded itself."""

    content: Content
    image: ImageCode  #: the recorded image (its scene is the one within ``content``)
    of_scene: int  #: the matching image's scene within the unrecorded file

    def to_dict(self) -> dict[str, object]:
        return {
            "datahash": self.content.datahash,
            "iscc": self.content.iscc,
            "paths": list(self.content.paths),
            "scene": self.image.scene,
            "file_scene": self.of_scene,
            "pixel_id": self.image.pixel_id,
            "pixel_iscc": self.image.iscc,
        }


def find_same_pixels(store: Store, path: Path) -> SamePixels | None:
    """The recorded content holding the same pixels as a bioimage at ``path``, or None.

    Equal pixel codes are an exact identity (no threshold). When several recorded files hold
    the image (a CZI and its OME-TIFF copy), the one recorded first is taken: trace and impact
    cross to the others anyway. A uniform image (a blank frame) identifies nothing.
    """
    if not is_bioimage(path):
        return None
    result = pixel_codes(path)
    for image in result.images:
        if image.uniform:
            continue
        found = store.by_pixel_id(image.pixel_id)
        contents = store.contents(h for h, _ in found)
        for datahash, recorded in found:  # ordered by content id: first recorded first
            if datahash in contents:
                return SamePixels(contents[datahash], recorded, image.scene)
    return None
