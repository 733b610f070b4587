"""The crate's ``@graph`` as plain dicts: data entities with their ISCC, the workflow, its
tools, steps and parameters, and the root dataset. Actions are built in ``crate_actions``.

Plain dicts rather than ro-crate-py entities: 10^5 files build in seconds (notes/rocrate.md §6).
Every ``@id`` derives from store ids and paths, so the same store gives the same graph.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from iscc_lineage.export.crate.gather import Layout
from iscc_lineage.export.crate.place import Entry
from iscc_lineage.export.crate.terms import (
    BIOSCHEMAS_PARAMETER,
    BIOSCHEMAS_WORKFLOW,
    DATAHASH_IRI,
    ISCC_IRI,
    PROFILES,
    media_type,
    pronom_iri,
    ref,
    refs,
    slug,
)
from iscc_lineage.export.select import Selection
from iscc_lineage.locations import is_url
from iscc_lineage.model import Run, Step

__all__ = [
    "Meta",
    "Shared",
    "Workflow",
    "file_entities",
    "person",
    "root_entities",
    "workflow_entities",
]

_ORCID = re.compile(r"(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])")
_ROR = re.compile(r"https://ror\.org/0[a-z0-9]{6}\d{2}")


@dataclass(frozen=True, slots=True)
class Meta:
    """What the user says about the crate (root dataset properties)."""

    name: str | None = None
    description: str | None = None
    license: str | None = None
    authors: tuple[str, ...] = ()
    publisher: str | None = None
    affiliation: str | None = None  #: of every author


@dataclass(slots=True, eq=False)  # identity: runs share one Workflow object
class Workflow:
    """A workflow entity of the crate and the prospective parts built for it."""

    entry: Entry
    language: str  #: "snakemake" or "shell" (a description generated from the record)
    name: str
    version: str
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)  #: process -> tool
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  #: process -> HowToStep
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  #: id -> FormalParameter
    permalink: str | None = None  #: the Snakefile on the web at the run's commit

    @property
    def id(self) -> str:
        return self.entry.id

    def tool_id(self, process: str) -> str:
        """A rule's id: a permalink fragment when the Snakefile has one (an absolute URI, as
        Process Run Crate 0.5 recommends), else a fragment of the file in the crate."""
        kind = "rule" if self.language == "snakemake" else "tool"
        return f"{self.permalink or self.id}#{kind}-{slug(process)}"


@dataclass(slots=True)
class Shared:
    """Entities many files point to, each emitted once after the files: the ISCC
    ``PropertyValue`` per content (copies share it) and the PRONOM ``WebSite`` per format."""

    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    formats: dict[str, dict[str, Any]] = field(default_factory=dict)

    def entities(self) -> Iterator[dict[str, Any]]:
        yield from (self.values[k] for k in sorted(self.values))
        yield from (self.formats[k] for k in sorted(self.formats))


def file_entities(
    entries: Iterable[Entry], based_on: dict[str, list[str]], shared: Shared
) -> Iterator[dict[str, Any]]:
    """A ``File`` / ``Dataset`` per entry, in the given order; generated one at a time so
    that 10^5 files never sit in memory as dicts."""
    values, formats = shared.values, shared.formats
    for e in entries:
        ent: dict[str, Any] = {
            "@id": e.id,
            "@type": "Dataset" if e.is_tree else "File",
            "name": e.rel.rpartition("/")[2] or e.rel,
        }
        if e.content is not None:
            c = e.content
            ent["contentSize"] = str(c.size)
            ent["iscc"] = c.iscc
            ids = [
                _value(
                    values,
                    f"#iscc-{c.iscc.removeprefix('ISCC:')}",
                    ISCC_IRI,
                    c.iscc,
                    "ISCC-SUM (ISO 24138:2024)" + (", tree code" if e.is_tree else ""),
                )
            ]
            if e.is_tree:  # the tree code covers bytes, the manifest digest names and bytes
                ids.append(
                    _value(
                        values,
                        f"#datahash-{c.datahash}",
                        DATAHASH_IRI,
                        c.datahash,
                        "manifest digest (BLAKE3 multihash)",
                    )
                )
            ent["identifier"] = refs(ids)
        fmt = media_type(e.rel) if not e.is_tree else None
        if fmt is not None:
            mime, puid = fmt
            if puid is None:
                ent["encodingFormat"] = mime
            else:
                site = pronom_iri(puid)
                if site not in formats:
                    formats[site] = {"@id": site, "@type": "WebSite", "name": f"PRONOM {puid}"}
                ent["encodingFormat"] = [mime, {"@id": site}]
        if e.sha256:
            ent["sha256"] = e.sha256
        if e.mode != "payload" and not is_url(e.location):
            ent["alternateName"] = e.location
        if e.why:
            ent["description"] = e.why
        if e.id in based_on:
            ent["isBasedOn"] = refs(based_on[e.id])
        yield ent


def _value(values: dict[str, dict[str, Any]], pid: str, prop: str, value: str, name: str) -> str:
    if pid not in values:
        values[pid] = {
            "@id": pid,
            "@type": "PropertyValue",
            "name": name,
            "propertyID": prop,
            "value": value,
        }
    return pid


def workflow_entities(wf: Workflow, steps: list[Step], lay: Layout) -> dict[str, Any]:
    """Fill ``wf`` with a tool and a ``HowToStep`` per process (in first-run order) and the
    ``FormalParameter`` per named parameter; return the workflow entity's own properties."""
    for s in steps:
        proc = s.process or s.name
        tid = wf.tool_id(proc)
        tool = wf.tools.get(proc)
        if tool is None:
            kind = s.info.get("kind")
            tool = wf.tools[proc] = {
                "@id": tid,
                "@type": "SoftwareApplication",
                "name": proc,
                "description": f"{'rule' if wf.language == 'snakemake' else 'step'} {proc}"
                + (f" ({kind})" if kind else ""),
                "url": wf.permalink or ref(wf.id),
                "version": wf.version,
            }
            wf.steps[proc] = {
                "@id": tid.replace("#rule-", "#step-").replace("#tool-", "#step-"),
                "@type": "HowToStep",
                "name": proc,
                "position": str(len(wf.steps)),
                "workExample": ref(tid),
            }
        script, env = lay.script.get(s.id), lay.env.get(s.id)
        if script is not None and script.id:  # placed (an entry never found has no id)
            append_ref(tool, "mainEntity", script.resolved().id)
        if env is not None and env.id:
            append_ref(tool, "softwareRequirements", env.resolved().id)
        for c in lay.code_files.get(s.id, ()):
            if c.id and (script is None or c.resolved().id != script.resolved().id):
                append_ref(tool, "hasPart", c.resolved().id)
        for key, value in sorted(s.params.items()):
            pid = f"{tid}-param-{slug(key)}"
            if pid not in wf.params:
                wf.params[pid] = {
                    "@id": pid,
                    "@type": "FormalParameter",
                    "name": key,
                    "additionalType": _param_type(value),
                    "conformsTo": ref(BIOSCHEMAS_PARAMETER),
                }
                append_ref(tool, "input", pid)
    props = {"url": wf.permalink} if wf.permalink else {}
    return {
        **props,
        "@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow", "HowTo"],
        "name": wf.name,
        "conformsTo": ref(BIOSCHEMAS_WORKFLOW),
        "version": wf.version,
        # only tools: every part must be some action's instrument (ProvRC 0.5 1.1, 3.2)
        "hasPart": refs([t["@id"] for t in wf.tools.values()]),
        "step": refs([h["@id"] for h in wf.steps.values()]),
    }


def append_ref(ent: dict[str, Any], key: str, value_id: str) -> None:
    """Add a reference to ``ent[key]`` once (a list when there is more than one)."""
    have = ent.get(key)
    ids = [] if have is None else [h["@id"] for h in (have if isinstance(have, list) else [have])]
    if value_id not in ids:
        ent[key] = refs([*ids, value_id])


def _param_type(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    return "Text"


def param_value(value: Any) -> Any:
    """A parameter value as JSON-LD: scalars as they are, anything else as its JSON text."""
    if isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def person(text: str) -> dict[str, Any]:
    """A ``Person`` from ``--author``: an ORCID (id), a name, or ``Name <ORCID>``."""
    m = _ORCID.search(text)
    if m is None:
        return {"@id": f"#person-{slug(text)}", "@type": "Person", "name": text.strip()}
    name = (text[: m.start()] + text[m.end() :]).strip(" ,;<>()[]") or m.group(1)
    return {"@id": f"https://orcid.org/{m.group(1)}", "@type": "Person", "name": name}


def organization(text: str) -> dict[str, Any]:
    """An ``Organization`` from ``--publisher``: a ROR id (``https://ror.org/…``) or a name."""
    m = _ROR.search(text)
    if m is None:
        return {"@id": f"#organization-{slug(text)}", "@type": "Organization", "name": text.strip()}
    name = (text[: m.start()] + text[m.end() :]).strip(" ,;<>()[]") or m.group(0)
    return {"@id": m.group(0), "@type": "Organization", "name": name, "url": m.group(0)}


def license_entity(text: str | None) -> dict[str, Any]:
    """A license: a URL, an SPDX id (``CC-BY-4.0``), or a placeholder saying none was given."""
    if not text:
        return {
            "@id": "#license-not-given",
            "@type": "CreativeWork",
            "name": "License not specified",
            "description": "The exporter was given no license (--license); ask the "
            "authors before reusing this crate.",
        }
    if is_url(text):
        return {"@id": text, "@type": "CreativeWork", "name": text}
    return {"@id": f"https://spdx.org/licenses/{text}", "@type": "CreativeWork", "name": text}


def root_entities(
    meta: Meta,
    sel: Selection,
    main: Workflow,
    *,
    date: str,
    has_part: list[str],
    mentions: list[str],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The root dataset's properties and its contextual entities (profiles, people, license)."""
    people = [person(a) for a in meta.authors]
    lic = license_entity(meta.license)
    context = [
        {"@id": iri, "@type": "CreativeWork", "name": name, "version": version}
        for iri, name, version in PROFILES
    ]
    context += [lic, *people]
    orgs = [organization(o) for o in (meta.affiliation, meta.publisher) if o]
    context += list({o["@id"]: o for o in orgs}.values())
    if meta.affiliation:
        for p in people:
            p["affiliation"] = ref(orgs[0]["@id"])
    root: dict[str, Any] = {
        "name": meta.name or _default_name(sel, main),
        "description": meta.description or _default_description(sel, main),
        "license": ref(lic["@id"]),
        "datePublished": date,
        "conformsTo": refs([iri for iri, _, _ in PROFILES]),
        "hasPart": refs(has_part),
        "mainEntity": ref(main.id),
        "mentions": refs(mentions),
    }
    if people:
        root["author"] = refs([p["@id"] for p in people])
    if meta.publisher:
        root["publisher"] = ref(orgs[-1]["@id"])
    return root, context


def _default_name(sel: Selection, main: Workflow) -> str:
    if sel.mode == "for":
        names = ", ".join(posixpath.basename(loc) for loc, _ in sel.targets)
        return f"Provenance of {names}"
    return f"Run {_short(sel.runs[-1])} of {main.name}"


def _default_description(sel: Selection, main: Workflow) -> str:
    runs = ", ".join(_short(r) for r in sel.runs)
    what = (
        f"the lineage of {len(sel.targets)} file(s), traced by content"
        if sel.mode == "for"
        else f"{len(sel.steps)} recorded step(s)"
    )
    return (
        f"Workflow Run RO-Crate (Provenance Run Crate 0.5) of {main.name}: {what} from "
        f"run(s) {runs}. Every file carries its ISCC-SUM (ISO 24138); files not in the "
        "payload are described by reference. Exported by iscc-lineage."
    )


def _short(run: Run) -> str:
    return run.id[:8]
