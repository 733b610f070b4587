"""File references -> slots: where each file's fingerprint comes from; a Router mixin."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from iscc_lineage.model import Artifact
from iscc_lineage.snakemake.events import FileRef
from iscc_lineage.snakemake.hasher import FileHasher, Role
from iscc_lineage.snakemake.metadata import key_path
from iscc_lineage.snakemake.settings import CaptureSettings
from iscc_lineage.snakemake.steps import Slot

__all__ = ["FileSlots", "incomplete_marker", "local_copy"]


class FileSlots:
    """Paths, exclusions and fingerprint slots of a run's files; mixed into the Router."""

    settings: CaptureSettings
    workdir: Path
    _hasher: FileHasher | None
    _streams: set[str]

    # -- files -------------------------------------------------------------------------------

    def _abs(self, path: str) -> str:
        return os.path.abspath(os.path.join(self.workdir, path))

    def _excluded(self, ref: FileRef) -> bool:
        globs = self.settings.exclude
        if not globs:
            return False
        full = self._abs(ref.path)
        names = (ref.path, full, os.path.basename(full))
        return any(fnmatch.fnmatchcase(n, g) for g in globs for n in names)

    def _slot(self, ref: FileRef, role: Role) -> Slot:
        assert self._hasher is not None
        if ref.is_stream:
            self._streams.add(self._abs(ref.path))
            return Slot(
                ref, self._abs(ref.path), fixed=Artifact(self._abs(ref.path), None, ref.label)
            )
        if ref.storage:
            return self._storage_slot(ref, role)
        path = self._abs(ref.path)
        return Slot(ref, path, self._hasher.submit(path, role))

    def _storage_slot(self, ref: FileRef, role: Role) -> Slot:
        """A storage file: its query is the location; content from a local copy if any."""
        assert self._hasher is not None
        query, r = ref.path, role
        if "://" not in query and os.path.exists(self._abs(query)):
            return Slot(ref, self._abs(query), self._hasher.submit(self._abs(query), r))
        local = local_copy(self.workdir, query)
        if local is not None:
            return Slot(
                ref,
                query,
                self._hasher.submit(local, r),
                note=f"fingerprinted from the local copy {local}",
            )
        return Slot(
            ref,
            query,
            fixed=Artifact(query, None, f"storage ({ref.storage}): no local copy to fingerprint"),
        )


def local_copy(workdir: Path, query: str) -> str | None:
    """Snakemake's local copy of a storage file: ``.snakemake/storage/<provider>/<suffix>``."""
    rest = query.split("://", 1)[-1].lstrip("/")
    root = workdir / ".snakemake" / "storage"
    if not rest or not root.is_dir():
        return None
    for provider in sorted(root.iterdir()):
        candidate = provider / rest
        if candidate.exists():
            return os.path.abspath(candidate)
    return None


def incomplete_marker(workdir: Path, output: str) -> Path:
    return key_path(workdir / ".snakemake" / "incomplete", output)
