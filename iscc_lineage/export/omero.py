"""OMERO interop without a server: the ISCC key-value pairs as ``omero metadata`` imports them.

The BIO-CODES OMERO service (bio-codes/omero-iscc) links a MapAnnotation in namespace
``org.iscc.omero`` with the key ``ISCC-CODE`` (the WIDE IMAGEWALK ISCC-SUM of the image's
pixels) to every image. We write the same pairs for the images in the lineage store as

- ``iscc-omero.csv``: a bulk-annotation table, one row per image, keyed by ``Image Name``
  (``omero metadata populate --file iscc-omero.csv Dataset:ID`` makes the OMERO.table), and
- ``iscc-omero-bulkmap.yml``: the bulkmap config that turns the table's columns into
  MapAnnotations in namespace ``org.iscc.omero``
  (``omero metadata populate --context bulkmap --cfg iscc-omero-bulkmap.yml Dataset:ID``).

Because ``ISCC-CODE`` is a pixel code, OMERO computes the same value from its own copy of the
pixels, whatever it imported; so the pairs can also be checked against omero-iscc's.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iscc_lineage.codes.pixel import ImageCode
from iscc_lineage.errors import ExportError

__all__ = ["COLUMNS", "NAMESPACE", "OmeroImage", "omero_rows", "write_omero"]

NAMESPACE = "org.iscc.omero"  #: omero-iscc's MapAnnotation namespace
CSV_NAME = "iscc-omero.csv"
YAML_NAME = "iscc-omero-bulkmap.yml"
#: (column, header type, what it holds); the first identifies the image in OMERO
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("Image Name", "s", "the image's name in OMERO: file name, plus [scene] for multi-scene"),
    ("ISCC-CODE", "s", "WIDE ISCC-SUM of the pixels, as omero-iscc stores it"),
    ("ISCC-SUM", "s", "narrow ISO 24138 ISCC-SUM of the same pixel stream"),
    ("ISCC-PIXELS", "s", "BLAKE3 multihash of the canonical pixel stream"),
    ("ISCC-FILE", "s", "ISCC-SUM of the file's bytes, as iscc-lineage recorded it"),
    ("Source Path", "s", "where iscc-lineage saw the file"),
)


@dataclass(frozen=True, slots=True)
class OmeroImage:
    """One image to annotate: the file it is in, the file's ISCC, the image's codes."""

    path: str
    file_iscc: str
    image: ImageCode
    scenes: int  #: how many images the file holds


def omero_rows(images: Sequence[OmeroImage]) -> list[dict[str, str]]:
    """One row per image, in the order given."""
    rows = []
    for item in images:
        name = os.path.basename(item.path.rstrip("/"))
        if item.scenes > 1:
            name += f" [{item.image.name or item.image.scene}]"
        rows.append(
            {
                "Image Name": name,
                "ISCC-CODE": item.image.wide,
                "ISCC-SUM": item.image.iscc,
                "ISCC-PIXELS": item.image.datahash,
                "ISCC-FILE": item.file_iscc,
                "Source Path": item.path,
            }
        )
    return rows


def write_omero(out: Path, images: Sequence[OmeroImage]) -> tuple[Path, Path]:
    """Write the CSV and the bulkmap YAML into directory ``out``; their paths.

    :raises ExportError: nothing to write, or ``out`` cannot be written.
    """
    if not images:
        raise ExportError(
            "no pixel-coded images to export (run `iscc-lineage reindex "
            "--pixels` first, or record with pixel codes on)"
        )
    import yaml

    rows = omero_rows(images)
    try:
        out.mkdir(parents=True, exist_ok=True)
        csv_path, yml_path = out / CSV_NAME, out / YAML_NAME
        with open(csv_path, "w", newline="", encoding="utf-8") as f:
            # omero-metadata reads this line with csv.reader and strips "# header " from its
            # first field: it must not be quoted as one field
            f.write("# header " + ",".join(t for _, t, _ in COLUMNS) + "\r\n")
            w = csv.writer(f)
            w.writerow([c for c, _, _ in COLUMNS])
            for row in rows:
                w.writerow([row[c] for c, _, _ in COLUMNS])
        yml_path.write_text(
            yaml.safe_dump(_bulkmap(), sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
    except OSError as exc:
        raise ExportError(f"{out}: cannot write the OMERO files ({exc.strerror or exc})") from None
    return csv_path, yml_path


def _bulkmap() -> dict[str, Any]:
    """The ``--context bulkmap`` config: every ISCC column into one ``org.iscc.omero`` map."""
    return {
        "name": "iscc-lineage/org.iscc.omero",
        "version": 2,
        "defaults": {
            "include": False,
            "type": "string",
            "includeclient": True,
            "visible": True,
            "omitempty": True,
        },
        "columns": [
            {
                "group": {
                    "namespace": NAMESPACE,
                    "columns": [
                        {"name": c, "clientname": c, "include": True}
                        for c, _, _ in COLUMNS
                        if c != "Image Name"
                    ],
                }
            }
        ],
    }
