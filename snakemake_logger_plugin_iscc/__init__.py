"""Snakemake logger plugin ``iscc``: ``snakemake --logger iscc`` records lineage.

Every snakemake process imports this module while building its argument parser, so it imports
only the standard library and the plugin interface; the recorder is loaded in ``__post_init__``.
``emit()`` and ``close()`` never raise: a provenance failure must not harm the user's run.
"""

from dataclasses import dataclass, field
from logging import LogRecord
from typing import Any, Optional

from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.settings import LogHandlerSettingsBase

__all__ = ["LogHandler", "LogHandlerSettings"]


@dataclass
class LogHandlerSettings(LogHandlerSettingsBase):
    """Settings, exposed as ``--logger-iscc-*`` flags."""

    # Optional[...] and no `from __future__ import annotations`: Snakemake builds argparse
    # types from these annotations at run time.
    store: Optional[str] = field(  # noqa: UP045
        default=None,
        metadata={"help": "Lineage store (SQLite file). Default: $ISCC_LINEAGE_STORE, else "
                          ".iscc-lineage/lineage.db in the working directory."},
    )


class LogHandler(LogHandlerBase):
    """Records every job of the run as a step; the run itself is recorded at ``close()``."""

    def __post_init__(self) -> None:
        self._router: Any = None
        self._closed = False

    def emit(self, record: LogRecord) -> None:
        if self._router is None:
            return
        try:
            self._router.handle(record)
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._router is not None:
                self._router.close()
        except Exception:  # pragma: no cover - last resort; reported by the router itself
            pass
        super().close()

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
