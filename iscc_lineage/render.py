"""Human output: rich trees, tables and progress bars; JSON output. The only rich importer.

stdout carries results; progress and warnings go to stderr, drawn only on a terminal.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

from iscc_lineage.codes.pixel import ImageCode
from iscc_lineage.lineage import links, node_key
from iscc_lineage.model import Content, Fingerprint, Lineage, Run, Step
from iscc_lineage.pixels import Outcome
from iscc_lineage.verify import Check

__all__ = [
    "checks",
    "content_detail",
    "dump_json",
    "fingerprint_lines",
    "lineage_tree",
    "progress",
    "reindex_lines",
    "run_detail",
    "runs_table",
    "step_detail",
]



# rich is imported at first use, not with the module: `iscc-lineage fingerprint` draws
# nothing and should not pay ~40 ms of start-up for it.
@cache
def _out() -> Console:
    from rich.console import Console

    # Off a terminal (a pipe, a file, a CI log) rich would wrap trees at 80 columns and cut
    # ISCCs in half: give it room instead.
    return Console(soft_wrap=True, highlight=False,
                   width=None if sys.stdout.isatty() else 240)


@cache
def _err() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def escape(text: str) -> str:
    """Escape rich markup in user text (file names, step names may contain '[')."""
    return text.replace("[", "\\[")


def dump_json(value: Any) -> None:
    """Write one JSON document to stdout (UTF-8, stable key order)."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def progress_shown(quiet: bool = False) -> bool:
    """Whether :func:`progress` would draw a bar (stderr is a terminal and not quiet)."""
    return not quiet and _err().is_terminal


@contextmanager
def progress(total: int, label: str, *, quiet: bool = False
             ) -> Iterator[Callable[[int], None] | None]:
    """A transient byte-progress bar on stderr, or ``None`` when stderr is not a terminal."""
    if quiet or total <= 0 or not _err().is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=_err(),
                  transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


@contextmanager
def count_progress(total: int, label: str, *, quiet: bool = False
                   ) -> Iterator[Callable[[int], None] | None]:
    """A transient progress bar counting items (``12,000/40,000``) on a terminal's stderr."""
    if quiet or total <= 0 or not _err().is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=_err(), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def fingerprint_lines(items: Sequence[tuple[str, Fingerprint]], *, units: bool) -> None:
    """``ISCC:KUA… *path`` lines, as ``iscc-sum --narrow`` writes them (``--units`` too)."""
    for path, fp in items:
        shown = path + "/" if fp.kind == "tree" and not path.endswith("/") else path
        sys.stdout.write(f"{fp.iscc} *{shown}\n")
        if units:
            sys.stdout.write(f"  {fp.data_code}\n  {fp.instance_code}\n")


def _content_label(c: Content, *, focus: str | None = None) -> str:
    where = focus or (c.paths[0] if c.paths else "(no known path)")
    more = f" [dim](+{len(c.paths) - 1} paths)[/]" if len(c.paths) > 1 and not focus else ""
    return f"[bold]{escape(_rel(where))}[/] [dim]{c.iscc}[/]{more}"


def _rel(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return path
    return rel if not rel.startswith("../../") else path


def _same_pixels(c: Content) -> str:
    return f"[magenta]same pixels as[/] {_content_label(c)} [dim](different file)[/]"


def lineage_tree(lin: Lineage, target_path: str, *, store: str | None = None,
                 note: str | None = None, same_pixels: bool = False) -> None:
    """Draw a trace (back to sources) or impact (forward to derivations) as a tree.

    ``same_pixels``: the file at ``target_path`` is not recorded; ``lin.target`` is a recorded
    file holding the same image, shown as such under it.
    """
    by_near = links(lin.steps, lin.direction, lin.containers)
    ends = {c.datahash for c in lin.ends}
    from rich.tree import Tree

    if same_pixels:
        root = Tree(f"[bold]{escape(_rel(target_path))}[/] [dim](not recorded)[/]")
        start = root.add(_same_pixels(lin.target))
    else:
        root = start = Tree(_content_label(lin.target, focus=target_path))
    expanded: set[str] = {lin.target.datahash}  # contents (or locations) already drawn out

    def twins(node: Tree, key: str) -> None:
        """Other files holding this content's image, where the lineage goes on through them."""
        for t in lin.twins.get(key, ()):
            c = lin.contents.get(t)
            if c is None or t in expanded or not (by_near.get(t) or t in ends):
                continue
            expanded.add(t)
            tag = (" [green]← source[/]" if lin.direction == "trace"
                   else " [green]→ end[/]") if t in ends else ""
            grow(node.add(_same_pixels(c) + tag), t)

    def grow(node: Tree, key: str) -> None:
        for s in by_near.get(key, ()):
            far = s.inputs if lin.direction == "trace" else s.made
            same = bool(far) and all(node_key(s, e) == key for e in far)
            extra = [f"step {s.id[:8]} · run {s.run[:8]}"]
            if s.status != "finished":
                extra.append(s.status)
            if lin.repeats.get(s.id):
                n = len(lin.repeats[s.id]) + 1
                extra.append(f"same in {n} runs")
            label = f"[cyan]{escape(s.label)}[/] [dim]{' · '.join(extra)}[/]"
            if same:  # a copy, or a sort that changed nothing: shown, not walked again
                which = "output" if lin.direction == "trace" else "input"
                node.add(label + f" [yellow]({which} identical to its "
                                 f"{'input' if which == 'output' else 'output'})[/]")
                continue
            branch = node.add(label)
            for e in s.code_files:
                c = lin.contents.get(e.datahash or "")
                role = (e.note or "code").removeprefix("code: ")
                shown = f"[magenta]{escape(role)}[/] {escape(_rel(e.path))}"
                branch.add(shown + (f" [dim]{c.iscc}[/]" if c is not None
                                    else f" [yellow]({escape(e.note or '')})[/]"))
            for e in far:
                c = lin.contents.get(e.datahash or "")
                key_e = node_key(s, e)
                if c is None:  # no content: followed by path within the run (a gone temp)
                    text = f"{escape(_rel(e.path))} [yellow]({escape(e.note or 'no content')})[/]"
                else:
                    tag = (" [green]← source[/]" if lin.direction == "trace"
                           else " [green]→ end[/]") if c.datahash in ends else ""
                    if e.note:
                        tag += f" [yellow]({escape(e.note)})[/]"
                    text = _content_label(c, focus=e.path) + tag
                if key_e in expanded or key_e == key:
                    if by_near.get(key_e):
                        text += " [dim](see above)[/]"
                    branch.add(text)
                    continue
                expanded.add(key_e)
                grow(branch.add(text), key_e)
        twins(node, key)

    made = [e for s in lin.steps for e in s.partial if e.datahash == lin.target.datahash]
    if lin.direction == "trace" and made:
        root.label = f"{root.label} [bold red](partial output of a failed step)[/]"
    grow(start, lin.target.datahash)
    if note:
        _out().print(f"[yellow]{escape(note)}[/]")
    _out().print(root)
    what = "source" if lin.direction == "trace" else "derived end"
    folded = sum(len(v) for v in lin.repeats.values())
    more = f", {folded} identical re-run step{'s' if folded != 1 else ''} folded" if folded \
        else ""
    where = f" · store {escape(store)}" if store else ""
    n = len(lin.steps)
    _out().print(f"[dim]{n} step{'s' if n != 1 else ''}{more}, {len(lin.ends)} {what}"
                 f"{'s' if len(lin.ends) != 1 else ''}{where}[/]")


def runs_table(runs: Sequence[Run]) -> None:
    from rich.table import Table

    t = Table(box=None, header_style="bold")
    for col in ("run", "started", "status", "steps", "workflow", "workdir"):
        t.add_column(col)
    for r in runs:
        t.add_row(r.id[:12], r.started[:19].replace("T", " "), _status(r.status), str(r.steps),
                  escape(r.workflow or ""), escape(_rel(r.workdir)))
    _out().print(t)


def _status(status: str) -> str:
    colour = {"finished": "green", "failed": "red", "running": "yellow",
              "incomplete": "yellow", "interrupted": "yellow"}.get(status, "white")
    return f"[{colour}]{status}[/]"


def run_detail(run: Run, steps: Sequence[Step]) -> None:
    _out().print(f"[bold]run {run.id}[/] {_status(run.status)}")
    for k in ("workflow", "workdir", "command", "started", "ended", "host", "user"):
        v = getattr(run, k)
        if v:
            _out().print(f"  {k:<9} {escape(str(v))}")
    from rich.table import Table

    t = Table(box=None, header_style="bold", title=f"{len(steps)} steps", title_justify="left")
    for col in ("step", "name", "status", "in", "out", "ended"):
        t.add_column(col)
    for s in steps:
        t.add_row(s.id[:12], escape(s.label), _status(s.status), str(len(s.inputs)),
                  str(len(s.made)), (s.ended or "")[:19].replace("T", " "))
    _out().print(t)


def step_detail(step: Step) -> None:
    _out().print(f"[bold]step {step.id}[/] {escape(step.name)} {_status(step.status)}"
              f" [dim]run {step.run}[/]")
    for k in ("process", "command", "code", "code_datahash", "started", "ended", "exit_status"):
        v = getattr(step, k)
        if v is not None:
            _out().print(f"  {k:<13} {escape(str(v))}")
    for k in ("params", "environment"):
        if getattr(step, k):
            _out().print(f"  {k:<13} {escape(json.dumps(getattr(step, k), sort_keys=True))}")
    wildcards = step.info.get("wildcards")
    if wildcards:
        _out().print(f"  {'wildcards':<13} {escape(json.dumps(wildcards, sort_keys=True))}")
    if step.info.get("run_source"):
        _out().print(f"  [bold]run: block[/]\n{escape(str(step.info['run_source']).rstrip())}")
    for title, edges in (("code", step.code_files), ("used", step.inputs),
                         ("generated", step.outputs),
                         ("partial (written before the step failed)", step.partial)):
        if not edges and (title == "code" or title.startswith("partial")):
            continue
        _out().print(f"  [bold]{title}[/]")
        for e in edges:
            role = f"{e.note.removeprefix('code: ')} " if title == "code" and e.note else ""
            _out().print(f"    {escape(role)}{escape(_rel(e.path))} "
                         f"[dim]{e.datahash or e.note or ''}[/]")


def checks(results: Sequence[Check]) -> None:
    """One line per location: OK / CHANGED (how much, where) / MISSING / GONE / ERROR."""
    for c in results:
        path = escape(_rel(c.path))
        if c.status == "ok":
            _out().print(f"[green]OK[/]       {path}")
        elif c.status == "changed" and c.pixels == "identical":
            _out().print(f"[yellow]CHANGED[/]  {path}: [bold]pixels identical, file changed[/]"
                         f" (re-encoded or recompressed: same image), {c.size_before:,} → "
                         f"{c.size_now:,} bytes")
        elif c.status == "changed":
            size = f"{c.size_before:,} → {c.size_now:,} bytes"
            if c.pixels == "changed":
                size += "; the image's pixels changed"
            if c.bytes_changed is not None:
                size += f", {c.bytes_changed:,} byte{'s' if c.bytes_changed != 1 else ''} " \
                        "differ from the recorded copy"
            if c.similarity == "too small to measure":
                how = "too small to measure similarity"
            else:
                how = f"Data-Code {c.data_distance} bits of {c.data_bits} ({c.similarity})"
            _out().print(f"[red]CHANGED[/]  {path}: {how}, {size}")
            for k, names in c.members.items():
                if names:
                    more = f" … (+{len(names) - 5})" if len(names) > 5 else ""
                    shown = ", ".join(names[:5]) + more
                    _out().print(f"           {k}: {escape(shown)}")
        elif c.status == "missing":
            _out().print(f"[red]MISSING[/]  {path}")
        elif c.status == "gone":
            _out().print(f"[yellow]GONE[/]     {path} [dim]({escape(c.detail or '')})[/]")
        else:
            _out().print(f"[red]ERROR[/]    {path}: {escape(c.detail or '')}")
    counts = {s: sum(c.status == s for c in results)
              for s in ("ok", "changed", "missing", "gone", "error")}
    parts = [f"{n} {s}" + (" (temp, expected)" if s == "gone" else "")
             for s, n in counts.items() if n]
    _out().print(f"[dim]{len(results)} checked: {', '.join(parts) or 'nothing'}[/]")


def reindex_lines(outcomes: Sequence[Outcome]) -> None:
    """One line per file pixel-coded, noted or skipped, then a count."""
    coded = 0
    for o in outcomes:
        path = escape(_rel(o.path))
        if o.skipped:
            _out().print(f"[yellow]SKIPPED[/]  {path}: {escape(o.skipped)}")
        elif o.result is not None and o.result.note:
            _out().print(f"[yellow]NOTE[/]     {path}: {escape(o.result.note)}")
        elif o.result is not None:
            coded += 1
            for i in o.result.images:
                _out().print(f"[green]PIXELS[/]   {path}{_scene(i, len(o.result.images))}: "
                             f"{i.iscc} [dim]{image_summary(i)}[/]")
    _out().print(f"[dim]{len(outcomes)} bioimage(s) without pixel codes, {coded} coded[/]")


def _scene(i: ImageCode, n: int) -> str:
    return f" [{escape(str(i.name or i.scene))}]" if n > 1 else ""


def image_summary(i: ImageCode) -> str:
    """``C=2 Z=3 96x80 uint16`` and, when known, channel names and pixel size."""
    dims = " ".join(f"{k}={v}" for k, v in i.sizes.items() if k in "TCZ" and v > 1)
    text = f"{dims} {i.sizes['Y']}x{i.sizes['X']} {i.dtype}".strip()
    names = [str(c.get("name")) for c in i.metadata.get("channels", []) if c.get("name")]
    if names:
        text += " · " + "/".join(names)
    px = i.metadata.get("physical_size") or {}
    if px.get("x"):
        text += f" · {px['x']:g} {px.get('unit') or ''}/px".rstrip()
    if i.uniform:
        text += " · uniform (one value: identifies nothing)"
    return text


def content_detail(path: str, content: Content, images: Sequence[ImageCode],
                   others: Sequence[Content], note: str | None, *, same_pixels: bool) -> None:
    """``show FILE``: the content, its images with acquisition metadata, its other files."""
    if same_pixels:
        _out().print(f"[bold]{escape(_rel(path))}[/] [dim](not recorded)[/]")
        _out().print("  " + _same_pixels(content))
    else:
        _out().print(f"[bold]{escape(_rel(path))}[/] [dim]{content.iscc}[/]")
    _out().print(f"  datahash  {content.datahash}")
    for p in content.paths:
        _out().print(f"  seen at   {escape(_rel(p))}")
    if not images:
        hint = escape(note) if note else "not pixel-coded yet (iscc-lineage reindex --pixels)"
        _out().print(f"  pixels    [dim]{hint}[/]")
    for i in images:
        title = f"image {i.scene}" + (f" ({escape(i.name)})" if i.name else "")
        _out().print(f"  [bold]{title}[/]")
        _out().print(f"    pixels      {i.iscc} [dim](WIDE {i.wide})[/]")
        _out().print(f"    pixel hash  {i.datahash}")
        _out().print(f"    dimensions  {escape(image_summary(i))}")
        for line in _metadata_lines(i.metadata):
            _out().print("    " + line)
    for c in others:
        _out().print("  " + _same_pixels(c))


def _metadata_lines(meta: dict[str, Any]) -> list[str]:
    out = []
    if meta.get("acquisition_date"):
        out.append(f"acquired    {escape(str(meta['acquisition_date']))}")
    inst = meta.get("instrument") or {}
    scope = inst.get("microscope") or {}
    if scope:
        out.append("microscope  " + escape(" ".join(str(v) for v in scope.values())))
    obj = inst.get("objective") or {}
    if obj:
        bits = [str(obj["model"])] if obj.get("model") else []
        if obj.get("nominal_magnification"):
            bits.append(f"{obj['nominal_magnification']:g}x")
        if obj.get("lens_na"):
            bits.append(f"NA {obj['lens_na']:g}")
        if obj.get("immersion"):
            bits.append(str(obj["immersion"]))
        out.append("objective   " + escape(", ".join(bits)))
    px = meta.get("physical_size") or {}
    if px:
        unit = px.get("unit") or ""
        out.append("pixel size  " + ", ".join(f"{k} {px[k]:g}" for k in ("x", "y", "z")
                                               if px.get(k)) + f" {unit}".rstrip())
    for n, ch in enumerate(meta.get("channels") or []):
        waves = "/".join(f"{ch[k]:g}" for k in ("excitation_wavelength", "emission_wavelength")
                         if ch.get(k))
        unit = f" {ch.get('wavelength_unit', 'nm')}" if waves else ""
        out.append(f"channel {n}   {escape(str(ch.get('name') or '-'))}"
                   + (f" ex/em {waves}{unit}" if waves else ""))
    return out
