"""Benchmarks of iscc-lineage: speed as ratios against references measured in the same run.

``python -m benchmarks [--quick] [--only NAME]`` (``make bench`` / ``make bench-quick``) prints a
Markdown table and writes ``benchmarks/results/latest.json`` (``quick.json`` with ``--quick``).
Every measured thing runs in its own subprocess, so peak RSS comes from the OS accounting.
"""
