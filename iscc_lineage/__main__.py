"""``python -m iscc_lineage`` runs the command-line interface."""

from iscc_lineage.cli import main

main()
