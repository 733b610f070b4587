"""Export lineage as a Workflow Run RO-Crate (Provenance Run Crate 0.5 on RO-Crate 1.1).

The only module that imports rocrate (ro-crate-py, pinned to ``version="1.1"``): it supplies
the JSON-LD context, the metadata descriptor, the root dataset and the main workflow with its
``ComputerLanguage``. The bulk (files, codes, actions) is built as plain dicts in the
``crate_*`` modules and streamed to JSON (ro-crate-py entities cost ~9 s and 590 MB at 10^5
files), and payload files are copied (:mod:`~iscc_lineage.export.crate.payload`),
fingerprinted and SHA-256-summed in the same read (ro-crate-py copies without checksums, and
its zip writer stamps the current time, which would make two exports of one store differ).
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iscc_lineage.codes import fingerprint_bytes
from iscc_lineage.codes.treestate import gc_paused
from iscc_lineage.export.crate.document import METADATA, Document, write_document
from iscc_lineage.export.crate.engines import is_snakemake, snakefile_dir
from iscc_lineage.export.crate.entities import Meta, Workflow, person
from iscc_lineage.export.crate.gather import Layout, gather, recorded_steps
from iscc_lineage.export.crate.git import permalink
from iscc_lineage.export.crate.images import image_entities
from iscc_lineage.export.crate.payload import generated, reference_sha256, ship
from iscc_lineage.export.crate.place import Entry, Policy, content_of, place
from iscc_lineage.export.crate.privacy import Redactor
from iscc_lineage.export.crate.readme import readme
from iscc_lineage.export.crate.sink import Sink, check_out, open_sink
from iscc_lineage.export.crate.terms import ISCC_IRI, WORKFLOW_RUN_CONTEXT, iso_ms
from iscc_lineage.export.select import Resolver, Selection, select
from iscc_lineage.model import Fingerprint, Run
from iscc_lineage.store import Store

if TYPE_CHECKING:
    from iscc_lineage.export.crate.signed import CrateSigner

__all__ = ["CRATE_VERSION", "CrateSummary", "Meta", "Policy", "export_crate"]

log = logging.getLogger(__name__)

CRATE_VERSION = "1.1"  #: the only RO-Crate version roc-validator 0.13 checks with WRROC 0.5
SHELL = "https://www.gnu.org/software/bash/"


@dataclass(frozen=True, slots=True)
class CrateSummary:
    """What an export wrote: counts, sizes and the decisions worth a second look."""

    out: str
    zip: bool
    runs: list[str]
    steps: int
    main_entity: str
    payload: list[str] = field(default_factory=list)  #: entity ids shipped
    referenced: list[str] = field(default_factory=list)  #: entity ids described by reference
    payload_bytes: int = 0
    entities: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": self.out,
            "zip": self.zip,
            "runs": self.runs,
            "steps": self.steps,
            "main_entity": self.main_entity,
            "entities": self.entities,
            "payload": self.payload,
            "referenced": self.referenced,
            "payload_bytes": self.payload_bytes,
        }


DEFAULT_POLICY = Policy()
NO_META = Meta()


def export_crate(
    store: Store,
    out: Path,
    *,
    runs: Sequence[str] = (),
    for_files: Sequence[Path] = (),
    policy: Policy = DEFAULT_POLICY,
    meta: Meta = NO_META,
    as_zip: bool = False,
    force: bool = False,
    signer: CrateSigner | None = None,
    similar: Resolver | None = None,
) -> CrateSummary:
    """Write the crate of some runs (default: the newest) or of some files' lineage to ``out``.

    Nothing is written outside ``out``; an existing ``out`` is replaced only with ``force``
    (and only when it is a crate, or a file for ``as_zip``).

    :raises NotFoundError: a run or a file's content is not in the store.
    :raises ExportError: ``out`` cannot be written, or a file changed while it was copied.
    """
    check_out(out, as_zip=as_zip, force=force)  # before anything is read or cached
    cache = _HeldCache(store)  # stat-cache entries are written only if the export succeeds
    with gc_paused():  # 10^6 small acyclic objects: collections cost a third at 10^5 files
        sel = select(store, runs=runs, for_files=for_files, similar=similar)
        lay = gather(sel)
        kept = place(lay.entries, policy, cache=cache)
        redact = _redactor(sel, policy)
        wfs = _workflows(sel, lay, kept, redact)
        date = max((iso_ms(r.ended or r.started) or "" for r in sel.runs), default="")
        with open_sink(out, as_zip=as_zip, force=force, date=date) as sink:
            for e in sorted((e for e in kept if e.mode == "payload"), key=lambda e: e.rel):
                ship(sink, e, policy)
            for e in kept:
                if e.mode != "payload":
                    reference_sha256(e, policy)
            main = wfs[sel.runs[-1].id]
            doc = Document(sel, lay, kept, wfs, meta, date, _skeleton(main, sel.runs[-1]))
            if signer is not None:
                _sign(store, sel, kept, doc, sink, policy, signer, meta)
            _add_images(store, doc, kept)
            text = redact.text(readme(doc.root, kept, doc.main))
            doc.add_file(
                generated(sink, "README.md", text.encode("utf-8"), policy),
                {"about": {"@id": "./"}, "encodingFormat": "text/markdown"},
            )
            if sel.matches:  # --similar: why each paper figure was linked to its lineage
                data = json.dumps(list(sel.matches), indent=1, sort_keys=True).encode()
                doc.add_file(
                    generated(sink, MATCHES, data, policy),
                    {
                        "about": {"@id": "./"},
                        "encodingFormat": "application/json",
                        "name": "How the exported figures were matched",
                        "description": "Files given with --for that are not recorded themselves "
                        "(a paper's figure) and the recorded content each shows, "
                        "with the evidence: keypoint inliers, scale, boxes, "
                        "registered residual and margin to the runner-up.",
                    },
                )
            with sink.open(METADATA) as f:
                entities = write_document(f, doc.context, (redact.value(e) for e in doc.entities()))
    cache.flush()
    payload = [e for e in doc.files if e.mode == "payload"]
    return CrateSummary(
        str(out),
        as_zip,
        [r.id for r in sel.runs],
        len(sel.steps),
        doc.main.id,
        sorted(e.id for e in payload),
        sorted(e.id for e in doc.files if e.mode != "payload"),
        sum(e.content.size for e in payload if e.content is not None),
        entities,
    )


def _sign(
    store: Store,
    sel: Selection,
    kept: list[Entry],
    doc: Document,
    sink: Sink,
    policy: Policy,
    signer: CrateSigner,
    meta: Meta,
) -> None:
    """Signed notes of the shipped outputs of the selected steps and of each run, as
    ``notes/*.json`` payload files (:mod:`iscc_lineage.export.crate.signed`)."""
    from iscc_lineage.export.crate.signed import note_files

    made = {e.datahash for s in sel.steps for e in s.outputs if e.datahash}
    targets = [
        (e.id, e.rel, e.location)
        for e in sorted(kept, key=lambda e: e.rel)
        if e.mode == "payload"
        and e.generated is None
        and e.content is not None
        and e.content.datahash in made
    ]
    files, who = note_files(store, sel.steps, [r.id for r in sel.runs], targets, signer)
    for nf in files:
        doc.add_file(generated(sink, nf.rel, nf.data, policy), nf.props)
    if who["@id"] not in {person(a)["@id"] for a in meta.authors}:
        doc.extra.append(who)


def _add_images(store: Store, doc: Document, kept: list[Entry]) -> None:
    """The images of the bioimage files (pixel codes, acquisition metadata), if recorded."""
    images = store.images(e.content.datahash for e in kept if e.content is not None)
    if not images:
        return
    patch, entities = image_entities(kept, images)
    for eid, props in patch.items():
        doc.patch.setdefault(eid, {}).update(props)
    doc.extra.extend(entities)


class _HeldCache:
    """The store's stat cache, its writes held back until the crate is complete."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.held: list[tuple[str, Fingerprint]] = []

    def cache_get(self, key: str) -> Fingerprint | None:
        return self.store.cache_get(key)

    def cache_put(self, entries: Sequence[tuple[str, Fingerprint]]) -> None:
        self.held.extend(entries)

    def flush(self) -> None:
        if self.held:
            self.store.cache_put(self.held)
            self.held.clear()


def _redactor(sel: Selection, policy: Policy) -> Redactor:
    """Local paths and user names of the selected runs, hidden unless ``--keep-paths``."""
    bases = [r.workdir for r in sel.runs] + [snakefile_dir(r) for r in sel.runs]
    return Redactor(bases, [r.user for r in sel.runs], keep=policy.keep_paths)


def _workflows(
    sel: Selection, lay: Layout, kept: list[Entry], redact: Redactor
) -> dict[str, Workflow]:
    """The workflow of every run: its Snakefile when shipped, else a generated description.

    Runs of one Snakefile share one :class:`Workflow` (one set of tools and steps).
    """
    out: dict[str, Workflow] = {}
    shared: dict[str, Workflow] = {}  # entry id -> workflow
    described: list[Run] = []
    for run in sel.runs:
        e = lay.workflow.get(run.id)
        if e is not None and e.mode == "payload" and e.content is not None:
            if e.id not in shared:
                link = permalink(run.info.get("git"), e.location) if not e.why else None
                shared[e.id] = Workflow(
                    e,
                    "snakemake",
                    _workflow_name(e.location),
                    _version(run, e.content.iscc),
                    permalink=link,
                )
            out[run.id] = shared[e.id]
        else:
            described.append(run)
    if described:
        data = redact.text(recorded_steps(sel, described).decode("utf-8")).encode("utf-8")
        gen = Entry(
            "workflow/recorded-steps.sh",
            "(generated)",
            None,
            code=True,
            generated=data,
            mode="payload",
            id="workflow/recorded-steps.sh",
        )
        gen.content = content_of(fingerprint_bytes(data))
        kept.append(gen)
        wf = Workflow(gen, "shell", "recorded steps", gen.content.iscc)
        for run in described:
            if is_snakemake(run):
                log.warning(
                    "run %s: Snakefile %s is not available; describing the run by its "
                    "recorded steps",
                    run.id[:8],
                    run.workflow,
                )
            out[run.id] = wf
    return out


def _workflow_name(location: str) -> str:
    parts = Path(location).parent.parts
    names = [p for p in parts if p not in ("workflow", "/")]
    return names[-1] if names else "workflow"


def _version(run: Run, iscc: str) -> str:
    """The git commit when the run knew it (``-dirty`` when edited), else the content ISCC."""
    git = run.info.get("git")
    if isinstance(git, dict) and isinstance(git.get("commit"), str):
        return str(git["commit"])[:12] + ("-dirty" if git.get("dirty") else "")
    return iscc


MATCHES = "figure-matches.json"


def _skeleton(main: Workflow, run: Run) -> tuple[Any, dict[str, dict[str, Any]]]:
    """Context, descriptor, root, main workflow and language, as ro-crate-py writes them."""
    from rocrate.model.computerlanguage import ComputerLanguage
    from rocrate.rocrate import ROCrate

    crate = ROCrate(version=CRATE_VERSION)
    crate.metadata.extra_contexts.append(WORKFLOW_RUN_CONTEXT)
    crate.metadata.extra_terms["iscc"] = ISCC_IRI
    lang: Any = "snakemake"
    if main.language != "snakemake":
        lang = crate.add(
            ComputerLanguage(
                crate,
                identifier=SHELL,
                properties={"name": "Bash", "url": {"@id": SHELL}, "alternateName": "bash"},
            )
        )
    version = run.info.get("snakemake_version") if main.language == "snakemake" else None
    crate.add_workflow(
        None,
        "workflow/placeholder",
        main=True,
        lang=lang,
        lang_version=str(version) if version else None,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = crate.metadata.generate()
    out: dict[str, dict[str, Any]] = {}
    for ent in doc["@graph"]:
        if ent["@id"] == "workflow/placeholder":
            ent["@id"] = main.id
        out[ent["@id"]] = ent
    out["./"].pop("datePublished", None)
    return doc["@context"], out
