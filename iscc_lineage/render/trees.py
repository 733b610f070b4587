"""A trace (back to sources) or impact (forward to derivations) drawn as a rich tree."""

from __future__ import annotations

from iscc_lineage.lineage import links, node_key
from iscc_lineage.model import Lineage
from iscc_lineage.render.console import content_label, escape, out, rel, same_pixels_label

__all__ = ["lineage_tree"]


def lineage_tree(
    lin: Lineage,
    target_path: str,
    *,
    store: str | None = None,
    note: str | None = None,
    same_pixels: bool = False,
    unrecorded_image: tuple[str, str] | None = None,
) -> None:
    """Draw a trace (back to sources) or impact (forward to derivations) as a tree, then
    each image several of its files hold, with those files (its representations).

    ``same_pixels``: the file at ``target_path`` is not recorded; ``lin.target`` is a recorded
    file holding the same image, shown as such under it. ``unrecorded_image``: that image's
    (pixel_id, pixel ISCC), so that the file is listed among the image's representations.
    """
    by_near = links(lin.steps, lin.direction, lin.containers)
    ends = {c.datahash for c in lin.ends}
    from rich.tree import Tree

    if same_pixels:
        root = Tree(f"[bold]{escape(rel(target_path))}[/] [dim](not recorded)[/]")
        start = root.add(same_pixels_label(lin.target))
    else:
        root = start = Tree(content_label(lin.target, focus=target_path))
    expanded: set[str] = {lin.target.datahash}  # contents (or locations) already drawn out

    def twins(node: Tree, key: str) -> None:
        """Other files holding this content's image, where the lineage goes on through them."""
        for t in lin.twins.get(key, ()):
            c = lin.contents.get(t)
            if c is None or t in expanded or not (by_near.get(t) or t in ends):
                continue
            expanded.add(t)
            tag = (
                (" [green]← source[/]" if lin.direction == "trace" else " [green]→ end[/]")
                if t in ends
                else ""
            )
            grow(node.add(same_pixels_label(c) + tag), t)

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
                node.add(
                    label + f" [yellow]({which} identical to its "
                    f"{'input' if which == 'output' else 'output'})[/]"
                )
                continue
            branch = node.add(label)
            for e in s.code_files:
                c = lin.contents.get(e.datahash or "")
                role = (e.note or "code").removeprefix("code: ")
                shown = f"[magenta]{escape(role)}[/] {escape(rel(e.path))}"
                branch.add(
                    shown
                    + (
                        f" [dim]{c.iscc}[/]"
                        if c is not None
                        else f" [yellow]({escape(e.note or '')})[/]"
                    )
                )
            for e in far:
                c = lin.contents.get(e.datahash or "")
                key_e = node_key(s, e)
                if c is None:  # no content: followed by path within the run (a gone temp)
                    text = f"{escape(rel(e.path))} [yellow]({escape(e.note or 'no content')})[/]"
                else:
                    tag = (
                        (" [green]← source[/]" if lin.direction == "trace" else " [green]→ end[/]")
                        if c.datahash in ends
                        else ""
                    )
                    if e.note:
                        tag += f" [yellow]({escape(e.note)})[/]"
                    text = content_label(c, focus=e.path) + tag
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
        out().print(f"[yellow]{escape(note)}[/]")
    out().print(root)
    for line in image_lines(lin, target_path, unrecorded_image):
        out().print(line)
    what = "source" if lin.direction == "trace" else "derived end"
    folded = sum(len(v) for v in lin.repeats.values())
    more = f", {folded} identical re-run step{'s' if folded != 1 else ''} folded" if folded else ""
    where = f" · store {escape(store)}" if store else ""
    n = len(lin.steps)
    out().print(
        f"[dim]{n} step{'s' if n != 1 else ''}{more}, {len(lin.ends)} {what}"
        f"{'s' if len(lin.ends) != 1 else ''}{where}[/]"
    )


def image_lines(
    lin: Lineage, target_path: str, unrecorded: tuple[str, str] | None = None
) -> list[str]:
    """``image ISCC:… in 3 representations: raw/a.czi, …``: one line per image node."""
    rows: list[tuple[str, list[str]]] = []
    for im in sorted(lin.images.values(), key=lambda im: im.representations):
        files = [
            escape(rel(lin.contents[h].paths[0])) if lin.contents[h].paths else lin.contents[h].iscc
            for h in im.representations
            if h in lin.contents
        ]
        rows.append((im.iscc, files))
        if unrecorded is not None and unrecorded[0] == im.pixel_id:
            files.append(f"{escape(rel(target_path))} [dim](not recorded)[/]")
            unrecorded = None
    if unrecorded is not None:  # the recorded target is the image's only recorded file
        first = lin.target.paths[0] if lin.target.paths else lin.target.iscc
        rows.append(
            (
                unrecorded[1],
                [escape(rel(first)), f"{escape(rel(target_path))} [dim](not recorded)[/]"],
            )
        )
    return [
        f"[magenta]image[/] [dim]{iscc}[/] in {len(files)} representations: {', '.join(files)}"
        for iscc, files in rows
    ]
