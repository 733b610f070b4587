"""Helpers shared by the workflow's rules."""


def numbers(n: int) -> list[int]:
    return [(i * 37) % 101 for i in range(n)]


def heading(title: str) -> str:
    return f"# {title}"
