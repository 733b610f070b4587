"""Re-fingerprint and compare: ``verify`` (recorded files, or an exported crate)."""

from __future__ import annotations

from pathlib import Path

import click

from iscc_lineage import render
from iscc_lineage.cli.group import (
    EXIT_NEGATIVE,
    OPTION_JSON,
    OPTION_QUIET,
    PATH_ANY,
    cli,
    open_from_context,
)
from iscc_lineage.errors import ExportError, NotFoundError
from iscc_lineage.locations import location
from iscc_lineage.verify import verify

__all__ = ["verify_command"]


@cli.command(name="verify")
@click.argument("paths", nargs=-1, type=PATH_ANY)
@click.option("--run", "run_ref", help="Verify what this run used and generated.")
@click.option(
    "--crate",
    "crate_path",
    type=click.Path(exists=True, path_type=Path),
    help="Check an exported RO-Crate (folder or zip) against the ISCCs it declares, "
    "and its signed notes if it carries any.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Also fail (exit 1) on temp() files that Snakemake deleted as it should.",
)
@click.option(
    "--signatures",
    is_flag=True,
    help="Check signed notes (the store's, or with --crate only the crate's): "
    "signature, the files' bytes now, the lineage.",
)
@click.option(
    "--store",
    "chain",
    is_flag=True,
    help="Recompute the store's hash chain; name the first record changed since.",
)
@click.option(
    "--local-root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="With --crate: also check the files the crate references (#-local) "
    "under this folder (the workflow folder); never followed out of it.",
)
@OPTION_JSON
@OPTION_QUIET
@click.pass_context
def verify_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    run_ref: str | None,
    strict: bool,
    as_json: bool,
    quiet: bool,
    crate_path: Path | None = None,
    signatures: bool = False,
    chain: bool = False,
    local_root: Path | None = None,
) -> None:
    """Re-fingerprint recorded files and report ok / changed / missing / gone.

    Always re-hashes (never the stat cache). A change shows the Data-Code distance, so
    "3 bits of 64" (an edit) reads apart from "unrelated"; files under 16 KiB are "too small
    to measure similarity". temp() files that Snakemake deleted are "gone (temp, expected)".
    A bioimage recorded with pixel codes (record --pixels, reindex --pixels) that was
    re-encoded, recompressed or re-chunked reads "pixels identical, file changed", apart from a
    change of the image itself. Exit status 1 if anything changed (either kind), is missing or
    unreadable (--strict: or gone).

    \b
    Examples:
      iscc-lineage verify                    # every recorded location
      iscc-lineage verify --run 3f2a results/figures/summary.png
      iscc-lineage verify --crate deposit.zip  # a crate's files, ISCCs and signed notes
      iscc-lineage verify --signatures       # signed notes: signer, content, lineage
      iscc-lineage verify --store            # the store's history, through its hash chain
    """
    if chain and (crate_path is not None or signatures or paths or run_ref):
        raise click.UsageError("--store checks the store's hash chain; give nothing else")
    if chain:
        from iscc_lineage.cli.sign import verify_store_command

        verify_store_command(ctx, as_json=as_json)
        return
    if crate_path is not None:
        if paths or run_ref:
            raise click.UsageError("--crate checks a crate; give no PATHS or --run with it")
        _verify_crate(
            ctx, crate_path, as_json=as_json, signatures_only=signatures, local_root=local_root
        )
        return
    if local_root is not None:
        raise click.UsageError("--local-root is for --crate")
    if run_ref is not None and not run_ref.strip():
        raise click.UsageError("--run needs a run id (an empty one would select every run)")
    if signatures:
        if run_ref:
            raise click.UsageError("--signatures takes PATHS, not --run")
        from iscc_lineage.cli.sign import verify_signatures_command

        verify_signatures_command(ctx, [location(p) for p in paths] or None, as_json=as_json)
        return
    store = open_from_context(ctx)
    run_id = store.run(run_ref).id if run_ref else None
    wanted = [location(p) for p in paths] or None
    results = verify(store, run_id=run_id, paths=wanted)
    if wanted:
        known = {c.path for c in results}
        for p in wanted:
            if p not in known:
                raise NotFoundError(f"{p}: no recorded content at this path")
    if as_json:
        render.dump_json([c.to_dict() for c in results])
    else:
        render.checks(results)
    if any(c.failed or (strict and c.status == "gone") for c in results):
        ctx.exit(EXIT_NEGATIVE)


def _verify_crate(
    ctx: click.Context,
    crate_path: Path,
    *,
    as_json: bool,
    signatures_only: bool = False,
    local_root: Path | None = None,
) -> None:
    """``verify --crate``: check a crate's files against the ISCCs it declares, and its signed
    notes; exit 1 on any change, missing or undeclared file, failed note, and when nothing
    could be checked. ``--json`` writes the file checks (with ``--signatures``: the note
    checks)."""
    from iscc_lineage.export.crate.signed import verify_crate_signed

    results, notes = verify_crate_signed(crate_path, local_root=local_root)
    checked = [c for c in results if c.status not in ("unreachable", "undeclared")]
    if signatures_only:
        if not notes:
            raise ExportError(f"{crate_path}: the crate carries no signed notes")
        if as_json:
            render.dump_json([r.to_dict() for r in notes])
        else:
            for r in notes:
                click.echo(r.line())
        if not all(r.ok for r in notes):
            ctx.exit(EXIT_NEGATIVE)
        return
    if as_json:
        render.dump_json([c.to_dict() for c in results])
    else:
        for c in results:
            mark = {"ok": "ok", "unreachable": "-"}.get(c.status, c.status.upper())
            detail = f"  ({c.detail})" if c.detail and c.status != "ok" else ""
            click.echo(f"{mark:<11} {c.id}{detail}")
        counts = {
            s: sum(c.status == s for c in results)
            for s in ("ok", "changed", "missing", "error", "undeclared", "unreachable")
        }
        if checked:
            click.echo(", ".join(f"{n} {s}" for s, n in counts.items() if n), err=True)
        for r in notes:
            click.echo(r.line())
    if not checked:
        click.echo(
            "nothing to verify: no file in the crate declares an ISCC that can be checked here",
            err=True,
        )
    if not checked or any(c.failed for c in results) or not all(r.ok for r in notes):
        ctx.exit(EXIT_NEGATIVE)
