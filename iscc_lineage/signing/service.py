"""Sign contents and runs of a store, and check the notes a store keeps.

A content's note refers to the lineage ``trace`` finds for it; a run's note is a note *of* the
run's lineage document (its ISCC-SUM and datahash), whose ``chain`` names the store's chain
head at signing: that is the signed head a reviewer can hold the lab's store to.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from iscc_lineage.codes import fingerprint_bytes, fingerprint_path
from iscc_lineage.errors import FingerprintError, SigningError
from iscc_lineage.model import Step
from iscc_lineage.signing.keys import Identity
from iscc_lineage.signing.notes import (
    NoteVerdict,
    canonical,
    lineage_document,
    make_note,
    verify_note,
)

__all__ = [
    "NoteReport",
    "SignedNote",
    "StoredNote",
    "check_lineage",
    "check_store_notes",
    "content_lineage",
    "run_lineage",
    "sign_content",
    "sign_run",
    "step_entries",
]

NoteKind = Literal["content", "run"]


@dataclass(frozen=True, slots=True)
class StoredNote:
    """A note as the store keeps it, with the lineage document it refers to."""

    kind: NoteKind
    subject: str  #: the content's datahash, or the run id
    note: dict[str, Any]
    lineage: bytes  #: canonical bytes; BLAKE3 of them is the note's metahash
    iscc_id: str | None = None  #: a locally minted ISCC-ID v1 (never registered with a hub)

    @property
    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.lineage)
        return doc


SignedNote = StoredNote


class NoteStore(Protocol):
    """The store methods signing needs (implemented by the SQLite store)."""

    def record_hashes(self, kind: str, uids: Sequence[str]) -> dict[str, str]: ...
    def chain_head(self) -> tuple[int, str] | None: ...
    def chain_hash_at(self, seq: int) -> str | None: ...
    def insert_note(self, note: StoredNote) -> None: ...
    def stored_notes(self) -> list[StoredNote]: ...
    def steps_of_run(self, run_id: str) -> list[Step]: ...


def step_entries(store: NoteStore, steps: Sequence[Step]) -> list[dict[str, Any]]:
    """Steps as the lineage document lists them, each with its record hash in the chain."""
    records = store.record_hashes("step", [s.id for s in steps])
    return [
        {
            "id": s.id,
            "run": s.run,
            "name": s.name,
            "record": records.get(s.id),
            "used": [{"path": e.path, "datahash": e.datahash} for e in s.inputs],
            "generated": [{"path": e.path, "datahash": e.datahash} for e in s.outputs],
        }
        for s in steps
    ]


def _chain(store: NoteStore) -> dict[str, Any] | None:
    head = store.chain_head()
    return {"seq": head[0], "head": head[1]} if head else None


def content_lineage(
    store: NoteStore,
    steps: Sequence[Step],
    *,
    datahash: str,
    iscc: str,
    path: str,
    signer: Identity,
) -> bytes:
    """The canonical lineage document of a content (``steps``: what trace found)."""
    runs = sorted({s.run for s in steps})
    doc = lineage_document(
        {"datahash": datahash, "iscc": iscc, "path": path},
        step_entries(store, steps),
        store.record_hashes("run", runs),
        signer,
        _chain(store),
    )
    return canonical(doc)


def run_lineage(
    store: NoteStore, run_id: str, signer: Identity, steps: Sequence[Step] | None = None
) -> bytes:
    """The canonical lineage document of a run: all its steps, or those ``steps`` (what a
    crate exported with ``--for`` holds)."""
    if steps is None:
        steps = store.steps_of_run(run_id)
    doc = lineage_document(
        {"run": run_id},
        step_entries(store, steps),
        store.record_hashes("run", [run_id]),
        signer,
        _chain(store),
    )
    return canonical(doc)


MintId = Callable[[dict[str, Any]], str | None]


def sign_content(
    store: NoteStore,
    steps: Sequence[Step],
    *,
    path: Path,
    keypair: Any,
    signer: Identity,
    hub_id: int = 0,
    units: Sequence[str] = (),
    mint: MintId | None = None,
) -> StoredNote:
    """Fingerprint ``path`` now, sign a note of it referring to ``steps``, keep it in the store.

    :raises FingerprintError: ``path`` cannot be read.
    """
    fp = fingerprint_path(path)
    lineage = content_lineage(
        store, steps, datahash=fp.datahash, iscc=fp.iscc, path=path.as_posix(), signer=signer
    )
    note = make_note(
        iscc=fp.iscc,
        datahash=fp.datahash,
        lineage=lineage,
        keypair=keypair,
        units=units,
        hub_id=hub_id,
    )
    stored = StoredNote("content", fp.datahash, note, lineage, mint(note) if mint else None)
    store.insert_note(stored)
    return stored


def sign_run(
    store: NoteStore,
    run_id: str,
    *,
    keypair: Any,
    signer: Identity,
    hub_id: int = 0,
    steps: Sequence[Step] | None = None,
) -> StoredNote:
    """Sign the run's lineage document (the note is of the document; it names the chain head).
    ``steps``: only these of the run's steps (default: all)."""
    lineage = run_lineage(store, run_id, signer, steps)
    fp = fingerprint_bytes(lineage)
    note = make_note(
        iscc=fp.iscc, datahash=fp.datahash, lineage=lineage, keypair=keypair, hub_id=hub_id
    )
    stored = StoredNote("run", run_id, note, lineage)
    store.insert_note(stored)
    return stored


@dataclass(frozen=True, slots=True)
class NoteReport:
    """One note's verdict, with who signed what, for people and ``--json``."""

    kind: NoteKind
    subject: str  #: a path (content) or a run id
    verdict: NoteVerdict
    signer: dict[str, Any]
    iscc_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.verdict.ok

    def line(self) -> str:
        """``path: signed by z6Mk… (ORCID …) on …, content matches, lineage matches``."""
        if not self.ok:
            return f"{self.subject}: {self.verdict.reason}"
        who = str(self.verdict.pubkey)
        extra = [
            x
            for x in (
                self.signer.get("name"),
                f"ORCID {self.signer['orcid']}" if self.signer.get("orcid") else None,
            )
            if x
        ]
        if extra:
            who += f" ({', '.join(extra)})"
        return (
            f"{self.subject}: signed by {who} on {self.verdict.timestamp}, "
            "content matches, lineage matches"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "ok": self.ok,
            "line": self.line(),
            "signer": self.signer,
            "iscc_id": self.iscc_id,
            "iscc_id_scope": "local" if self.iscc_id else None,
            **self.verdict.to_dict(),
        }


def check_lineage(
    doc: dict[str, Any],
    *,
    steps: dict[str, str | None],
    runs: dict[str, str | None],
    chain_at: Callable[[int], str | None] | None,
    pubkey: str,
) -> str | None:
    """Why a signed lineage document no longer matches the records, or None.

    ``steps``/``runs``: id -> the record hash now (None: gone); ``chain_at``: the chain hash at a
    sequence number (None: the store keeps no chain to compare).
    """
    if doc.get("signer", {}).get("pubkey") != pubkey:
        return "the lineage document names another signer than the note"
    for s in doc.get("steps", []):
        now = steps.get(s["id"])
        if now is None:
            return f"step {s['id']} ({s['name']}) of the signed lineage is gone"
        if s.get("record") is not None and now != s["record"]:
            return f"step {s['id']} ({s['name']}) was changed after signing"
    for r in doc.get("runs", []):
        now = runs.get(r["id"])
        if now is None:
            return f"run {r['id']} of the signed lineage is gone"
    chain = doc.get("chain")
    if chain_at is not None and chain:
        at = chain_at(int(chain["seq"]))
        if at != chain["head"]:
            return f"the store's chain entry #{chain['seq']} is not the head signed"
    return None


def check_store_notes(store: NoteStore, *, paths: Sequence[str] | None = None) -> list[NoteReport]:
    """Check every note the store keeps (or those of contents signed at ``paths``) offline:
    signature, the file's bytes now, and the lineage against the store's records now."""
    out: list[NoteReport] = []
    for sn in store.stored_notes():
        doc = sn.document
        subject = doc.get("subject", {})
        where = str(subject.get("path") or f"run {subject.get('run', sn.subject)}")
        if paths is not None and where not in paths:
            continue
        iscc = datahash = None
        if sn.kind == "content":
            try:
                fp = fingerprint_path(Path(where))
                iscc, datahash = fp.iscc, fp.datahash
            except FingerprintError as exc:
                v = NoteVerdict(
                    False,
                    f"cannot check the signed content ({exc})",
                    sn.note.get("signature", {}).get("pubkey"),
                    sn.note.get("timestamp"),
                    sn.note.get("iscc_code"),
                    sn.note.get("datahash"),
                )
                out.append(NoteReport(sn.kind, where, v, doc.get("signer", {}), sn.iscc_id))
                continue
        else:
            fp = fingerprint_bytes(sn.lineage)
            iscc, datahash = fp.iscc, fp.datahash
        v = verify_note(sn.note, iscc=iscc, datahash=datahash, lineage=sn.lineage)
        if v.ok:
            step_ids = [s["id"] for s in doc.get("steps", [])]
            run_ids = [r["id"] for r in doc.get("runs", [])]
            steps_now = store.record_hashes("step", step_ids)
            runs_now = store.record_hashes("run", run_ids)
            why = check_lineage(
                doc,
                steps=dict(steps_now),
                runs=dict(runs_now),
                chain_at=store.chain_hash_at,
                pubkey=str(v.pubkey),
            )
            if why is not None:
                v = NoteVerdict(
                    False, why, v.pubkey, v.timestamp, v.iscc, v.datahash, content_ok=True
                )
        out.append(NoteReport(sn.kind, where, v, doc.get("signer", {}), sn.iscc_id))
    if not out:
        raise SigningError("no signed notes in the store (run `iscc-lineage sign FIGURE`)")
    return out
