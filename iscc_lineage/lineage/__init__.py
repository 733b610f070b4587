"""Lineage queries: identify a file by content, trace it back to sources, walk its impact.

Works on a :class:`~iscc_lineage.store.Store` and returns :class:`~iscc_lineage.model.Lineage`.
query (what a query names), traverse (walk, trace, impact), fold (identical re-runs folded),
flows (the one lineage graph every view draws).
"""

from __future__ import annotations

from iscc_lineage.lineage.flows import (
    IMAGE_PREFIX,
    LOCATION_PREFIX,
    STEP_PREFIX,
    Flow,
    LineageGraph,
    graph,
    image_key,
    links,
    node_key,
    step_key,
)
from iscc_lineage.lineage.query import (
    DATAHASH,
    Resolved,
    SamePixels,
    find_same_pixels,
    identify,
    resolve,
)
from iscc_lineage.lineage.traverse import impact, trace, walk

__all__ = [
    "DATAHASH",
    "IMAGE_PREFIX",
    "LOCATION_PREFIX",
    "STEP_PREFIX",
    "Flow",
    "LineageGraph",
    "Resolved",
    "SamePixels",
    "find_same_pixels",
    "graph",
    "identify",
    "image_key",
    "impact",
    "links",
    "node_key",
    "resolve",
    "step_key",
    "trace",
    "walk",
]
