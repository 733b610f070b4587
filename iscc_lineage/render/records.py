"""Fingerprints, runs, steps and verify checks as lines and tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from iscc_lineage.model import Fingerprint, Run, Step
from iscc_lineage.render.console import escape, out, rel, status_markup
from iscc_lineage.verify import Check

__all__ = ["checks", "fingerprint_lines", "run_detail", "runs_table", "step_detail"]


def fingerprint_lines(items: Sequence[tuple[str, Fingerprint]], *, units: bool) -> None:
    """``ISCC:KUA… *path`` lines, as ``iscc-sum --narrow`` writes them (``--units`` too)."""
    for path, fp in items:
        shown = path + "/" if fp.kind == "tree" and not path.endswith("/") else path
        sys.stdout.write(f"{fp.iscc} *{shown}\n")
        if units:
            sys.stdout.write(f"  {fp.data_code}\n  {fp.instance_code}\n")


def runs_table(runs: Sequence[Run]) -> None:
    from rich.table import Table

    t = Table(box=None, header_style="bold")
    for col in ("run", "started", "status", "steps", "workflow", "workdir"):
        t.add_column(col)
    for r in runs:
        t.add_row(
            r.id[:12],
            r.started[:19].replace("T", " "),
            status_markup(r.status),
            str(r.steps),
            escape(r.workflow or ""),
            escape(rel(r.workdir)),
        )
    out().print(t)


def run_detail(run: Run, steps: Sequence[Step]) -> None:
    out().print(f"[bold]run {run.id}[/] {status_markup(run.status)}")
    for k in ("workflow", "workdir", "command", "started", "ended", "host", "user"):
        v = getattr(run, k)
        if v:
            out().print(f"  {k:<9} {escape(str(v))}")
    from rich.table import Table

    t = Table(box=None, header_style="bold", title=f"{len(steps)} steps", title_justify="left")
    for col in ("step", "name", "status", "in", "out", "ended"):
        t.add_column(col)
    for s in steps:
        t.add_row(
            s.id[:12],
            escape(s.label),
            status_markup(s.status),
            str(len(s.inputs)),
            str(len(s.made)),
            (s.ended or "")[:19].replace("T", " "),
        )
    out().print(t)


def step_detail(step: Step) -> None:
    out().print(
        f"[bold]step {step.id}[/] {escape(step.name)} {status_markup(step.status)}"
        f" [dim]run {step.run}[/]"
    )
    for k in ("process", "command", "code", "code_datahash", "started", "ended", "exit_status"):
        v = getattr(step, k)
        if v is not None:
            out().print(f"  {k:<13} {escape(str(v))}")
    for k in ("params", "environment"):
        if getattr(step, k):
            out().print(f"  {k:<13} {escape(json.dumps(getattr(step, k), sort_keys=True))}")
    wildcards = step.info.get("wildcards")
    if wildcards:
        out().print(f"  {'wildcards':<13} {escape(json.dumps(wildcards, sort_keys=True))}")
    if step.info.get("run_source"):
        out().print(f"  [bold]run: block[/]\n{escape(str(step.info['run_source']).rstrip())}")
    for title, edges in (
        ("code", step.code_files),
        ("used", step.inputs),
        ("generated", step.outputs),
        ("partial (written before the step failed)", step.partial),
    ):
        if not edges and (title == "code" or title.startswith("partial")):
            continue
        out().print(f"  [bold]{title}[/]")
        for e in edges:
            role = f"{e.note.removeprefix('code: ')} " if title == "code" and e.note else ""
            out().print(
                f"    {escape(role)}{escape(rel(e.path))} [dim]{e.datahash or e.note or ''}[/]"
            )


def checks(results: Sequence[Check]) -> None:
    """One line per location: OK / CHANGED (how much, where) / MISSING / GONE / ERROR."""
    for c in results:
        path = escape(rel(c.path))
        if c.status == "ok":
            out().print(f"[green]OK[/]       {path}")
        elif c.status == "changed" and c.pixels == "identical":
            out().print(
                f"[yellow]CHANGED[/]  {path}: [bold]pixels identical, file changed[/]"
                f" (re-encoded or recompressed: same image), {c.size_before:,} → "
                f"{c.size_now:,} bytes"
            )
        elif c.status == "changed":
            size = f"{c.size_before:,} → {c.size_now:,} bytes"
            if c.pixels == "changed":
                size += "; the image's pixels changed"
            if c.bytes_changed is not None:
                size += (
                    f", {c.bytes_changed:,} byte{'s' if c.bytes_changed != 1 else ''} "
                    "differ from the recorded copy"
                )
            if c.similarity == "too small to measure":
                how = "too small to measure similarity"
            else:
                how = f"Data-Code {c.data_distance} bits of {c.data_bits} ({c.similarity})"
            out().print(f"[red]CHANGED[/]  {path}: {how}, {size}")
            for k, names in c.members.items():
                if names:
                    more = f" … (+{len(names) - 5})" if len(names) > 5 else ""
                    shown = ", ".join(names[:5]) + more
                    out().print(f"           {k}: {escape(shown)}")
        elif c.status == "missing":
            out().print(f"[red]MISSING[/]  {path}")
        elif c.status == "gone":
            out().print(f"[yellow]GONE[/]     {path} [dim]({escape(c.detail or '')})[/]")
        else:
            out().print(f"[red]ERROR[/]    {path}: {escape(c.detail or '')}")
    counts = {
        s: sum(c.status == s for c in results)
        for s in ("ok", "changed", "missing", "gone", "error")
    }
    parts = [
        f"{n} {s}" + (" (temp, expected)" if s == "gone" else "") for s, n in counts.items() if n
    ]
    out().print(f"[dim]{len(results)} checked: {', '.join(parts) or 'nothing'}[/]")
