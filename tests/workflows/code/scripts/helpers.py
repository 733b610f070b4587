"""A module next to the scripts, imported by summary.py."""

from pkg.utils import heading


def block(title: str, lines: list[str]) -> str:
    return heading(title) + "\n" + "\n".join(lines) + "\n"
