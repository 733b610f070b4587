"""The crate's metadata document: its entities in document order, streamed to JSON.

Merges the ro-crate-py skeleton (context, descriptor, root, main workflow, language; built in
``crate``) with the plain-dict bulk, which is generated entity by entity while it is written,
so 10^5 files never sit in memory as dicts. Imports no rocrate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from iscc_lineage.export.crate.actions import actions, based_on
from iscc_lineage.export.crate.entities import (
    Meta,
    Shared,
    Workflow,
    append_ref,
    file_entities,
    person,
    root_entities,
)
from iscc_lineage.export.crate.entities import workflow_entities as workflow_parts
from iscc_lineage.export.crate.gather import Layout
from iscc_lineage.export.crate.place import Entry
from iscc_lineage.export.crate.software import software_entities
from iscc_lineage.export.crate.terms import METADATA, refs
from iscc_lineage.export.select import Selection

__all__ = ["METADATA", "Document", "write_document"]


class Document:
    """The crate's entities in document order, the bulk generated while it is written."""

    def __init__(
        self,
        sel: Selection,
        lay: Layout,
        kept: list[Entry],
        wfs: dict[str, Workflow],
        meta: Meta,
        date: str,
        skeleton: tuple[Any, dict[str, dict[str, Any]]],
    ) -> None:
        self.files = sorted(kept, key=lambda e: e.id)
        self.based_on = based_on(sel, lay)
        self.patch: dict[str, dict[str, Any]] = {}  #: id -> properties merged when emitted
        self.parts: list[dict[str, Any]] = []
        software, software_parts = software_entities(sel.runs, sel.steps)
        for wf in dict.fromkeys(wfs.values()):
            runs = {r for r, w in wfs.items() if w is wf}
            steps = [s for s in sel.steps if s.run in runs]
            self.patch[wf.id] = workflow_parts(wf, steps, lay)
            for s in steps:  # what ran, with versions (the env YAML is what was declared)
                tool = wf.tools.get(s.process or s.name)
                for sid in software.get(s.id, ()):
                    if tool is not None:
                        append_ref(tool, "softwareRequirements", sid)
            self.parts += [*wf.tools.values(), *wf.steps.values(), *wf.params.values()]
        self._software = software_parts
        agent = person(meta.authors[0])["@id"] if meta.authors else None
        self.actions, self.extra = actions(sel, lay, wfs, agent)
        have = {e["@id"] for e in self.extra}  # the engine's own entity (Snakemake on PyPI)
        self.parts += [e for e in self._software if e["@id"] not in have]
        self.main = wfs[sel.runs[-1].id]
        self.root, self.about = root_entities(
            meta,
            sel,
            self.main,
            date=date,
            has_part=[e.id for e in self.files],
            mentions=[a["@id"] for a in self.actions],
        )
        self.context, self.skeleton = skeleton  # context, descriptor, root, main workflow
        self.shared = Shared()

    def add_file(self, e: Entry, props: dict[str, Any]) -> None:
        """A file written after the plan (the README), with extra properties."""
        self.files.append(e)
        self.patch[e.id] = props
        self.root["hasPart"] = refs([e.id for e in self.files])

    def entities(self) -> Iterator[dict[str, Any]]:
        sk = dict(self.skeleton)
        descriptor, root = sk.pop(METADATA), sk.pop("./")
        _merge(root, self.root)
        yield descriptor
        yield root
        for ent in file_entities(self.files, self.based_on, self.shared):
            if ent["@id"] in self.patch:
                _merge(ent, self.patch[ent["@id"]])
            if ent["@id"] in sk:  # the main workflow: ro-crate-py's types and language
                _merge(sk[ent["@id"]], ent)
                ent = sk.pop(ent["@id"])
            yield ent
        yield from self.shared.entities()
        yield from self.parts
        yield from self.about
        yield from self.actions
        yield from self.extra
        yield from sk.values()  # the ComputerLanguage


def _merge(into: dict[str, Any], props: dict[str, Any]) -> None:
    for key, value in props.items():
        if key == "@type" and "@type" in into:
            have = into["@type"] if isinstance(into["@type"], list) else [into["@type"]]
            new = value if isinstance(value, list) else [value]
            into["@type"] = list(dict.fromkeys([*have, *new]))
        else:
            into[key] = value


#: One C-encoder call per entity (``indent=`` would fall back to pure Python, 4x slower at
#: 10^5 entities); the item separator puts each property and each list item on its own line,
#: so two exports diff line by line.
_ENTITY = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",\n      ", ": "))


def write_document(f: IO[bytes], context: Any, entities: Iterable[dict[str, Any]]) -> int:
    """Stream the metadata file, entity by entity; return how many were written."""
    f.write(
        b'{\n  "@context": '
        + json.dumps(context, indent=2).replace("\n", "\n  ").encode()
        + b',\n  "@graph": [\n    '
    )
    n = 0
    for ent in entities:
        f.write((b",\n    " if n else b"") + _ENTITY.encode(ent).encode("utf-8"))
        n += 1
    f.write(b"\n  ]\n}\n")
    return n
