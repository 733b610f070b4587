"""The store's images: pixel codes and acquisition metadata per image of a content.

A mixin of the SQLite store. A content (a CZI, an OME-TIFF, an OME-Zarr directory) holds one
image per scene / series; contents whose images have equal ``pixel_id`` are representations of
one image (BioImage Archive: Image vs ImageRepresentation). A *uniform* image (one value in
every pixel: a blank frame, an empty mask) names no image, as an empty file names no content,
so it never joins two contents.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from iscc_lineage.codes.pixel import PIXELS_SCHEME, ImageCode, PixelResult
from iscc_lineage.errors import NotFoundError

__all__ = ["ImageQueries"]


class ImageQueries:
    """Images per content; the host class provides ``_query`` and ``transaction``."""

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError  # pragma: no cover - provided by the store

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # pragma: no cover - provided by the store

    def add_images(self, datahash: str, result: PixelResult) -> None:
        """Store the images of a content (replacing earlier ones) and the attempt's summary.

        :raises NotFoundError: no such content.
        """
        with self.transaction() as db:
            row = db.execute("SELECT id FROM content WHERE datahash = ?", (datahash,)).fetchone()
            if row is None:
                raise NotFoundError(f"no content {datahash}")
            cid = row[0]
            db.execute("DELETE FROM image WHERE content_id = ?", (cid,))
            db.executemany(
                "INSERT INTO image (content_id, scene, name, pixel_id, iscc, wide, data_code,"
                " datahash, dtype, sizes, uniform, metadata)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        cid,
                        i.scene,
                        i.name,
                        i.pixel_id,
                        i.iscc,
                        i.wide,
                        i.data_code,
                        i.datahash,
                        i.dtype,
                        json.dumps(i.sizes, sort_keys=True),
                        int(i.uniform),
                        json.dumps(i.metadata, sort_keys=True, ensure_ascii=False),
                    )
                    for i in result.images
                ],
            )
            db.execute(
                "INSERT OR REPLACE INTO content_code (content_id, scheme, value) VALUES (?, ?, ?)",
                (cid, PIXELS_SCHEME, result.summary()),
            )

    def images(self, datahashes: Iterable[str]) -> dict[str, list[ImageCode]]:
        """The images of each content that has any, in scene order."""
        out: dict[str, list[ImageCode]] = {}
        for r in self._query(
            "SELECT c.datahash AS of_content, i.* FROM image i"
            " JOIN content c ON c.id = i.content_id"
            " WHERE c.datahash IN (SELECT value FROM json_each(?))"
            " ORDER BY c.datahash, i.scene",
            (json.dumps(sorted(set(datahashes))),),
        ):
            out.setdefault(r[0], []).append(_image(r))
        return out

    def imaged_contents(self) -> list[str]:
        """Datahashes of every content with at least one image, in recording order."""
        return [
            r[0]
            for r in self._query(
                "SELECT c.datahash FROM content c WHERE EXISTS (SELECT 1 FROM image i"
                " WHERE i.content_id = c.id) ORDER BY c.id"
            )
        ]

    def pixel_notes(self, datahashes: Iterable[str]) -> dict[str, str]:
        """The pixel-coding summary of each content that was tried (``none: why`` or count)."""
        rows = self._query(
            "SELECT c.datahash, k.value FROM content c JOIN content_code k ON k.content_id = c.id"
            " WHERE k.scheme = ? AND c.datahash IN (SELECT value FROM json_each(?))",
            (PIXELS_SCHEME, json.dumps(sorted(set(datahashes)))),
        )
        return {r[0]: r[1] for r in rows}

    def same_pixels(self, datahashes: Iterable[str]) -> dict[str, list[str]]:
        """Each content's other representations: contents holding one of its (non-uniform)
        images, by datahash."""
        out: dict[str, list[str]] = {}
        for r in self._query(
            "SELECT ca.datahash, cb.datahash FROM twin t JOIN content ca ON ca.id = t.a"
            " JOIN content cb ON cb.id = t.b"
            " WHERE ca.datahash IN (SELECT value FROM json_each(?)) ORDER BY cb.datahash",
            (json.dumps(sorted(set(datahashes))),),
        ):
            out.setdefault(r[0], []).append(r[1])
        return out

    def by_pixel_id(self, pixel_id: str) -> list[tuple[str, ImageCode]]:
        """Every (content datahash, image) with these pixels."""
        return [
            (r[0], _image(r))
            for r in self._query(
                "SELECT c.datahash AS of_content, i.* FROM image i"
                " JOIN content c ON c.id = i.content_id"
                " WHERE i.pixel_id = ? ORDER BY c.id, i.scene",
                (pixel_id,),
            )
        ]

    def unpixelled(self) -> list[tuple[str, list[str]]]:
        """(datahash, known paths) of contents never pixel-coded, oldest first."""
        rows = self._query(
            "SELECT c.datahash, o.path FROM content c JOIN observation o ON o.content_id = c.id"
            " WHERE c.size > 0 AND NOT EXISTS (SELECT 1 FROM content_code k"
            " WHERE k.content_id = c.id AND k.scheme = ?)"
            " GROUP BY c.id, o.path ORDER BY c.id, max(o.id) DESC",
            (PIXELS_SCHEME,),
        )
        out: dict[str, list[str]] = {}
        for r in rows:
            out.setdefault(r[0], []).append(r[1])
        return list(out.items())


def _image(r: sqlite3.Row) -> ImageCode:
    return ImageCode(
        r["scene"],
        r["name"],
        r["iscc"],
        r["wide"],
        r["data_code"],
        r["datahash"],
        r["dtype"],
        json.loads(r["sizes"]),
        bool(r["uniform"]),
        json.loads(r["metadata"]),
    )
