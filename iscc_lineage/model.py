"""Value objects shared by every layer: fingerprints, contents, runs, steps, lineages.

Frozen dataclasses only; no I/O and no imports beyond the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Artifact",
    "Content",
    "Edge",
    "Fingerprint",
    "Image",
    "Lineage",
    "Member",
    "Run",
    "Step",
]

Kind = Literal["file", "tree"]
Role = Literal["used", "generated"]


@dataclass(frozen=True, slots=True)
class Member:
    """One file inside a directory fingerprint (or a symlink, which has no content)."""

    path: str  #: POSIX path relative to the directory, NFC-normalised
    datahash: str | None  #: None for a symlink that is recorded but not followed
    size: int
    link: str | None = None  #: the link target text when the entry is a symlink


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The ISCC-SUM of a file or directory plus the values identity is decided on.

    ``datahash`` (a BLAKE3 multihash, ``1e20…``) is the identity of the content. For a
    directory it is the digest of the manifest of (path, datahash, size) of its members, so
    renaming or moving a chunk changes it; ``iscc`` is then the tree code over all bytes in
    TREEWALK order (compatible with ``iscc-sum --tree --narrow``).
    """

    iscc: str  #: narrow ISCC-SUM, ``ISCC:KUA…`` (ISO 24138:2024)
    datahash: str  #: identity: ``1e20`` + 64 hex digits
    size: int  #: bytes (for a directory: the sum over members)
    data_code: str  #: 256-bit Data-Code, ``ISCC:GAD…`` (similarity)
    instance_code: str  #: 256-bit Instance-Code, ``ISCC:IAD…``
    kind: Kind = "file"
    members: tuple[Member, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "iscc": self.iscc,
            "datahash": self.datahash,
            "size": self.size,
            "data_code": self.data_code,
            "instance_code": self.instance_code,
            "kind": self.kind,
        }
        if self.kind == "tree":
            out["members"] = [
                {"path": m.path, "datahash": m.datahash, "size": m.size, "link": m.link}
                for m in self.members
            ]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fingerprint:
        members = tuple(
            Member(m["path"], m.get("datahash"), int(m["size"]), m.get("link"))
            for m in d.get("members") or ()
        )
        return cls(
            iscc=d["iscc"],
            datahash=d["datahash"],
            size=int(d["size"]),
            data_code=d["data_code"],
            instance_code=d["instance_code"],
            kind=d.get("kind", "file"),
            members=members,
        )


@dataclass(frozen=True, slots=True)
class Artifact:
    """A location seen by a step: a path and, when it could be taken, its fingerprint.

    ``note`` says why there is no fingerprint (``pipe``, ``not fingerprinted: …``, ``missing``).
    """

    path: str
    fingerprint: Fingerprint | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Content:
    """A distinct content in the store (one row per datahash), with every path it was seen at."""

    id: int
    iscc: str
    datahash: str
    size: int
    data_code: str
    instance_code: str
    kind: Kind = "file"
    paths: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "iscc": self.iscc,
            "datahash": self.datahash,
            "size": self.size,
            "data_code": self.data_code,
            "instance_code": self.instance_code,
            "kind": self.kind,
            "paths": list(self.paths),
        }


@dataclass(frozen=True, slots=True)
class Run:
    """One execution of a workflow (or a session of manual ``record`` steps)."""

    id: str
    workflow: str | None
    workdir: str
    started: str
    ended: str | None
    status: str
    host: str | None = None
    user: str | None = None
    command: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    steps: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "workflow": self.workflow,
            "workdir": self.workdir,
            "started": self.started,
            "ended": self.ended,
            "status": self.status,
            "host": self.host,
            "user": self.user,
            "command": self.command,
            "info": self.info,
            "steps": self.steps,
        }


@dataclass(frozen=True, slots=True)
class Edge:
    """A step used or generated a content (or a content-less location) at a path."""

    step: str
    role: Role
    path: str
    datahash: str | None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One recorded process execution: a Snakemake job, a ``record`` command, a manual step."""

    id: str
    run: str
    name: str
    process: str | None = None
    command: str | None = None
    code: str | None = None  #: path of the script / notebook / wrapper, if any
    code_datahash: str | None = None  #: its content fingerprint
    params: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    started: str | None = None
    ended: str | None = None
    exit_status: int | None = None
    status: str = "finished"
    info: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[Edge, ...] = ()
    outputs: tuple[Edge, ...] = ()
    #: what a failed step wrote before it failed: recorded, walked by trace, never a result
    partial: tuple[Edge, ...] = ()
    #: code the step ran, by content: its script, shell-called scripts and macros, imported
    #: workflow modules, the Snakefile of a ``run:`` block (``note`` = ``code: <role>``)
    code_files: tuple[Edge, ...] = ()

    @property
    def label(self) -> str:
        """The step as people name it: the rule and its wildcards (``segment sample=s01``)."""
        wildcards = self.info.get("wildcards") if isinstance(self.info, dict) else None
        if isinstance(wildcards, dict) and wildcards:
            return self.name + " " + " ".join(f"{k}={v}" for k, v in wildcards.items())
        return self.name

    @property
    def made(self) -> tuple[Edge, ...]:
        """Everything the step wrote: its outputs and, if it failed, its partial outputs."""
        return self.outputs + self.partial

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run": self.run,
            "name": self.name,
            "process": self.process,
            "command": self.command,
            "code": self.code,
            "code_datahash": self.code_datahash,
            "params": self.params,
            "environment": self.environment,
            "started": self.started,
            "ended": self.ended,
            "exit_status": self.exit_status,
            "status": self.status,
            "info": self.info,
            "inputs": [_edge_dict(e) for e in self.inputs],
            "outputs": [_edge_dict(e) for e in self.outputs],
            "partial": [_edge_dict(e) for e in self.partial],
            "code_files": [_edge_dict(e) for e in self.code_files],
        }


def _edge_dict(e: Edge) -> dict[str, Any]:
    return {"path": e.path, "datahash": e.datahash, "note": e.note}


@dataclass(frozen=True, slots=True)
class Image:
    """One image (a scene / series: the pixels, whatever the container) held by several
    contents of a lineage: its representations (BioImage Archive: Image vs
    ImageRepresentation). Only a non-uniform image is one; equal ``pixel_id`` is the identity.
    """

    pixel_id: str  #: ``<pixel datahash>/<dtype>/<Y>x<X>`` (see ``codes.pixel.ImageCode``)
    iscc: str  #: narrow ISCC-SUM of the canonical pixel stream, ``ISCC:KUA…``
    wide: str  #: WIDE ISCC-SUM (as iscc-bio and omero-iscc emit it)
    name: str | None  #: the scene / series name in the first representation, if any
    #: datahashes of the contents holding it, in recording order (the first recorded first)
    representations: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "pixel_id": self.pixel_id,
            "iscc": self.iscc,
            "wide": self.wide,
            "name": self.name,
            "representations": list(self.representations),
        }


@dataclass(frozen=True, slots=True)
class Lineage:
    """A connected piece of the graph around a target content, as returned by trace / impact.

    ``steps`` are ordered from the target outwards (nearest first); ``contents`` holds every
    content any of them touched, keyed by datahash; ``ends`` are the sources (trace: contents
    no recorded step generated) or sinks (impact: contents no recorded step used).
    """

    direction: Literal["trace", "impact"]
    target: Content
    steps: tuple[Step, ...]
    contents: dict[str, Content]
    ends: tuple[Content, ...]
    #: member file datahash -> datahash of the directory content holding it (both in the
    #: lineage): a step that generated the directory generated the file.
    containers: dict[str, str] = field(default_factory=dict)
    #: id of a step -> ids of the steps that repeated it exactly (deterministic re-runs),
    #: folded into it so that the lineage shows each recipe once
    repeats: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: content datahash -> the other contents holding the same image (equal pixel codes: a
    #: CZI and its OME-TIFF and OME-Zarr copies), for the contents of the lineage
    twins: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: node key (``image:<pixel_id>``) -> an image two or more contents of the lineage hold;
    #: every content of ``twins`` is a representation of one of them
    images: dict[str, Image] = field(default_factory=dict)
