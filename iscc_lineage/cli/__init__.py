"""The ``iscc-lineage`` command line (click). The only package that imports click.

Exit codes (as iscc-sum): 0 success, 1 a negative answer, 2 trouble. One module per family of
commands: ``record`` (fingerprint, record), ``lineage`` (trace, impact, runs, show),
``verify``, ``store`` (copy), ``export`` (crate, checksums, omero), ``workflow`` (init, run,
import), ``sign`` (keys, sign, declare), ``images`` (reindex --pixels).
"""

from iscc_lineage.cli import (  # noqa: F401 - importing a module registers its commands
    export,
    figures,
    images,
    lineage,
    record,
    reproduce,
    sign,
    store,
    verify,
    workflow,
)
from iscc_lineage.cli.group import EXIT_ERROR, EXIT_NEGATIVE, EXIT_SUCCESS, cli

__all__ = ["EXIT_ERROR", "EXIT_NEGATIVE", "EXIT_SUCCESS", "cli", "main"]


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="iscc-lineage")
