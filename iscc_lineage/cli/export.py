"""Export commands: ``export crate`` (Workflow Run RO-Crate), ``export checksums`` (a file for
``iscc-sum -c``).

The crate code (and ro-crate-py) is imported inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import click

from iscc_lineage import render
from iscc_lineage.cli.group import OPTION_JSON, cli, open_from_context
from iscc_lineage.size import parse_size

if TYPE_CHECKING:
    from iscc_lineage.model import Content

__all__ = ["export"]


def _size_option(ctx: click.Context, param: click.Parameter, value: str) -> int:
    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


OPTION_RUNS = click.option(
    "--run",
    "runs",
    multiple=True,
    metavar="ID",
    help="A run to export (repeatable; an id prefix is enough). [default: the newest run]",
)
OPTION_FOR = click.option(
    "--for",
    "for_files",
    multiple=True,
    metavar="FILE",
    type=click.Path(exists=True, path_type=Path),
    help="Export only the lineage of FILE, found by content as `trace` does (repeatable).",
)
OPTION_FORCE = click.option(
    "--force", is_flag=True, help="Replace OUT if it exists (a folder only if it is a crate)."
)


@cli.group()
def export() -> None:
    """Export lineage: an RO-Crate for a repository deposit, a checksum file, or OMERO
    key-value annotations."""


@export.command("crate")
@click.argument("out", type=click.Path(path_type=Path))
@OPTION_RUNS
@OPTION_FOR
@click.option("--zip", "as_zip", is_flag=True, help="Write OUT as one zip file.")
@click.option(
    "--data",
    type=click.Choice(["none", "small", "all"]),
    default="small",
    show_default=True,
    help="Which data files to copy into the crate; the others are described by "
    "reference, with their ISCC. Workflow code is always copied.",
)
@click.option(
    "--max-size",
    metavar="SIZE",
    default="100MB",
    show_default=True,
    callback=_size_option,
    help="With --data small: the largest file or folder copied.",
)
@click.option(
    "--data-url",
    metavar="PREFIX",
    help="Where referenced data will be downloadable: PREFIX/<path in the crate>.",
)
@click.option("--name", help="Crate title.  [default: from the run or the files]")
@click.option("--description", help="Crate description.")
@click.option(
    "--author",
    "authors",
    multiple=True,
    metavar="ORCID-OR-NAME",
    help="An author: an ORCID, a name, or 'Name <ORCID>' (repeatable). The first "
    "is also recorded as the agent of the runs.",
)
@click.option("--affiliation", metavar="ROR-OR-NAME", help="Organisation of the authors.")
@click.option("--publisher", metavar="ROR-OR-NAME", help="Publishing organisation.")
@click.option(
    "--license",
    "license_",
    metavar="SPDX-OR-URL",
    help="License of the crate, e.g. CC-BY-4.0 or a URL.",
)
@click.option(
    "--sha256/--no-sha256",
    "sha256",
    default=True,
    show_default=True,
    help="Add SHA-256 for copied files (and referenced ones up to --max-size).",
)
@click.option(
    "--sign",
    "sign_",
    is_flag=True,
    help="Sign a note of every shipped output and of each run with your key "
    "(`keys init`) into notes/; `verify --crate` checks them offline.",
)
@click.option(
    "--keys",
    "keys_path",
    type=click.Path(path_type=Path),
    envvar="ISCC_LINEAGE_KEYS",
    help="Key folder for --sign.",
)
@click.option(
    "--include-outside",
    is_flag=True,
    help="Also copy data from outside the workflow folder (by default it is "
    "described by reference, never copied).",
)
@click.option(
    "--keep-paths",
    is_flag=True,
    help="Keep absolute local paths and user names in the crate (by default paths "
    "are relative to the workflow folder, homes are ~ and users <user>).",
)
@click.option(
    "--similar",
    is_flag=True,
    help="A --for file that is not recorded (a paper's figure, a crop, a panel) is "
    "exported with the lineage of the recorded figure it shows, as `trace "
    "--similar` finds it; the evidence goes into figure-matches.json.",
)
@OPTION_FORCE
@OPTION_JSON
@click.pass_context
def crate(
    ctx: click.Context,
    out: Path,
    runs: tuple[str, ...],
    for_files: tuple[Path, ...],
    as_zip: bool,
    data: str,
    max_size: int,
    data_url: str | None,
    name: str | None,
    description: str | None,
    authors: tuple[str, ...],
    affiliation: str | None,
    publisher: str | None,
    license_: str | None,
    sha256: bool,
    sign_: bool,
    keys_path: Path | None,
    include_outside: bool,
    keep_paths: bool,
    similar: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Write a Workflow Run RO-Crate (Provenance Run Crate 0.5) to OUT.

    The crate holds the workflow code, the small data files and a README; every file,
    shipped or not, is described with its ISCC-SUM so that copies can be found by content.
    Large raw data is never copied. Check a crate with `iscc-lineage verify --crate OUT`.

    \b
    Examples:
      iscc-lineage export crate deposit/ --license CC-BY-4.0 --author 0000-0002-1825-0097
      iscc-lineage export crate paper.zip --zip --for results/figures/summary.png
      iscc-lineage export crate fig2.zip --zip --similar --for paper/fig2b.jpg
      iscc-lineage export crate out/ --run 3f2a --data none --data-url https://example.org/d
      iscc-lineage export crate signed/ --sign --license CC-BY-4.0
    """
    from iscc_lineage.export.crate.build import Meta, Policy, export_crate

    if data_url is not None and not re.match(r"^https?://[^/\s]+", data_url):
        raise click.BadParameter("must be an http(s) URL", param_hint="--data-url")
    mode = cast("Literal['none', 'small', 'all']", data)  # click.Choice checked it
    policy = Policy(
        data=mode,
        max_size=max_size,
        data_url=data_url,
        sha256=sha256,
        include_outside=include_outside,
        keep_paths=keep_paths,
    )
    meta = Meta(name, description, license_, authors, publisher, affiliation)
    signer = None
    if sign_:
        from iscc_lineage.cli.sign import load_signer
        from iscc_lineage.export.crate.signed import CrateSigner

        signer = CrateSigner(*load_signer(keys_path))
    store = open_from_context(ctx)
    resolver = None
    if similar:
        from iscc_lineage.cli.figures import resolve_figure

        def resolver(path: Path) -> tuple[Content, dict[str, Any]] | None:
            return resolve_figure(ctx, store, path)

    summary = export_crate(
        store,
        out,
        runs=runs,
        for_files=for_files,
        policy=policy,
        meta=meta,
        as_zip=as_zip,
        force=force,
        signer=signer,
        similar=resolver,
    )
    if as_json:
        render.dump_json(summary.to_dict())
        return
    click.echo(
        f"Wrote {out}: {len(summary.payload)} files in the crate "
        f"({summary.payload_bytes:,} bytes), {len(summary.referenced)} described by "
        f"reference; main workflow {summary.main_entity}"
    )
    if not license_:
        click.echo(
            "warning: no --license given; the crate says the license is unspecified", err=True
        )
    outside = [i for i in summary.referenced if i.startswith("#external/")]
    if outside:
        click.echo(
            f"note: {len(outside)} file(s) from outside the workflow folder are "
            "described, not copied (--include-outside copies them)",
            err=True,
        )


@export.command("checksums")
@click.argument("out", type=click.Path(path_type=Path))
@OPTION_RUNS
@OPTION_FOR
@OPTION_FORCE
@OPTION_JSON
@click.pass_context
def checksums(
    ctx: click.Context,
    out: Path,
    runs: tuple[str, ...],
    for_files: tuple[Path, ...],
    force: bool,
    as_json: bool,
) -> None:
    """Write the recorded ISCC-SUMs as a checksum file for `iscc-sum -c`.

    Paths are relative to OUT's folder; run the check there. Files that are gone (temporary
    files) are left out and listed on stderr.

    \b
    Examples:
      iscc-lineage export checksums results/ISCC-SUMS
      cd results && iscc-sum -c ISCC-SUMS
    """
    from iscc_lineage.export.checksums import export_checksums

    summary = export_checksums(
        open_from_context(ctx), out, runs=runs, for_files=for_files, force=force
    )
    if as_json:
        render.dump_json(summary.to_dict())
        return
    click.echo(f"Wrote {out}: {summary.lines} checksum line(s)")
    for loc, why in summary.skipped.items():
        click.echo(f"skipped {loc}: {why}", err=True)


@export.command("omero")
@click.argument("out", type=click.Path(path_type=Path))
@OPTION_RUNS
@OPTION_FOR
@OPTION_JSON
@click.pass_context
def omero(
    ctx: click.Context, out: Path, runs: tuple[str, ...], for_files: tuple[Path, ...], as_json: bool
) -> None:
    """Write the images' ISCC codes as OMERO key-value annotations into folder OUT.

    iscc-omero.csv holds one row per image (Image Name, ISCC-CODE, ...) and
    iscc-omero-bulkmap.yml maps its columns to a MapAnnotation in namespace org.iscc.omero,
    the one the BIO-CODES OMERO service writes. ISCC-CODE is the pixel code, so OMERO's own
    copy of an image has the same value whatever format it imported. Without --run or --for:
    every pixel-coded image in the store.

    
    Examples:
      iscc-lineage export omero omero-annotations/
      omero metadata populate --file omero-annotations/iscc-omero.csv Dataset:1
      omero metadata populate --context bulkmap \
          --cfg omero-annotations/iscc-omero-bulkmap.yml Dataset:1
    """
    from iscc_lineage.export.omero import OmeroImage, write_omero
    from iscc_lineage.export.select import select

    store = open_from_context(ctx)
    if runs or for_files:
        hashes = list(select(store, runs=runs, for_files=for_files).contents)
    else:
        hashes = store.imaged_contents()
    images = store.images(hashes)
    contents = store.contents(images)
    items = [
        OmeroImage(
            contents[h].paths[-1] if contents[h].paths else h, contents[h].iscc, img, len(images[h])
        )
        for h in hashes
        if h in images and h in contents
        for img in images[h]
    ]
    csv_path, yml_path = write_omero(out, items)
    if as_json:
        render.dump_json({"csv": str(csv_path), "bulkmap": str(yml_path), "images": len(items)})
        return
    click.echo(f"Wrote {csv_path} ({len(items)} image row(s)) and {yml_path}")
