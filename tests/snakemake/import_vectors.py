"""Recorded ``.snakemake/`` fixtures (``tests/vectors/snakemake-<case>``) as working directories.

``tests/vectors/build_snakemake_fixtures.py`` recorded them from real Snakemake runs of
``tests/workflows/import``. Git keeps no mtimes and the evidence rules compare mtimes with the
records' times, so :func:`load` puts every mtime back from ``fixture.json``; tests that need a
particular mtime set it from the record's own ``starttime``/``endtime``. The run logs name the
directory the run happened in: :func:`load` rewrites it to the copy, as if the run had
happened there.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
LONG = "results/" + "n" * 200 + ".txt"  #: the workflow's output with a split record name
#: Every output of one complete run of the workflow (the Snakefile's rules, expanded).
OUTPUTS = frozenset(
    {
        "work/a.scaled",
        "work/b.scaled",
        "results/a.sum",
        "results/a.lines",
        "results/b.sum",
        "results/b.lines",
        "results/summary.txt",
        "results/parts",
        LONG,
    }
)
RAW = {"raw/a.txt": b"1\n2\n3\n", "raw/b.txt": b"4\n5\n"}  #: as the build script wrote them


@dataclass(frozen=True)
class Workdir:
    """A copy of one fixture: the working directory of the recorded run(s)."""

    path: Path
    manifest: dict[str, Any]

    def __truediv__(self, rel: str) -> Path:
        return self.path / rel

    def raw_record(self, output: str) -> dict[str, Any]:
        """Snakemake's JSON record of ``output``, found by scanning the directory (file backend).

        Independent of :func:`iscc_lineage.snakemake.metadata.key_path`: a record's name is the
        urlsafe base64 of the output, cut into parts that Snakemake prefixes with ``@``.
        """
        meta = self.path / ".snakemake" / "metadata"
        want = base64.urlsafe_b64encode(output.encode()).decode()
        for p in meta.rglob("*"):
            if p.is_file() and "".join(s.lstrip("@") for s in p.relative_to(meta).parts) == want:
                return dict(json.loads(p.read_text()))
        raise KeyError(output)

    def set_mtime(self, rel: str, t: float) -> None:
        os.utime(self.path / rel, (t, t))

    def logs(self) -> list[Path]:
        return sorted((self.path / ".snakemake" / "log").glob("*.snakemake.log"))

    def workflow_ids(self) -> list[str]:
        """The run ids (uuid hex) the run logs' headers name, oldest first."""
        ids = []
        for p in self.logs():
            m = re.search(r"Workflow ID: ([0-9a-f-]+)", p.read_text())
            assert m is not None, p
            ids.append(m.group(1).replace("-", ""))
        return ids


def load(case: str, into: Path) -> Workdir:
    """Copy fixture ``case`` to ``into/case``, relocated, with its recorded mtimes."""
    src = VECTORS / f"snakemake-{case}"
    manifest = json.loads((src / "fixture.json").read_text())
    dest = into / case
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("fixture.json"))
    for log in (dest / ".snakemake" / "log").glob("*.snakemake.log"):
        log.write_text(log.read_text().replace(manifest["recorded_in"], str(dest)))
    for rel, ns in sorted(manifest["mtimes"].items(), key=lambda kv: -kv[0].count("/")):
        os.utime(dest / rel, ns=(ns, ns))
    return Workdir(dest, manifest)
