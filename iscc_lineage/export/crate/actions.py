"""Retrospective provenance as WRROC actions: a ``CreateAction`` per step (job), a
``ControlAction`` per process, an ``OrganizeAction`` for the engine, a ``CreateAction`` for the
workflow run; and ``isBasedOn`` from final results back to the raw inputs.

Action ids derive from run and step ids (never a fresh uuid), so exports diff cleanly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from iscc_lineage.export.crate.engines import engine_entity
from iscc_lineage.export.crate.entities import Workflow, param_value
from iscc_lineage.export.crate.gather import Layout
from iscc_lineage.export.crate.terms import ACTION_STATUS, iso_ms, ref, refs, slug
from iscc_lineage.export.select import Selection
from iscc_lineage.model import Step

__all__ = ["actions", "based_on", "ends"]


def ends(steps: Iterable[Step], lay: Layout) -> tuple[list[str], list[str]]:
    """Entity ids of what the steps used but none generated (sources) and what they generated
    but none used (results), in first-seen order."""
    steps = list(steps)
    made = {e.datahash for s in steps for e in s.outputs if e.datahash}
    used = {e.datahash for s in steps for e in s.inputs if e.datahash}
    sources = [
        lay.edge(e.path, e.datahash).id
        for s in steps
        for e in s.inputs
        if e.datahash is None or e.datahash not in made
    ]
    results = [
        lay.edge(e.path, e.datahash).id
        for s in steps
        for e in s.outputs
        if e.datahash is None or e.datahash not in used
    ]
    return list(dict.fromkeys(sources)), list(dict.fromkeys(results))


def based_on(sel: Selection, lay: Layout) -> dict[str, list[str]]:
    """Final result -> the raw inputs it derives from (the closure over the selected steps),
    so that a generic reader goes from a figure to the acquisitions without the actions."""
    makers: dict[str, list[Step]] = {}
    for s in sel.steps:
        ins = {e.datahash for e in s.inputs}
        for e in s.outputs:
            if e.datahash and e.datahash not in ins:
                makers.setdefault(e.datahash, []).append(s)
    memo: dict[str, frozenset[str]] = {}

    def raw(h: str) -> frozenset[str]:
        """The sources of ``h``: an iterative post-order walk (chains may be very deep)."""
        stack: list[tuple[str, bool]] = [(h, False)]
        entered: set[str] = set()  # on the current path or done: a cycle is not followed
        while stack:
            x, expanded = stack.pop()
            if x in memo:
                continue
            if not expanded:
                if x in entered:  # a second path to a node already being walked
                    continue
                entered.add(x)
                stack.append((x, True))
                stack.extend(
                    (e.datahash, False)
                    for s in makers.get(x, ())
                    for e in s.inputs
                    if e.datahash and e.datahash not in memo and e.datahash not in entered
                )
                continue
            acc: set[str] = set()
            for s in makers.get(x, ()):
                for e in s.inputs:
                    if e.datahash and e.datahash != x:
                        acc.update(memo.get(e.datahash, ()))
            # made from no recorded file (an acquisition step): a source itself
            memo[x] = frozenset(acc) if acc else frozenset((x,))
        return memo[h]

    where = {h: e.resolved().id for (_, h), e in lay.data.items() if h}
    content_of = {e.id: e.content.datahash for e in lay.entries if e.content is not None}
    out: dict[str, list[str]] = {}
    for run in sel.runs:
        for rid in ends((s for s in sel.steps if s.run == run.id), lay)[1]:
            h = content_of.get(rid)
            if h is None or h not in makers:
                continue
            sources = sorted(where[x] for x in raw(h) if x in where and where[x] != rid)
            if sources:
                out[rid] = sources
    return out


def actions(
    sel: Selection, lay: Layout, wfs: dict[str, Workflow], agent: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The actions of every selected run (to mention from the root) and the contextual
    entities they refer to (engines, parameter values, container images)."""
    acts: list[dict[str, Any]] = []
    extra: dict[str, dict[str, Any]] = {}
    for run in sel.runs:
        wf = wfs[run.id]
        steps = [s for s in sel.steps if s.run == run.id]
        jobs: dict[str, list[str]] = {}
        job_acts = []
        for s in steps:
            job_acts.append(_job(s, wf, lay, agent, extra))
            jobs.setdefault(s.process or s.name, []).append(job_acts[-1]["@id"])
        controls = [
            _action(
                f"#run-{run.id}-control-{slug(proc)}",
                "ControlAction",
                f"Orchestrate {proc}",
                instrument=wf.steps[proc]["@id"],
                object=refs(ids),
                agent=agent,
            )
            for proc, ids in jobs.items()
        ]
        engine = engine_entity(run, extra)
        sources, results = ends(steps, lay)
        configs = [c.resolved().id for c in lay.configs.get(run.id, ()) if c.id]
        wf_run = _action(
            f"#run-{run.id}",
            "CreateAction",
            f"Run {run.id[:8]} of {wf.name}",
            description=run.command or f"{len(steps)} recorded step(s)",
            instrument=wf.id,
            agent=agent,
            start=run.started,
            end=run.ended,
            status=run.status,
            object=refs(sources + configs) if sources + configs else None,
            result=refs(results) if results else None,
        )
        organize = _action(
            f"#run-{run.id}-engine",
            "OrganizeAction",
            f"{extra[engine]['name']} run {run.id[:8]}",
            instrument=engine,
            agent=agent,
            start=run.started,
            end=run.ended,
            object=refs([c["@id"] for c in controls]) if controls else None,
            result=ref(wf_run["@id"]),
        )
        acts += [wf_run, organize, *controls, *job_acts]
    return acts, [extra[k] for k in sorted(extra)]


def _job(
    s: Step, wf: Workflow, lay: Layout, agent: str | None, extra: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    aid = f"#job-{s.id}"
    objects = [lay.edge(e.path, e.datahash).id for e in s.inputs]
    for key, value in sorted(s.params.items()):
        pid = f"{aid}-param-{slug(key)}"
        extra[pid] = {
            "@id": pid,
            "@type": "PropertyValue",
            "name": key,
            "value": param_value(value),
            "exampleOfWork": ref(f"{wf.tool_id(s.process or s.name)}-param-{slug(key)}"),
        }
        objects.append(pid)
    results = [lay.edge(e.path, e.datahash).id for e in s.outputs]
    wildcards = s.info.get("wildcards") or {}
    label = (
        ", ".join(f"{k}={v}" for k, v in sorted(wildcards.items()))
        if isinstance(wildcards, dict)
        else ""
    )
    what = s.command or (
        f"script {lay.script[s.id].rel}" if s.id in lay.script else "no command recorded"
    )
    act = _action(
        aid,
        "CreateAction",
        f"{s.process or s.name}" + (f" ({label})" if label else ""),
        description=what,
        instrument=wf.tool_id(s.process or s.name),
        agent=agent,
        start=s.started,
        end=s.ended,
        status=s.status,
        object=refs(objects) if objects else None,
        result=refs(results) if results else None,
    )
    if s.status == "failed":
        act["error"] = f"exit status {s.exit_status}" if s.exit_status is not None else "failed"
    image = s.environment.get("container_img_url")
    if isinstance(image, str) and image:
        act["containerImage"] = ref(_container(image, extra))
    return act


def _action(
    aid: str,
    kind: str,
    name: str,
    *,
    instrument: str,
    agent: str | None,
    description: str | None = None,
    start: str | None = None,
    end: str | None = None,
    status: str | None = None,
    object: Any = None,
    result: Any = None,
) -> dict[str, Any]:
    act: dict[str, Any] = {"@id": aid, "@type": kind, "name": name}
    if description:
        act["description"] = description
    act["instrument"] = ref(instrument)
    for key, value in (("object", object), ("result", result)):
        if value is not None:
            act[key] = value
    for key, value in (
        ("startTime", iso_ms(start)),
        ("endTime", iso_ms(end)),
        ("actionStatus", ACTION_STATUS.get(status or "")),
    ):
        if value:
            act[key] = value
    if agent:
        act["agent"] = ref(agent)
    return act


def _container(url: str, extra: dict[str, dict[str, Any]]) -> str:
    """A ``ContainerImage`` from Snakemake's ``container_img_url``
    (``docker://quay.io/org/name:tag@sha256:…``, ``library://…``, ``/path/image.sif``)."""
    cid = f"#container-{slug(url)}"
    scheme, sep, rest = url.partition("://")
    rest = rest if sep else url
    rest, _, digest = rest.partition("@")
    head, _, last = rest.rpartition("/")
    base, _, tag = last.partition(":")
    path = f"{head}/{base}" if head else base
    first = path.split("/")[0]
    registry, name = "docker.io", path
    if "/" in path and ("." in first or ":" in first or first == "localhost"):
        registry, name = first, path[len(first) + 1 :]
    sif = (sep and scheme in ("library", "shub", "oras")) or url.endswith(".sif")
    ent: dict[str, Any] = {
        "@id": cid,
        "@type": "ContainerImage",
        "name": name,
        "additionalType": ref(
            "https://w3id.org/ro/terms/workflow-run#" + ("SIFImage" if sif else "DockerImage")
        ),
    }
    if not sif:
        ent["registry"] = registry
    if sep:
        ent["url"] = url
    if tag:
        ent["tag"] = tag
    if digest.startswith("sha256:"):
        ent["sha256"] = digest.removeprefix("sha256:")
    extra.setdefault(cid, ent)
    return cid
