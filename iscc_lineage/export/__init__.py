"""Lineage to files other tools read: RO-Crates, checksum files, graphs and pictures.

Read-only on the store. ``select`` decides what an export covers; ``graph`` builds the one
lineage graph that ``diagram`` draws; ``crate/`` writes a Workflow Run RO-Crate; ``checksums``
an ``iscc-sum -c`` file.
"""
