"""The interface every lineage store backend offers: what callers may use, and nothing else.

Callers (the recorder, the read paths, exports, the Snakemake capture) depend on this Protocol,
never on a backend's SQL. A backend (``sqlite.Store`` today) implements it whole; the store
test suite is the contract that a second backend must pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, Self

from iscc_lineage.codes.pixel import ImageCode, PixelResult
from iscc_lineage.model import Artifact, Content, Fingerprint, Run, Step
from iscc_lineage.signing.chain import ChainEntry, ChainFinding
from iscc_lineage.signing.service import StoredNote

__all__ = ["LineageStore"]


class LineageStore(Protocol):
    """An open lineage store. Every write is one transaction: all of it is kept or none."""

    location: str  #: where it is, as given to ``open_store`` (never with credentials)

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Close it (again is harmless)."""

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def check_writable(self) -> None:
        """Take and release the write lock; :class:`StoreError` if this store cannot write."""

    # -- contents --------------------------------------------------------------------------
    def content(self, datahash: str) -> Content | None:
        """The content with this datahash and every path it was seen at, or None."""

    def contents(self, datahashes: Iterable[str]) -> dict[str, Content]:
        """Contents by datahash (unknown ones left out), each with its known paths."""

    def content_rows(self, datahashes: Iterable[str]) -> dict[str, Content]:
        """Contents by datahash without their paths (one query, for large exports)."""

    def contents_by_id(self, ids: Iterable[int]) -> dict[int, Content]:
        """Contents by the ids that :meth:`walk` and the code searches return."""

    def members(self, datahash: str) -> dict[str, str | None]:
        """The recorded manifest of a directory content: member path -> datahash."""

    def contents_by_iscc(self, iscc: str) -> list[Content]:
        """Contents whose ISCC-SUM is ``iscc``."""

    def recorded_at(self, path: str) -> list[tuple[Content, str, str | None]]:
        """Every content recorded at ``path``: (content, when, run id), newest first."""

    # -- the stat cache (a ``codes.FingerprintCache``) ----------------------------------------
    def cache_get(self, key: str) -> Fingerprint | None:
        """The fingerprint taken when a file had this stat key, or None."""

    def cache_get_many(self, keys: Sequence[str]) -> dict[str, Fingerprint]:
        """The cached fingerprints of those stat keys that have one (a batch: one query)."""

    def cache_put(self, entries: Sequence[tuple[str, Fingerprint]]) -> None:
        """Remember fingerprints under their stat keys."""

    # -- runs and steps ----------------------------------------------------------------------
    def insert_run(self, run: Run) -> None:
        """Record a new run."""

    def update_run(
        self, run_id: str, *, status: str, ended: str | None, info: dict[str, Any] | None = None
    ) -> None:
        """Set a run's status and end; ``info`` is merged into the run's info."""

    def mark_stale_runs(
        self,
        *,
        workdir: str,
        host: str | None,
        keep: str | None = None,
        engine: str | None = None,
        reason: str | None = None,
        only: str | None = None,
    ) -> list[str]:
        """Mark runs left ``running`` in ``workdir`` on ``host`` as ``incomplete``; their ids."""

    def has_run(self, run_id: str) -> bool:
        """Whether a run with exactly this id is recorded."""

    def has_step(self, step_id: str) -> bool:
        """Whether a step with exactly this id is recorded."""

    def set_busy_timeout(self, ms: int) -> None:
        """How long a write waits for another process's write lock before it fails."""

    def output_ends(self, paths: Sequence[str]) -> dict[str, list[str | None]]:
        """When the steps that wrote each of ``paths`` ended (any run, any status)."""

    def insert_step(
        self,
        step: Step,
        inputs: Sequence[Artifact],
        outputs: Sequence[Artifact],
        code: Fingerprint | None = None,
        output_role: str = "generated",
    ) -> None:
        """Record a step with its used and generated artifacts."""

    def runs(self, limit: int | None = None) -> list[Run]:
        """Runs, newest first."""

    def run(self, ref: str) -> Run:
        """A run by id or unique id prefix; NotFoundError / AmbiguousError otherwise."""

    def step(self, ref: str) -> Step:
        """A step by id or unique id prefix."""

    def steps_of_run(self, run_id: str) -> list[Step]:
        """The steps of a run with their edges, in the order they were recorded."""

    def steps_by_id(self, ids: Sequence[int]) -> list[Step]:
        """Steps with their edges, in the order of ``ids`` (ids from :meth:`walk`)."""

    def observations(
        self, *, run_id: str | None = None, paths: Sequence[str] | None = None
    ) -> list[tuple[str, str | None]]:
        """The latest recorded (path, datahash) per path, for a run, some paths, or all."""

    def stats(self) -> dict[str, int]:
        """Row counts: runs, steps, contents, observations."""

    # -- lineage walks -----------------------------------------------------------------------
    def walk(self, datahash: str, direction: str, depth: int | None = None) -> list[int]:
        """Ids of the steps upstream (``trace``) or downstream (``impact``) of a content."""

    def containers(self, datahashes: Iterable[str]) -> dict[str, str]:
        """Member file datahash -> directory datahash, both among ``datahashes``."""

    def containing(self, datahash: str) -> list[tuple[str, str]]:
        """Directories holding a file of this content: (directory datahash, member path)."""

    def never(self, datahashes: Iterable[str], role: str) -> set[str]:
        """Those of ``datahashes`` that no recorded step ever had in ``role``."""

    # -- further codes (Image-Codes, ...) ----------------------------------------------------
    def add_codes(self, rows: Sequence[tuple[str, str, str]]) -> None:
        """Attach (datahash, scheme, value) codes; unknown contents are skipped."""

    def has_code(self, datahashes: Iterable[str], scheme: str) -> set[str]:
        """Those of ``datahashes`` that already carry a code of ``scheme``."""

    def code_values(self, scheme: str) -> list[tuple[int, str]]:
        """(content id, value) of every code of ``scheme``, in content id order."""

    def code_values_of(self, ids: Iterable[int], scheme: str) -> dict[int, str]:
        """The ``scheme`` code of each of the contents ``ids`` that has one."""

    def contents_lacking(self, schemes: Sequence[str], suffixes: Iterable[str]) -> list[int]:
        """Ids of file contents seen at a path ending in one of ``suffixes`` (lower case, with
        the dot) that carry none of the codes ``schemes`` (pictures not yet coded)."""

    def codes_of(self, datahashes: Iterable[str], scheme: str) -> dict[str, str]:
        """datahash -> its code of ``scheme``, for those of ``datahashes`` that carry one."""

    def nearest_by_code(self, scheme: str, code: str, limit: int = 10) -> list[tuple[Content, int]]:
        """Contents whose ``scheme`` code is nearest to ``code``, with the bit distance."""

    def nearest_by_data_code(self, data_code: str, limit: int = 10) -> list[tuple[Content, int]]:
        """Contents nearest by the 64-bit Data-Code prefix, with the bit distance."""

    # -- the hash chain and signed notes (``signing``) -----------------------------------------
    # Every write of a run or a step appends to the chain in its own transaction.
    def chain_head(self) -> tuple[int, str] | None:
        """``(seq, hash)`` of the newest chain entry: the store's one head."""

    def chain_hash_at(self, seq: int) -> str | None:
        """The chain's hash at entry ``seq``, or None."""

    def chain_entries(self) -> list[ChainEntry]:
        """Every chain entry in order."""

    def record_hashes(self, kind: str, uids: Sequence[str]) -> dict[str, str]:
        """uid -> the content hash of that run or step as it is now."""

    def check_chain(self) -> tuple[list[ChainFinding], int]:
        """Recompute the chain; the findings (first in chain order first) and entry count."""

    def insert_note(self, note: StoredNote) -> None:
        """Keep a signed note beside its content (or run)."""

    def stored_notes(
        self, *, kind: str | None = None, subjects: Iterable[str] | None = None
    ) -> list[StoredNote]:
        """Notes in the order they were signed."""

    # -- images (pixel codes and acquisition metadata) ----------------------------------------
    def add_images(self, datahash: str, result: PixelResult) -> None:
        """Store a content's images (replacing earlier ones) and the coding attempt's summary."""

    def images(self, datahashes: Iterable[str]) -> dict[str, list[ImageCode]]:
        """The images of each content that has any, in scene order."""

    def imaged_contents(self) -> list[str]:
        """Datahashes of every content with at least one image, in recording order."""

    def pixel_notes(self, datahashes: Iterable[str]) -> dict[str, str]:
        """The pixel-coding summary of each content that was tried."""

    def same_pixels(self, datahashes: Iterable[str]) -> dict[str, list[str]]:
        """Each content's other representations (contents holding one of its images)."""

    def by_pixel_id(self, pixel_id: str) -> list[tuple[str, ImageCode]]:
        """Every (content datahash, image) with these pixels."""

    def unpixelled(self) -> list[tuple[str, list[str]]]:
        """(datahash, known paths) of contents never pixel-coded."""
