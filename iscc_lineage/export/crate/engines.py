"""What the exporter knows of workflow engines: which runs are Snakemake runs, the folder of a
run's Snakefile, the rule files it ``include:``s, and the engine entity of the crate.

The one place in ``export/`` that speaks of Snakefiles: a second engine (Nextflow) is a
function here, not a hunt through the crate modules.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from iscc_lineage._version import __version__
from iscc_lineage.model import Run

__all__ = ["engine_entity", "includes", "is_snakemake", "snakefile_dir"]

_INCLUDE = re.compile(r"""^\s*include:\s*(?:r?["']([^"'\n]+)["'])""", re.MULTILINE)
MAX_INCLUDES = 200  #: a bound on include: chains (a loop of includes is a user error)


def is_snakemake(run: Run) -> bool:
    """A run recorded from Snakemake (live or imported) whose workflow is a Snakefile path."""
    return run.info.get("engine") == "snakemake" or (
        run.workflow is not None and run.workflow.startswith("/")
    )


def snakefile_dir(run: Run) -> str | None:
    """The folder of the run's Snakefile: relative code paths are resolved against it."""
    if is_snakemake(run) and run.workflow and run.workflow.startswith("/"):
        return posixpath.dirname(run.workflow)
    return None


def includes(snakefile: Path) -> list[Path]:
    """Rule files pulled in with ``include:`` (relative to the including file), recursively.

    A static reading of the text: includes built from variables are not found.
    """
    found: list[Path] = []
    todo = [snakefile]
    seen = {snakefile}
    while todo and len(found) < MAX_INCLUDES:
        current = todo.pop(0)
        try:
            text = current.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for m in _INCLUDE.finditer(text):
            inc = Path(posixpath.normpath(posixpath.join(str(current.parent), m.group(1))))
            if inc not in seen and inc.is_file():
                seen.add(inc)
                found.append(inc)
                todo.append(inc)
    return found


def engine_entity(run: Run, extra: dict[str, dict[str, Any]]) -> str:
    """The application that ran the steps: Snakemake (with its version) or iscc-lineage."""
    if is_snakemake(run):
        v = run.info.get("snakemake_version")
        eid = f"https://pypi.org/project/snakemake/{v}/" if v else "https://snakemake.github.io/"
        app = {
            "@id": eid,
            "@type": "SoftwareApplication",
            "name": "Snakemake",
            "url": "https://snakemake.github.io/",
        }
    else:
        v = __version__
        eid = f"#iscc-lineage-{v}"
        app = {
            "@id": eid,
            "@type": "SoftwareApplication",
            "name": "iscc-lineage",
            "description": "ran each step with `iscc-lineage record`",
        }
    if v:
        app["version"] = str(v)
    extra.setdefault(eid, app)
    return eid
