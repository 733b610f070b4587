"""A lineage as a networkx graph, and GraphML export. The only module that imports networkx.

The graph is :func:`iscc_lineage.lineage.graph`, the one every view draws: contents and steps
are nodes (a bipartite provenance graph, as PROV draws it), keyed by datahash, ``step:<id>``
and ``location:<run>:<path>`` for a location without content (a pipe, a temp file gone before
hashing); ``used`` edges run content -> step and ``generated`` edges step -> content. An image
held by several files (a CZI and its OME-TIFF and OME-Zarr copies) is one node,
``image:<pixel_id>``, and each file holding it has a ``representation_of`` edge to it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import networkx as nx

from iscc_lineage.errors import ExportError
from iscc_lineage.lineage import graph
from iscc_lineage.model import Content, Lineage

__all__ = ["to_digraph", "write_graphml"]


def _content_attrs(c: Content) -> dict[str, Any]:
    return {
        "type": "content",
        "iscc": c.iscc,
        "paths": list(c.paths),
        "size": c.size,
        "kind": c.kind,
    }


def to_digraph(lineage: Lineage) -> nx.DiGraph[str]:
    """The lineage graph (:func:`iscc_lineage.lineage.graph`) as a networkx DiGraph.

    Content nodes carry ``iscc``, ``paths`` (list), ``size`` and ``kind``; step nodes carry
    ``name``, ``run``, ``command`` and ``status`` (attributes that are None are left out);
    a location without content (a pipe, a temp file gone before hashing, a file too large to
    fingerprint) carries ``path``, ``run`` and ``note``; an image carries ``pixel_id``,
    ``iscc``, ``wide`` and ``name``. Every node has ``type`` (``content``, ``step``,
    ``location`` or ``image``). Edges carry ``role`` (``used``, ``generated``, ``member`` from
    a directory to a file inside it, ``representation_of`` from a file to its image) and the
    ``path`` the step saw.
    """
    lg = graph(lineage)
    g: nx.DiGraph[str] = nx.DiGraph(direction=lineage.direction, target=lineage.target.datahash)
    for key, c in lg.contents.items():
        g.add_node(key, **_content_attrs(c))
    for key, s in lg.steps.items():
        g.add_node(
            key,
            **_present(
                {
                    "type": "step",
                    "name": s.name,
                    "run": s.run,
                    "command": s.command,
                    "status": s.status,
                }
            ),
        )
    for key, f in lg.locations.items():
        assert f.step is not None and f.edge is not None  # a location is a step's edge
        g.add_node(
            key,
            **_present(
                {"type": "location", "path": f.path, "run": f.step.run, "note": f.edge.note}
            ),
        )
    for key, im in lg.images.items():
        g.add_node(
            key,
            **_present(
                {
                    "type": "image",
                    "pixel_id": im.pixel_id,
                    "iscc": im.iscc,
                    "wide": im.wide,
                    "name": im.name,
                }
            ),
        )
    for f in lg.flows:
        g.add_edge(f.source, f.target, role=f.role, path=f.path)
    return g


def _present(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if v is not None}


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
