"""The README's Architecture section names every module of the package, and nothing gone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "iscc_lineage"
DEPRECATED = {"fingerprint.py"}  #: root-level aliases kept for one release


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Architecture")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_every_module_is_on_the_map() -> None:
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", _section()))
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if path.name in ("__init__.py", "__main__.py") or (
            len(rel.parts) == 1 and path.name in DEPRECATED
        ):
            continue
        if path.stem not in words:
            missing.append(rel.as_posix())
    assert not missing, f"README Architecture does not name: {missing}"


def test_every_package_on_the_map_exists() -> None:
    named = re.findall(r"^  ([a-z_]+)/", _section(), re.M)
    assert named, "the map lists no packages"
    assert [p for p in named if not (PACKAGE / p / "__init__.py").is_file()] == []
