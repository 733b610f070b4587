"""Workflow Run RO-Crate (Provenance Run Crate 0.5) export with an ISCC on every file.

``build`` is the recipe (select -> gather -> place -> write) and the only rocrate importer;
``verify`` checks a crate against the ISCCs it declares.
"""

from iscc_lineage.export.crate.build import CrateSummary, Meta, Policy, export_crate
from iscc_lineage.export.crate.verify import CrateCheck, verify_crate

__all__ = ["CrateCheck", "CrateSummary", "Meta", "Policy", "export_crate", "verify_crate"]
