"""The version of iscc-lineage, importable without loading the package."""

__version__ = "0.1.0"
