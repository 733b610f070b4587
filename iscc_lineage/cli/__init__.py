"""The ``iscc-lineage`` command line (click). The only package that imports click.

Exit codes (as iscc-sum): 0 success, 1 a negative answer, 2 trouble. One module per family of
commands: ``core`` (fingerprint, record, trace, impact, verify, runs, show).
"""

from iscc_lineage.cli import (  # noqa: F401 - workflow: init, run, import
    core,
    export,
    workflow,
)
from iscc_lineage.cli.group import EXIT_ERROR, EXIT_NEGATIVE, EXIT_SUCCESS, cli

__all__ = ["EXIT_ERROR", "EXIT_NEGATIVE", "EXIT_SUCCESS", "cli", "core", "main"]


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="iscc-lineage")
