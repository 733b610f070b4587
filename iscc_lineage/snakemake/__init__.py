"""Snakemake integration: the only code that speaks of rules, jobs, wildcards and LogRecords.

It translates Snakemake terms into the recorder's model terms (rule -> process, job -> step,
input/output -> used/generated artifact) and never imports snakemake itself.
"""
