"""A workflow package imported by a run: block and by scripts."""
