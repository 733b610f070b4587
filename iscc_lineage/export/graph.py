"""A lineage as a networkx graph, and GraphML export. The only module that imports networkx.

Contents and steps are both nodes (a bipartite provenance graph, as PROV draws it): a content
node is keyed by its datahash, a step node by ``step:<id>``, a location without content (a pipe,
a temp file gone before hashing) by ``location:<run>:<path>``; ``used`` edges run content ->
step and ``generated`` edges step -> content, so edges point the way data flowed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import networkx as nx

from iscc_lineage.errors import ExportError
from iscc_lineage.model import Content, Edge, Lineage

__all__ = ["LOCATION_PREFIX", "STEP_PREFIX", "location_node", "step_node", "to_digraph",
           "write_graphml"]

STEP_PREFIX = "step:"  #: step node ids are ``step:<step id>``; content node ids are datahashes
LOCATION_PREFIX = "location:"  #: ``location:<run>:<path>``: a path without content, in one run


def step_node(step_id: str) -> str:
    """The node id of a step (content nodes are keyed by datahash)."""
    return STEP_PREFIX + step_id


def location_node(run: str, path: str) -> str:
    """The node id of a location without content; within a run the path names one file."""
    return f"{LOCATION_PREFIX}{run}:{path}"


def _content_attrs(c: Content) -> dict[str, Any]:
    return {"type": "content", "iscc": c.iscc, "paths": list(c.paths), "size": c.size,
            "kind": c.kind}


def to_digraph(lineage: Lineage) -> nx.DiGraph[str]:
    """The lineage as a directed graph of contents and steps.

    Content nodes carry ``iscc``, ``paths`` (list), ``size`` and ``kind``; step nodes carry
    ``name``, ``run``, ``command`` and ``status`` (attributes that are None are left out);
    a location without content (a pipe, a temp file gone before hashing, a file too large to
    fingerprint) carries ``path``, ``run`` and ``note``. Every node has ``type``
    (``content``, ``step`` or ``location``). Edges carry ``role`` (``used`` or ``generated``)
    and the ``path`` the step saw.
    """
    g: nx.DiGraph[str] = nx.DiGraph(direction=lineage.direction, target=lineage.target.datahash)
    g.add_node(lineage.target.datahash, **_content_attrs(lineage.target))
    for c in lineage.contents.values():
        g.add_node(c.datahash, **_content_attrs(c))
    for s in lineage.steps:
        node = step_node(s.id)
        attrs = {"type": "step", "name": s.name, "run": s.run, "command": s.command,
                 "status": s.status}
        g.add_node(node, **_present(attrs))
        for e in s.inputs:
            g.add_edge(_edge_node(g, s.run, e), node, role="used", path=e.path)
        for e in s.outputs:
            g.add_edge(node, _edge_node(g, s.run, e), role="generated", path=e.path)
    return g


def _present(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if v is not None}


def _edge_node(g: nx.DiGraph[str], run: str, e: Edge) -> str:
    """The node an edge touches: its content, else its location (added on first sight)."""
    if e.datahash is not None:
        if e.datahash not in g:  # not expected: a lineage holds every content it touches
            g.add_node(e.datahash, type="content")
        return e.datahash
    node = location_node(run, e.path)
    if node not in g:
        g.add_node(node, **_present({"type": "location", "path": e.path, "run": run,
                                     "note": e.note}))
    return node


def write_graphml(lineage: Lineage, path: str | os.PathLike[str]) -> None:
    """Write the lineage as GraphML (Gephi, Cytoscape, yEd, networkx read it).

    GraphML has no list type, so a content's ``paths`` is written as a JSON array in text.

    :raises ExportError: the file cannot be written.
    """
    g = to_digraph(lineage)
    for _, attrs in g.nodes(data=True):
        if "paths" in attrs:
            attrs["paths"] = json.dumps(attrs["paths"], ensure_ascii=False)
    try:
        nx.write_graphml(g, Path(path))
    except OSError as exc:
        raise ExportError(f"{path}: cannot write GraphML: {exc.strerror or exc}") from None
    except ValueError as exc:  # a path with characters XML cannot hold (control characters)
        raise ExportError(f"{path}: cannot write GraphML: {exc}") from None
