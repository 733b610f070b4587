"""The reliability suite behind ``make test-faults``: faults tried against the real CLI and
the real Snakemake plugin, counted, and printed as one table (see ``python -m faults``)."""
