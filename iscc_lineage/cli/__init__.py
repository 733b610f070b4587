"""The ``iscc-lineage`` command line (click). The only package that imports click.

Exit codes (as iscc-sum): 0 success, 1 a negative answer, 2 trouble. One module per family of
commands: ``record`` (fingerprint, record), ``lineage`` (trace, impact, runs, show),
``verify``, ``store`` (copy), ``export`` (crate, checksums, omero), ``workflow`` (init, run,
import), ``sign`` (keys, sign, declare), ``images`` (reindex --pixels). A command's module is
imported when the command is used (``group.COMMANDS``): startup stays short.
"""

from iscc_lineage.cli.group import EXIT_ERROR, EXIT_NEGATIVE, EXIT_SUCCESS, cli, load_commands

__all__ = ["EXIT_ERROR", "EXIT_NEGATIVE", "EXIT_SUCCESS", "cli", "load_commands", "main"]


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="iscc-lineage")
