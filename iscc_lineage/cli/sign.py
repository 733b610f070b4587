"""Signing commands: ``keys init|show``, ``sign``, ``declare``; the checks behind
``verify --signatures`` and ``verify --store``.

iscc-crypto is imported only inside the commands (through :mod:`iscc_lineage.signing`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from iscc_lineage import render
from iscc_lineage.cli.group import EXIT_NEGATIVE, OPTION_JSON, cli, open_from_context
from iscc_lineage.errors import NotFoundError
from iscc_lineage.locations import location

__all__ = [
    "declare",
    "keys",
    "load_signer",
    "sign",
    "verify_signatures_command",
    "verify_store_command",
]

OPTION_KEYS = click.option(
    "--keys",
    "keys_path",
    type=click.Path(path_type=Path),
    envvar="ISCC_LINEAGE_KEYS",
    help="Key folder.  [default: $ISCC_LINEAGE_KEYS, else the user's config folder]",
)
OPTION_HUB = click.option(
    "--hub-id",
    type=click.IntRange(0, 4095),
    default=0,
    show_default=True,
    help="The ISCC-HUB the note is meant for (the nonce's first 12 bits).",
)


def load_signer(keys_path: Path | None) -> tuple[Any, Any]:
    from iscc_lineage.signing import require_crypto
    from iscc_lineage.signing.keys import (
        PASSPHRASE_ENV,
        keys_dir,
        load_identity,
        load_keypair,
    )

    require_crypto()
    folder = keys_dir(keys_path)
    passphrase = None
    if (
        load_identity(folder).encrypted
        and not os.environ.get(PASSPHRASE_ENV)
        and sys.stdin.isatty()
    ):
        passphrase = click.prompt("Passphrase for the signing key", hide_input=True, err=True)
    return load_keypair(folder, passphrase)


@cli.group()
def keys() -> None:
    """Your signing key: an Ed25519 pair in your config folder, never in a store or a crate."""


@keys.command("init")
@OPTION_KEYS
@click.option("--name", help="Your name, shown with your signature.")
@click.option("--orcid", help="Your ORCID iD (0000-0000-0000-000X), shown with your signature.")
@click.option(
    "--passphrase",
    "ask",
    is_flag=True,
    help="Protect the private key with a passphrase (asked, or $ISCC_LINEAGE_PASSPHRASE).",
)
@click.option("--force", is_flag=True, help="Replace an existing key.")
@OPTION_JSON
def keys_init(
    keys_path: Path | None,
    name: str | None,
    orcid: str | None,
    ask: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Create your signing key (private key file mode 0600).

    \b
    Example:
      iscc-lineage keys init --name "Ada Lovelace" --orcid 0000-0002-1825-0097
    """
    from iscc_lineage.signing import require_crypto
    from iscc_lineage.signing.keys import PASSPHRASE_ENV, init_keys, keys_dir

    require_crypto()
    passphrase = None
    if ask:
        passphrase = os.environ.get(PASSPHRASE_ENV) or click.prompt(
            "Passphrase", hide_input=True, confirmation_prompt=True, err=True
        )
    folder = keys_dir(keys_path)
    ident = init_keys(folder, passphrase=passphrase, name=name, orcid=orcid, force=force)
    if as_json:
        render.dump_json({**ident.to_dict(), "folder": str(folder)})
        return
    click.echo(f"Created a signing key in {folder}")
    _show(ident)


def _show(ident: Any) -> None:
    click.echo(f"public key  {ident.pubkey}")
    click.echo(f"did         {ident.did}")
    if ident.name:
        click.echo(f"name        {ident.name}")
    if ident.orcid:
        click.echo(f"ORCID       {ident.orcid_url}")
    click.echo(f"passphrase  {'yes' if ident.encrypted else 'no'}")


@keys.command("show")
@OPTION_KEYS
@OPTION_JSON
def keys_show(keys_path: Path | None, as_json: bool) -> None:
    """Print your public key (multibase z6Mk…, as iscc-crypto writes it) and its did:key."""
    from iscc_lineage.signing.keys import keys_dir, load_identity

    ident = load_identity(keys_dir(keys_path))
    if as_json:
        render.dump_json(ident.to_dict())
    else:
        _show(ident)


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--run",
    "run_refs",
    multiple=True,
    metavar="ID",
    help="Sign a run's whole lineage (repeatable); it names the store's chain head.",
)
@OPTION_KEYS
@OPTION_HUB
@OPTION_JSON
@click.pass_context
def sign(
    ctx: click.Context,
    files: tuple[Path, ...],
    run_refs: tuple[str, ...],
    keys_path: Path | None,
    hub_id: int,
    as_json: bool,
) -> None:
    """Sign IsccNotes: each FILE's ISCC-CODE bound to its recorded lineage, or a whole run.

    The note (ISCC-SIG v1.0, Ed25519, public key embedded) is kept in the store and exported
    by `export crate --sign`; anyone checks it offline with `verify --signatures / --crate`.
    Its timestamp is your claim, not a trusted time.

    \b
    Examples:
      iscc-lineage sign results/figures/panel.png
      iscc-lineage sign --run 3f2a
    """
    if not files and not run_refs:
        raise click.UsageError("give FILES to sign, or --run ID")
    from iscc_lineage.signing.service import sign_content, sign_run

    keypair, ident = load_signer(keys_path)
    store = open_from_context(ctx)
    done = []
    for path in files:
        steps, units, mint = _content_plan(store, path)
        done.append(
            sign_content(
                store,
                steps,
                path=Path(location(path)),
                keypair=keypair,
                signer=ident,
                hub_id=hub_id,
                units=units,
                mint=mint,
            )
        )
    for ref in run_refs:
        done.append(
            sign_run(store, store.run(ref).id, keypair=keypair, signer=ident, hub_id=hub_id)
        )
    if as_json:
        render.dump_json(
            [
                {
                    "kind": s.kind,
                    "subject": s.subject,
                    "note": s.note,
                    "iscc_id": s.iscc_id,
                    "iscc_id_scope": "local" if s.iscc_id else None,
                }
                for s in done
            ]
        )
        return
    who = ident.pubkey + (f" (ORCID {ident.orcid})" if ident.orcid else "")
    shown = [*map(str, files), *(f"run {r}" for r in run_refs)]
    for what, s in zip(shown, done, strict=True):
        click.echo(f"signed {what}: {s.note['iscc_code']} by {who} at {s.note['timestamp']}")
        if s.iscc_id:
            click.echo(
                f"  local ISCC-ID {s.iscc_id} (minted here, realm 0; not registered with any HUB)"
            )


def _content_plan(store: Any, path: Path) -> tuple[Any, list[str], Any]:
    """The steps behind ``path``'s content, the units a hub accepts, the local ISCC-ID minter."""
    from iscc_lineage.codes import fingerprint_path
    from iscc_lineage.codes.ids import mint_local_iscc_id, units_for_note
    from iscc_lineage.lineage import trace

    fp = fingerprint_path(path)
    if store.content(fp.datahash) is None:
        raise NotFoundError(
            f"{path}: this content is not in the store; nothing to sign "
            "(record the step that made it first)"
        )
    return trace(store, fp.datahash).steps, units_for_note(fp), mint_local_iscc_id


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@OPTION_KEYS
@OPTION_HUB
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the payload here.  [default: stdout]",
)
@click.pass_context
def declare(
    ctx: click.Context, file: Path, keys_path: Path | None, hub_id: int, output: Path | None
) -> None:
    """Prepare the declaration an ISCC-HUB accepts for FILE: a note signed now. No network.

    A HUB rejects a note whose timestamp is more than 10 minutes from its clock, so this signs
    a fresh note (never re-dating an old one): POST the payload to the HUB's /declaration
    within that window. The HUB answers with the ISCC-ID and a signed receipt.
    """
    from iscc_lineage.signing.declare import check_declarable, window_end
    from iscc_lineage.signing.service import sign_content

    keypair, ident = load_signer(keys_path)
    store = open_from_context(ctx)
    steps, units, _ = _content_plan(store, file)
    s = sign_content(
        store,
        steps,
        path=Path(location(file)),
        keypair=keypair,
        signer=ident,
        hub_id=hub_id,
        units=units,
    )
    payload = check_declarable(s.note, hub_id=hub_id)
    text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
    click.echo(
        f"POST this to the HUB's /declaration (HUB-ID {hub_id}) before "
        f"{window_end(s.note)}; the note is also kept in the store.",
        err=True,
    )


def verify_signatures_command(
    ctx: click.Context, paths: Sequence[str] | None, *, as_json: bool
) -> None:
    """``verify --signatures``: every note the store keeps, against files and records now."""
    from iscc_lineage.signing import require_crypto
    from iscc_lineage.signing.service import check_store_notes

    require_crypto()
    store = open_from_context(ctx)
    reports = check_store_notes(store, paths=paths)
    if as_json:
        render.dump_json([r.to_dict() for r in reports])
    else:
        for r in reports:
            click.echo(r.line())
    if not all(r.ok for r in reports):
        ctx.exit(EXIT_NEGATIVE)


def verify_store_command(ctx: click.Context, *, as_json: bool) -> None:
    """``verify --store``: recompute the chain; name the first record changed behind its back."""
    store = open_from_context(ctx)
    findings, entries = store.check_chain()
    if as_json:
        render.dump_json(
            {"ok": not findings, "entries": entries, "findings": [f.to_dict() for f in findings]}
        )
    elif findings:
        click.echo(f"store chain: {findings[0].detail}")
        for f in findings[1:]:
            click.echo(f"  also: {f.detail}")
    else:
        head = store.chain_head()
        click.echo(
            f"store chain intact: {entries} records, head #{head[0] if head else 0} "
            f"{head[1][:16] if head else ''}"
        )
    if findings:
        ctx.exit(EXIT_NEGATIVE)
