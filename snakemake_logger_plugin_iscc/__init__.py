"""Snakemake logger plugin ``iscc``: ``snakemake --logger iscc`` records lineage.

Every snakemake process imports this module while building its argument parser, so it imports
only the standard library and the plugin interface; the capture code is loaded in
``__post_init__``. ``emit()`` and ``close()`` never raise: a provenance failure must not harm
the user's run. The plugin never draws on the terminal; its only output is at most one warning
line on stderr (prefix ``iscc-lineage: ``). A store that cannot be used at all stops the run
before any job with one line, ``Error: iscc-lineage: cannot record lineage: …``.
"""

import contextlib
import logging
import os
import sys
from dataclasses import dataclass, field
from logging import LogRecord
from pathlib import Path
from typing import Any, Optional

from snakemake_interface_common.exceptions import ApiError
from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.settings import LogHandlerSettingsBase

__all__ = ["LogHandler", "LogHandlerSettings"]

WARNING_LOGGER = "iscc_lineage"


# Optional[...] and no `from __future__ import annotations`: Snakemake builds argparse types
# from these annotations at run time. A bool field defaulting to True would become a
# `--no-<field>` flag without the plugin prefix, so both switches default to False.
@dataclass
class LogHandlerSettings(LogHandlerSettingsBase):
    """Settings, exposed as ``--logger-iscc-*`` flags."""

    store: Optional[str] = field(  # noqa: UP045
        default=None,
        metadata={
            "help": "Lineage store: a SQLite file, relative to where snakemake is "
            "started, or postgresql://user@host/db (password from ~/.pgpass "
            "or PGPASSWORD). Default: $ISCC_LINEAGE_STORE, else "
            ".iscc-lineage/lineage.db in the working directory.",
            "metavar": "PATH|URL",
        },
    )
    exclude: Optional[list[str]] = field(  # noqa: UP045
        default=None,
        metadata={
            "help": "Do not record files matching GLOB at all (no fingerprint, no "
            "location, no edge). Matched against the path as written in the "
            "rule, the absolute path and the file name; '*' also matches '/'. "
            "Repeat the flag or give several globs.",
            "nargs": "+",
            "metavar": "GLOB",
            # Without a parse_func the registry would str() the parsed list.
            "parse_func": lambda v: [str(g) for g in v],
            "unparse_func": lambda v: list(v or []),
        },
    )
    max_size: Optional[str] = field(  # noqa: UP045
        default=None,
        metadata={
            "help": "Do not read files (or directories) larger than SIZE, e.g. 500M, "
            "10G (powers of 1024; 10GB: powers of 1000). They are recorded as "
            "locations with the note 'not fingerprinted: <size> > max size'. "
            "Default: no limit.",
            "metavar": "SIZE",
        },
    )
    hash_inputs: bool = field(
        default=False,
        metadata={
            "help": "Fingerprint each job's inputs when it starts. This is the default; "
            "the flag exists so that profiles can say so."
        },
    )
    pixels: bool = field(
        default=False,
        metadata={
            "help": "Also pixel-code bioimages (TIFF, OME-TIFF, OME-Zarr; CZI, ND2, LIF "
            "with iscc-lineage's extras) as jobs finish, so that their copies in "
            "other formats share their lineage. Costs one more read of each "
            "image, in this process. Off by default: `iscc-lineage reindex "
            "--pixels` adds the codes later."
        },
    )
    no_hash_inputs: bool = field(
        default=False,
        metadata={
            "help": "Do not read inputs: an input gets its content only from this run's "
            "outputs or the store's stat cache, else it is recorded as a location "
            "without content (raw data is then not traced). Overrides "
            "--logger-iscc-hash-inputs."
        },
    )


class LogHandler(LogHandlerBase):
    """Records every job that runs as a step of the run (see ``iscc_lineage.snakemake``)."""

    def __post_init__(self) -> None:
        self._router: Any = None
        self._closed = False
        self._warned = False
        _warning_channel()
        if getattr(self.common_settings, "dryrun", False):
            return  # a dry-run records nothing
        try:
            from iscc_lineage.errors import LineageError
            from iscc_lineage.snakemake.router import Router
        except Exception as exc:  # a broken install must not stop the user's run
            self._warn(f"lineage capture disabled: cannot load iscc_lineage ({exc})")
            return
        try:
            self._router = Router.from_plugin(self.settings, Path.cwd(), list(sys.argv))
        except LineageError as exc:
            # ApiError: Snakemake prints "Error: <message>", one line without a traceback frame
            raise ApiError(f"iscc-lineage: cannot record lineage: {exc}") from None

    def emit(self, record: LogRecord) -> None:
        router = self._router
        if router is None:
            return
        try:
            router.handle(record)
        except Exception as exc:  # the router contains its own failures; this is a backstop
            self._router = None
            self._warn(f"lineage capture stopped ({type(exc).__name__}: {exc})")

    def close(self) -> None:
        if self._closed:
            return  # Snakemake closes its handlers, then logging.shutdown() does it again
        self._closed = True
        try:
            if self._router is not None:
                self._router.close()
                if self._router.closing_line and not self._warned:
                    logging.getLogger(WARNING_LOGGER).warning(self._router.closing_line)
        except KeyboardInterrupt:  # a second Ctrl-C while we finish: stop now, no traceback
            with contextlib.suppress(BaseException):
                self._router.abandon()
        except Exception as exc:  # pragma: no cover - the router contains its own failures
            self._warn(f"lineage capture could not finish ({exc})")
        with contextlib.suppress(Exception):  # Handler.close on a half-built handler
            super().close()

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            logging.getLogger(WARNING_LOGGER).warning(message)

    @property
    def writes_to_stream(self) -> bool:
        return False

    @property
    def writes_to_file(self) -> bool:
        return False

    @property
    def has_filter(self) -> bool:
        return True  # otherwise --quiet drops the events lineage needs

    @property
    def has_formatter(self) -> bool:
        return True

    @property
    def needs_rulegraph(self) -> bool:
        return False


class _Channel(logging.StreamHandler):  # type: ignore[type-arg]
    """The plugin's one way to the terminal: warnings on stderr, prefixed ``iscc-lineage: ``."""

    def emit(self, record: LogRecord) -> None:
        self.stream = sys.stderr  # whatever stderr is now (it may have been replaced)
        super().emit(record)


def _warning_channel() -> None:
    """Give the ``iscc_lineage`` logger its stderr handler, once, outside Snakemake's logging."""
    log = logging.getLogger(WARNING_LOGGER)
    log.propagate = False  # never into Snakemake's handlers (that would re-enter its queue)
    if os.environ.get("ISCC_LINEAGE_DEBUG"):
        log.setLevel(logging.DEBUG)
    elif log.level == logging.NOTSET or log.level > logging.WARNING:
        log.setLevel(logging.WARNING)
    if not any(isinstance(h, _Channel) for h in log.handlers):
        channel = _Channel(sys.stderr)
        channel.setFormatter(logging.Formatter("iscc-lineage: %(message)s"))
        log.addHandler(channel)
