"""``iscc-lineage reproduce`` and ``iscc-lineage diff``: re-run and compare by content."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import click

from iscc_lineage.cli.group import EXIT_NEGATIVE, cli
from iscc_lineage.diff import RunDiff, diff_steps
from iscc_lineage.errors import NotFoundError
from iscc_lineage.store import Store

__all__ = ["diff_command", "reproduce_command"]


def _open(ctx: click.Context) -> Store:
    from iscc_lineage.cli.group import open_from_context

    return open_from_context(ctx)


def _dump(value: object) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


@cli.command(name="reproduce")
@click.argument("target")
@click.option(
    "--data-from",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder holding the raw data a crate only references (same relative paths).",
)
@click.option(
    "--scratch",
    type=click.Path(path_type=Path),
    help="Re-run here (created; must be empty).  [default: a temporary folder]",
)
@click.option("--keep", is_flag=True, help="Keep the temporary scratch folder.")
@click.option(
    "-c",
    "--cores",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Cores for Snakemake.",
)
@click.option(
    "--accept-near-identical",
    "accept_near",
    is_flag=True,
    help="Exit 0 also when some outputs are only near-identical.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=None,
    help="Give up on the re-run after this many seconds.",
)
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
@click.pass_context
def reproduce_command(
    ctx: click.Context,
    target: str,
    data_from: Path | None,
    scratch: Path | None,
    keep: bool,
    cores: int,
    accept_near: bool,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Re-execute a run, a figure's lineage or a crate in a scratch folder; compare by content.

    TARGET is a run id (or prefix), a recorded file, or an RO-Crate (folder or .zip). Each
    output is identical (same datahash / SHA-256), near-identical (at most 4 of 64 Data-Code or
    Image-Code bits apart) or different; the first diverging step is named. Exit status 0
    only when every output is identical (or near-identical with --accept-near-identical),
    1 otherwise.

    \b
    Examples:
      iscc-lineage reproduce 3f2a
      iscc-lineage reproduce results/figures/summary.png --accept-near-identical
      iscc-lineage reproduce deposit.zip --data-from /data/raw
    """
    from iscc_lineage import reproduce as rp

    if scratch is not None and scratch.exists() and any(scratch.iterdir()):
        raise click.UsageError(f"--scratch {scratch}: not empty")
    temp = scratch is None
    root = scratch or Path(tempfile.mkdtemp(prefix="iscc-reproduce-"))
    try:
        path = Path(target)
        if path.exists() and (
            (path.is_dir() and (path / "ro-crate-metadata.json").is_file()) or path.suffix == ".zip"
        ):
            crate = rp.open_crate(path, root / "_unpacked")
            plan = rp.plan_crate(crate, data_from)
        elif path.is_file():
            plan = rp.plan_figure(_open(ctx), path)
        else:
            try:
                plan = rp.plan_run(_open(ctx), target)
            except NotFoundError:
                raise NotFoundError(f"{target}: no such run, recorded file or crate") from None
        report = rp.execute(plan, root / "work", cores=cores, timeout=timeout)
    finally:
        if temp and not keep:
            shutil.rmtree(root, ignore_errors=True)
    if as_json:
        _dump(report.to_dict(accept_near=accept_near))
    else:
        _print_report(report, kept=not temp or keep)
    if not report.reproduced(accept_near=accept_near):
        ctx.exit(EXIT_NEGATIVE)


def _print_report(report: object, *, kept: bool) -> None:
    from iscc_lineage.reproduce import Report

    assert isinstance(report, Report)
    width = max((len(o.path) for o in report.outcomes), default=4)
    click.echo(
        f"Reproduced {report.label} in {report.seconds:.1f} s"
        + (f" (scratch kept: {report.scratch})" if kept else "")
    )
    for o in report.outcomes:
        dist = ""
        if o.status in ("near-identical", "different"):
            parts = []
            if o.data_distance is not None:
                parts.append(f"Data-Code {o.data_distance}/64 bits")
            if o.image_distance is not None:
                parts.append(f"Image-Code {o.image_distance}/64 bits")
            dist = "  " + ", ".join(parts)
        click.echo(f"  {o.status.upper():15} {o.path:{width}}  {o.step}{dist}")
    for n in report.notes:
        click.echo(f"  note: {n}")
    counts = ", ".join(f"{v} {k}" for k, v in report.counts().items() if v)
    click.echo(f"{len(report.outcomes)} outputs: {counts or 'none'}")
    if report.first_diverging:
        click.echo(f"First diverging step: {report.first_diverging}")
    if report.returncode != 0:
        click.echo(f"snakemake exited with {report.returncode}:", err=True)
        click.echo(report.log_tail or "", err=True)


@cli.command(name="diff")
@click.argument("a")
@click.argument("b")
@click.option("--all", "show_all", is_flag=True, help="Also list steps that are the same.")
@click.option("--json", "as_json", is_flag=True, help="Write JSON to stdout.")
@click.pass_context
def diff_command(ctx: click.Context, a: str, b: str, show_all: bool, as_json: bool) -> None:
    """What differs between two runs (or two recorded files' lineages), and why.

    Steps are matched by rule and wildcards. For each, the cause the record proves: changed
    params (by name), code (which file), software, inputs (by content), or the same recipe
    with a different output (non-determinism). Outputs are compared by content. Exit status
    1 when anything differs.

    \b
    Examples:
      iscc-lineage diff 3f2a 9c1d
      iscc-lineage diff old/figure.png new/figure.png
    """
    from iscc_lineage.lineage import identify, trace

    store = _open(ctx)

    def steps_of(ref: str) -> tuple[str, list]:  # type: ignore[type-arg]
        p = Path(ref)
        if p.is_file():
            _, content = identify(store, p)
            if content is None:
                raise NotFoundError(f"{ref}: not recorded (its content is in no lineage)")
            return ref, list(trace(store, content.datahash).steps)
        run = store.run(ref)
        return f"run {run.id}", store.steps_of_run(run.id)

    la, sa = steps_of(a)
    lb, sb = steps_of(b)
    result = diff_steps(store, sa, sb, la, lb)
    if as_json:
        _dump(result.to_dict())
    else:
        _print_diff(result, show_all)
    if any(s.verdict != "same" for s in result.steps):
        ctx.exit(EXIT_NEGATIVE)


def _print_diff(d: RunDiff, show_all: bool) -> None:
    click.echo(f"A: {d.a}\nB: {d.b}")
    words = {
        "changed": "CHANGED",
        "recipe-only": "RECIPE",
        "non-deterministic": "NONDET",
        "same": "same",
        "only-a": "only in A",
        "only-b": "only in B",
    }
    for s in d.steps:
        if s.verdict == "same" and not show_all:
            continue
        click.echo(f"{words[s.verdict]:10} {s.key}")
        for c in s.causes:
            click.echo(f"           because {c}")
        if s.verdict == "non-deterministic":
            click.echo("           because nothing recorded changed: same recipe, other output")
        for o in s.changed_outputs:
            bits = f" (Data-Code {o.data_distance}/64 bits)" if o.data_distance is not None else ""
            click.echo(f"           {o.status}: {o.path}{bits}")
    same = sum(1 for s in d.steps if s.verdict == "same")
    click.echo(f"{len(d.steps)} steps: {same} the same, {len(d.steps) - same} differ")
    if d.first is not None:
        click.echo(f"First diverging step: {d.first.key}")
    if d.changed_outputs:
        click.echo("Changed outputs: " + ", ".join(d.changed_outputs))
