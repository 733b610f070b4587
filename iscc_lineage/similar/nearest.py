"""The nearest recorded contents of a file by Image-Code or Data-Code (not figure search)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from iscc_lineage.codes.image import IMAGE_CODE_SCHEME, image_code, is_image
from iscc_lineage.model import Content, Fingerprint
from iscc_lineage.store import Store

__all__ = ["Match", "similar"]


@dataclass(frozen=True, slots=True)
class Match:
    """A recorded content near a file that is not recorded itself."""

    content: Content
    distance: int  #: Hamming distance over ``bits``
    bits: int
    method: Literal["image-code", "data-code"]

    def to_dict(self) -> dict[str, object]:
        return {
            "datahash": self.content.datahash,
            "iscc": self.content.iscc,
            "paths": list(self.content.paths),
            "distance": self.distance,
            "bits": self.bits,
            "method": self.method,
        }


def similar(store: Store, path: Path, fp: Fingerprint, limit: int = 5) -> list[Match]:
    """Recorded contents nearest to ``path``, nearest first.

    Pictures are compared by ISCC Image-Code (survives re-encoding, resizing, annotation);
    other files, and pictures without a near Image-Code, by Data-Code (survives appends and
    local edits of the same bytes). Distances are over 64 bits.
    """
    matches: list[Match] = []
    if is_image(Path(path), fp.size) and (code := image_code(Path(path))) is not None:
        matches = [
            Match(c, d, 64, "image-code")
            for c, d in store.nearest_by_code(IMAGE_CODE_SCHEME, code, limit)
        ]
    seen = {m.content.datahash for m in matches}
    matches += [
        Match(c, d, 64, "data-code")
        for c, d in store.nearest_by_data_code(fp.data_code, limit)
        if c.datahash not in seen and c.datahash != fp.datahash
    ]
    return sorted(matches, key=lambda m: (m.distance, m.method != "image-code"))[:limit]
