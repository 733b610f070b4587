"""Recording API: begin a run, record steps with what they used and generated, finish the run.

The one write path shared by ``iscc-lineage record``, the Snakemake plugin and the importer.
It takes neutral model objects and paths, never Snakemake events.
"""

from __future__ import annotations

import getpass
import logging
import os
import platform
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from iscc_lineage.codes import fingerprint_many, fingerprint_path
from iscc_lineage.codes.pictures import CODES_SCHEME, SKIP_SCHEME, is_figure
from iscc_lineage.codes.pixel import is_bioimage
from iscc_lineage.errors import FingerprintError, LineageError
from iscc_lineage.locations import PathLike, location
from iscc_lineage.model import Artifact, Fingerprint, Run, Step
from iscc_lineage.pixels import code_contents
from iscc_lineage.store import Store, now

log = logging.getLogger(__name__)

__all__ = ["Recorder", "location"]  # location: re-exported for one release (now in locations)


class Recorder:
    """Writes runs and steps into a :class:`Store`, fingerprinting paths through its cache."""

    def __init__(
        self,
        store: Store,
        *,
        use_cache: bool = True,
        workers: int | None = None,
        on_bytes: Callable[[int], None] | None = None,
        pixels: bool = False,
    ) -> None:
        self.store = store
        self.cache = store if use_cache else None
        self.workers = workers
        self.on_bytes = on_bytes
        self.pixels = pixels  #: pixel-code bioimages as they are recorded (costs a read)

    def begin_run(
        self,
        *,
        workdir: PathLike | None = None,
        workflow: str | None = None,
        command: str | None = None,
        info: dict[str, Any] | None = None,
        run_id: str | None = None,
        started: str | None = None,
        host: str | None = None,
        user: str | None = None,
    ) -> str:
        """Open a run (status ``running`` until :meth:`finish_run`); return its id."""
        rid = run_id or uuid.uuid4().hex
        self.store.insert_run(
            Run(
                rid,
                workflow,
                location(workdir or os.getcwd()),
                started or now(),
                None,
                "running",
                host or platform.node(),
                user or _user(),
                command,
                info or {},
            )
        )
        return rid

    def finish_run(
        self, run_id: str, status: str = "finished", info: dict[str, Any] | None = None
    ) -> None:
        self.store.update_run(run_id, status=status, ended=now(), info=info)

    def artifacts(self, paths: Sequence[PathLike], *, base: Path | None = None) -> list[Artifact]:
        """Fingerprint paths (in parallel, through the stat cache) into artifacts.

        :raises FingerprintError: the first path that cannot be fingerprinted.
        """
        locs = [location(p, base) for p in paths]
        results = fingerprint_many(
            [Path(p) for p in locs], cache=self.cache, on_bytes=self.on_bytes, workers=self.workers
        )
        out = []
        for loc, fp in zip(locs, results, strict=True):
            if isinstance(fp, FingerprintError):
                raise fp
            out.append(Artifact(loc, fp))
        return out

    def fingerprint(self, path: PathLike) -> Fingerprint:
        return fingerprint_path(Path(path), cache=self.cache, on_bytes=self.on_bytes)

    def record_step(
        self,
        run_id: str,
        name: str,
        *,
        inputs: Sequence[Artifact | PathLike] = (),
        outputs: Sequence[Artifact | PathLike] = (),
        process: str | None = None,
        command: str | None = None,
        code: PathLike | None = None,
        params: dict[str, Any] | None = None,
        environment: dict[str, Any] | None = None,
        started: str | None = None,
        ended: str | None = None,
        exit_status: int | None = None,
        status: str = "finished",
        info: dict[str, Any] | None = None,
        step_id: str | None = None,
    ) -> Step:
        """Record one step in one transaction; paths are fingerprinted first.

        A failed step's outputs are stored as *partial*: kept for inspection, never traced.
        """
        used = self._resolve(inputs)
        made = self._resolve(outputs)
        code_fp = self.fingerprint(code) if code is not None else None
        step = Step(
            step_id or uuid.uuid4().hex,
            run_id,
            name,
            process,
            command,
            location(code) if code is not None else None,
            code_fp.datahash if code_fp else None,
            params or {},
            environment or {},
            started,
            ended or now(),
            exit_status,
            status,
            info or {},
        )
        role = "generated" if status == "finished" else "partial" if status == "failed" else "seen"
        self.store.insert_step(step, used, made, code_fp, output_role=role)
        self._add_image_codes([*used, *made])
        if self.pixels:
            self.add_pixel_codes([*used, *made])
        return step

    def add_pixel_codes(self, artifacts: Sequence[Artifact]) -> None:
        """Pixel-code the bioimages among ``artifacts`` (once per content): their copies in
        other formats then share their lineage. A file no reader can open is noted."""
        images = {
            a.fingerprint.datahash: a.path
            for a in artifacts
            if a.fingerprint and a.fingerprint.size > 0 and is_bioimage(Path(a.path))
        }
        if not images:
            return
        todo = images.keys() - set(self.store.pixel_notes(images))
        try:
            code_contents(self.store, [(h, images[h]) for h in sorted(todo)], cache=self.cache)
        except LineageError as exc:  # the step is recorded; its pixel codes can come later
            log.warning(
                "pixel codes not recorded (%s); `iscc-lineage reindex --pixels` adds them", exc
            )

    def _add_image_codes(self, artifacts: Sequence[Artifact]) -> None:
        """Give pictures their picture codes (once per content) so edited copies, crops and
        panels can be found: the Image-Code and the figure codes (see codes.figcodes)."""
        pics = {
            a.fingerprint.datahash: a.path
            for a in artifacts
            if a.fingerprint
            and a.fingerprint.kind == "file"
            and is_figure(Path(a.path), a.fingerprint.size)
        }
        if not pics:
            return
        todo = (
            pics.keys()
            - self.store.has_code(pics, CODES_SCHEME)
            - self.store.has_code(pics, SKIP_SCHEME)
        )
        if todo:
            from iscc_lineage.codes.figcodes import picture_rows  # OpenCV on the first picture

            self.store.add_codes(picture_rows({h: pics[h] for h in sorted(todo)}))

    def _resolve(self, items: Sequence[Artifact | PathLike]) -> list[Artifact]:
        paths = [p for p in items if not isinstance(p, Artifact)]
        done = iter(self.artifacts(paths)) if paths else iter(())
        out = []
        for item in items:
            if isinstance(item, Artifact):
                out.append(Artifact(location(item.path), item.fingerprint, item.note))
            else:
                out.append(next(done))
        return out


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no passwd entry (some containers)
        return None
