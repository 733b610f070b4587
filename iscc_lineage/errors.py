"""The exception tree for user-fixable conditions; the library raises, the CLI reports."""

__all__ = [
    "AmbiguousError",
    "CommandError",
    "EmptyContentError",
    "ExportError",
    "FingerprintError",
    "LineageError",
    "NotFoundError",
    "ProfileError",
    "SchemaVersionError",
    "SettingsError",
    "SigningError",
    "StoreError",
]


class LineageError(Exception):
    """Base class for all iscc-lineage errors."""


class FingerprintError(LineageError):
    """A path cannot be fingerprinted (missing, unreadable, not a regular file, a loop)."""


class StoreError(LineageError):
    """The lineage store cannot be opened, read or written."""


class SchemaVersionError(StoreError):
    """The store was written by a newer iscc-lineage than this one."""


class NotFoundError(LineageError):
    """No recorded content, run or step matches the query."""


class AmbiguousError(NotFoundError):
    """An id prefix matches more than one run or step."""


class EmptyContentError(LineageError):
    """An empty content names no lineage: every empty file (log, marker) shares it."""


class ExportError(LineageError):
    """An export cannot be written as asked."""


class SettingsError(LineageError):
    """A capture setting (``--logger-iscc-*``, ``ISCC_LINEAGE_*``) is invalid."""


class ProfileError(LineageError):
    """A workflow profile cannot be read or merged (not YAML, not a mapping)."""


class CommandError(LineageError):
    """An external program (snakemake, a recorded command) cannot be found or started."""


class SigningError(LineageError):
    """A key cannot be made or used, or a note cannot be signed or read as a note."""
