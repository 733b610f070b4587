"""The crate's README.md: what the crate is, what is in it, what is only referenced, and how
to check it. Deterministic text (no export time), so two exports of one store are identical.
"""

from __future__ import annotations

from typing import Any

from iscc_lineage._version import __version__
from iscc_lineage.export.crate.entities import Workflow
from iscc_lineage.export.crate.place import Entry
from iscc_lineage.size import format_size

__all__ = ["MAX_ROWS", "readme"]

MAX_ROWS = 500  #: per table; the metadata file lists everything


def readme(root: dict[str, Any], entries: list[Entry], main: Workflow) -> str:
    """The README text for a crate with this root dataset and these entries."""
    shipped = sorted((e for e in entries if e.mode == "payload"), key=lambda e: e.id)
    referenced = sorted((e for e in entries if e.mode != "payload"), key=lambda e: e.id)
    size = sum(e.content.size for e in shipped if e.content is not None)
    lines = [
        f"# {_cell(str(root.get('name', 'RO-Crate')))}",
        "",
        str(root.get("description", "")),
        "",
        "This folder is an [RO-Crate](https://w3id.org/ro/crate/1.1) conforming to the "
        "[Provenance Run Crate 0.5](https://w3id.org/ro/wfrun/provenance/0.5) profile of "
        "Workflow Run RO-Crate, exported by iscc-lineage " + __version__ + ". "
        "`ro-crate-metadata.json` describes the workflow, every step that ran, and every file "
        "used or generated, each with its ISCC-SUM (ISO 24138:2024) content code and, where "
        "it was read, its SHA-256.",
        "",
        f"Main workflow: `{main.entry.rel}` ({main.language}, version {main.version}).",
        "",
        "Check the files against the codes declared here:",
        "",
        "    iscc-lineage verify --crate .",
        "",
    ]
    if main.language == "snakemake":
        lines += [
            "Re-run the workflow with the code that ran (every script, macro and module a step "
            "ran is in this folder), and compare each output with the one recorded here:",
            "",
            f"    snakemake -s {main.entry.rel} -c2",
            "    iscc-lineage reproduce . --data-from /path/to/raw-data   # identical / "
            "near-identical / different",
            "",
            "Raw data described by reference below is not in this folder: `--data-from DIR` "
            "takes it from DIR at the same relative path (checked against its SHA-256).",
            "",
        ]
    lines += [
        f"## Files in this crate ({len(shipped)}, {format_size(size)})",
        "",
        "| path | ISCC-SUM |",
        "|---|---|",
    ]
    lines += [
        f"| `{_cell(e.rel)}{'/' if e.is_tree else ''}` | {e.content.iscc if e.content else ''} |"
        for e in shipped[:MAX_ROWS]
    ]
    lines += _more(len(shipped))
    lines += [
        "",
        f"## Files described by reference ({len(referenced)})",
        "",
        "Not in this folder: too large, left out on request, gone since the run, or at a "
        "web address. Each still carries its ISCC-SUM, so a copy found anywhere can be "
        "identified by content.",
        "",
        "| id | ISCC-SUM | size | why |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{_cell(e.id)}` | {e.content.iscc if e.content else '(no content recorded)'} "
        f"| {format_size(e.content.size) if e.content else ''} | {_cell(e.why or '')} |"
        for e in referenced[:MAX_ROWS]
    ]
    lines += _more(len(referenced))
    return "\n".join(lines) + "\n"


def _more(n: int) -> list[str]:
    return [f"| … {n - MAX_ROWS} more in `ro-crate-metadata.json` | | | |"] if n > MAX_ROWS else []


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("`", "'")
