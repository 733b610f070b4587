"""Signed crates: notes of the shipped outputs and of each run, and their offline check.

``export crate --sign`` signs, for each payload file a selected step generated, an IsccNote
referring to that file's lineage *as exported* (the selected steps that trace finds), and one
note per run (of the run's lineage document, naming the store's chain head). Each note is a
payload file ``notes/<path>.json`` beside its lineage document ``notes/<path>.lineage.json``,
described as a ``File`` ``about`` the figure (or the run's action), ``author`` the signer.

``verify --crate`` then checks, with nothing but the crate: the signature under the embedded
key; the figure's bytes against the note's ISCC-CODE and datahash; the lineage document against
``metahash``; and that document against the crate's own actions: each signed step is there as
``#job-<id>``, using and generating the contents it names (full datahash where the crate
declares one, else the 64-bit Instance-Code in the ISCC).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from iscc_lineage.errors import FingerprintError
from iscc_lineage.signing.keys import Identity

if TYPE_CHECKING:
    from iscc_lineage.export.crate.reader import CrateReader

__all__ = ["CrateSigner", "NoteFile", "note_files", "verify_crate_notes"]

NOTES_DIR = "notes"


@dataclass(frozen=True, slots=True)
class CrateSigner:
    keypair: Any
    identity: Identity
    hub_id: int = 0


@dataclass(frozen=True, slots=True)
class NoteFile:
    rel: str
    data: bytes
    props: dict[str, Any]


def _slug(rel: str) -> str:
    return rel.strip("/").replace("/", "__")


def signer_entity(ident: Identity) -> dict[str, Any]:
    """The signer as a ``Person`` (ORCID id when given), its key in ``identifier``."""
    ent: dict[str, Any] = {
        "@id": ident.orcid_url or ident.did,
        "@type": "Person",
        "name": ident.name or ident.pubkey,
        "identifier": ident.did,
    }
    return ent


def note_files(
    store: Any,
    steps: Sequence[Any],
    runs: Sequence[str],
    targets: Sequence[tuple[str, str, str]],
    signer: CrateSigner,
) -> tuple[list[NoteFile], dict[str, Any]]:
    """Sign notes now (kept in the store too) and lay them out as crate files.

    ``targets``: ``(entity id, crate-relative path, original path)`` of the payload files to
    sign; ``steps``: the selected steps; ``runs``: the selected run ids.
    """
    from iscc_lineage.codes import fingerprint_path
    from iscc_lineage.codes.ids import units_for_note
    from iscc_lineage.lineage import trace
    from iscc_lineage.signing.service import sign_content, sign_run

    selected = {s.id for s in steps}
    who = signer_entity(signer.identity)
    out: list[NoteFile] = []
    for eid, rel, original in targets:
        fp = fingerprint_path(Path(original))
        lineage = [s for s in trace(store, fp.datahash).steps if s.id in selected]
        sn = sign_content(
            store,
            lineage,
            path=Path(original),
            keypair=signer.keypair,
            signer=signer.identity,
            hub_id=signer.hub_id,
            units=units_for_note(fp),
        )
        out += _pair(f"{NOTES_DIR}/{_slug(rel)}", sn, eid, rel, who)
    for run_id in runs:
        sn = sign_run(
            store,
            run_id,
            keypair=signer.keypair,
            signer=signer.identity,
            hub_id=signer.hub_id,
            steps=[s for s in steps if s.run == run_id],
        )
        out += _pair(f"{NOTES_DIR}/run-{run_id}", sn, f"#run-{run_id}", f"run {run_id}", who)
    return out, who


def _pair(stem: str, sn: Any, about: str, what: str, who: dict[str, Any]) -> list[NoteFile]:
    note = (json.dumps(sn.note, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return [
        NoteFile(
            f"{stem}.json",
            note,
            {
                "about": {"@id": about},
                "author": {"@id": who["@id"]},
                "encodingFormat": "application/json",
                "name": f"Signed IsccNote of {what}",
                "description": f"ISCC-SIG v1.0 (Ed25519) by {sn.note['signature']['pubkey']}; "
                f"time claimed by the signer: {sn.note['timestamp']}",
            },
        ),
        NoteFile(
            f"{stem}.lineage.json",
            sn.lineage,
            {
                "about": {"@id": about},
                "encodingFormat": "application/json",
                "name": f"Lineage document of {what} (its BLAKE3 is the note's metahash)",
            },
        ),
    ]


# -- verification ---------------------------------------------------------------------------


def _instance_prefix(iscc: str) -> str | None:
    """The first 64 bits of BLAKE3 (hex) an ISCC-SUM carries in its Instance-Code."""
    from iscc_lineage.codes.ids import instance_prefix

    try:
        return instance_prefix(iscc)
    except ValueError:
        return None


def _declared(ent: dict[str, Any], graph: dict[str, Any]) -> tuple[str | None, str | None]:
    """What the crate says an entity's content is: (full datahash, 64-bit BLAKE3 prefix)."""
    from iscc_lineage.export.crate.verify import _declared_datahash

    full = _declared_datahash(ent, graph)
    iscc = ent.get("iscc")
    return full, _instance_prefix(iscc) if isinstance(iscc, str) else None


def _lineage_in_crate(doc: dict[str, Any], graph: dict[str, Any]) -> str | None:
    """Why the signed lineage does not match the crate's actions, or None."""

    def ids(value: Any) -> list[str]:
        items = value if isinstance(value, list) else [value] if value else []
        return [str(i["@id"]) for i in items if isinstance(i, dict) and "@id" in i]

    def matches(datahash: str, eid: str) -> bool:
        ent = graph.get(eid)
        if not isinstance(ent, dict):
            return False
        full, prefix = _declared(ent, graph)
        if full is not None:
            return full == datahash
        return prefix is not None and datahash[4:20] == prefix

    for s in doc.get("steps", []):
        act = graph.get(f"#job-{s['id']}")
        if not isinstance(act, dict):
            return f"signed step {s['id']} ({s['name']}) is not in the crate"
        for role, key in (("used", "object"), ("generated", "result")):
            have = ids(act.get(key))
            for e in s.get(role, []):
                h = e.get("datahash")
                if h and not any(matches(h, i) for i in have):
                    return (
                        f"step {s['id']} ({s['name']}) in the crate does not "
                        f"{'use' if role == 'used' else 'generate'} {e['path']} as signed"
                    )
    return None


def verify_crate_notes(reader: CrateReader, graph: dict[str, Any]) -> list[Any]:
    """Check every note file of an opened crate (``reader``: its members, read inside the
    crate only; ``graph``: id -> entity). Empty when the crate carries no notes."""
    from iscc_lineage.codes import fingerprint_bytes
    from iscc_lineage.export.crate.reader import fingerprint_member, read_member
    from iscc_lineage.signing import require_crypto
    from iscc_lineage.signing.notes import NoteVerdict, verify_note
    from iscc_lineage.signing.service import NoteKind, NoteReport

    notes = sorted(
        eid
        for eid, ent in graph.items()
        if unquote(eid).startswith(f"{NOTES_DIR}/")
        and eid.endswith(".json")
        and not eid.endswith(".lineage.json")
        and isinstance(ent.get("about"), dict)
    )
    if not notes:
        return []
    require_crypto()
    out = []
    for eid in notes:
        rel = unquote(eid)
        about = str(graph[eid]["about"]["@id"])
        subject = about if not about.startswith("#run-") else f"run {about[5:]}"
        kind: NoteKind = "run" if about.startswith("#run-") else "content"
        doc: dict[str, Any] = {}
        try:
            note = json.loads(read_member(reader, rel).decode("utf-8"))
            lineage_rel = rel.removesuffix(".json") + ".lineage.json"
            lineage = read_member(reader, lineage_rel)
            doc = json.loads(lineage)
        except (OSError, ValueError, RecursionError) as exc:
            v = NoteVerdict(
                False, f"{rel}: cannot read the note or its lineage ({exc})", None, None, None, None
            )
            out.append(NoteReport(kind, subject, v, {}))
            continue
        iscc = datahash = None
        if kind == "content":
            try:
                fp = fingerprint_member(reader, unquote(about).rstrip("/"))
                iscc, datahash = fp.iscc, fp.datahash
            except FingerprintError as exc:
                v = NoteVerdict(
                    False, f"cannot read the signed file ({exc})", None, None, None, None
                )
                out.append(NoteReport(kind, subject, v, doc.get("signer", {})))
                continue
        else:
            fp = fingerprint_bytes(lineage)
            iscc, datahash = fp.iscc, fp.datahash
        v = verify_note(note, iscc=iscc, datahash=datahash, lineage=lineage)
        if v.ok:
            why = None
            if doc.get("signer", {}).get("pubkey") != v.pubkey:
                why = "the lineage document names another signer than the note"
            elif kind == "content" and doc.get("subject", {}).get("datahash") != datahash:
                why = "the lineage document is about other content"
            else:
                why = _lineage_in_crate(doc, graph)
            if why is not None:
                v = NoteVerdict(
                    False, why, v.pubkey, v.timestamp, v.iscc, v.datahash, content_ok=True
                )
        out.append(NoteReport(kind, subject, v, doc.get("signer", {})))
    return out


def verify_crate_signed(
    crate: Path, *, local_root: Path | None = None
) -> tuple[list[Any], list[Any]]:
    """The file checks of ``verify --crate`` and the notes' checks, reading the crate once
    (and only inside it: see :mod:`iscc_lineage.export.crate.reader`)."""
    from iscc_lineage.export.crate.reader import open_crate
    from iscc_lineage.export.crate.verify import check_opened

    with open_crate(Path(crate)) as reader:
        checks, graph = check_opened(Path(crate), reader, local_root)
        return checks, verify_crate_notes(reader, graph)
