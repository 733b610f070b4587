"""Pixel codes of bioimages: reindex lines, image summaries, show FILE with its metadata."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from iscc_lineage.codes.pixel import ImageCode
from iscc_lineage.model import Content
from iscc_lineage.pixels import Outcome
from iscc_lineage.render.console import escape, out, rel, same_pixels_label

__all__ = ["content_detail", "image_summary", "reindex_lines"]


def reindex_lines(outcomes: Sequence[Outcome]) -> None:
    """One line per file pixel-coded, noted or skipped, then a count."""
    coded = 0
    for o in outcomes:
        path = escape(rel(o.path))
        if o.skipped:
            out().print(f"[yellow]SKIPPED[/]  {path}: {escape(o.skipped)}")
        elif o.result is not None and o.result.note:
            out().print(f"[yellow]NOTE[/]     {path}: {escape(o.result.note)}")
        elif o.result is not None:
            coded += 1
            for i in o.result.images:
                out().print(
                    f"[green]PIXELS[/]   {path}{_scene(i, len(o.result.images))}: "
                    f"{i.iscc} [dim]{image_summary(i)}[/]"
                )
    out().print(f"[dim]{len(outcomes)} bioimage(s) without pixel codes, {coded} coded[/]")


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


def content_detail(
    path: str,
    content: Content,
    images: Sequence[ImageCode],
    others: Sequence[Content],
    note: str | None,
    *,
    same_pixels: bool,
) -> None:
    """``show FILE``: the content, its images with acquisition metadata, its other files."""
    if same_pixels:
        out().print(f"[bold]{escape(rel(path))}[/] [dim](not recorded)[/]")
        out().print("  " + same_pixels_label(content))
    else:
        out().print(f"[bold]{escape(rel(path))}[/] [dim]{content.iscc}[/]")
    out().print(f"  datahash  {content.datahash}")
    for p in content.paths:
        out().print(f"  seen at   {escape(rel(p))}")
    if not images:
        hint = escape(note) if note else "not pixel-coded yet (iscc-lineage reindex --pixels)"
        out().print(f"  pixels    [dim]{hint}[/]")
    for i in images:
        title = f"image {i.scene}" + (f" ({escape(i.name)})" if i.name else "")
        out().print(f"  [bold]{title}[/]")
        out().print(f"    pixels      {i.iscc} [dim](WIDE {i.wide})[/]")
        out().print(f"    pixel hash  {i.datahash}")
        out().print(f"    dimensions  {escape(image_summary(i))}")
        for line in _metadata_lines(i.metadata):
            out().print("    " + line)
    for c in others:
        out().print("  " + same_pixels_label(c))


def _metadata_lines(meta: dict[str, Any]) -> list[str]:
    lines = []
    if meta.get("acquisition_date"):
        lines.append(f"acquired    {escape(str(meta['acquisition_date']))}")
    inst = meta.get("instrument") or {}
    scope = inst.get("microscope") or {}
    if scope:
        lines.append("microscope  " + escape(" ".join(str(v) for v in scope.values())))
    obj = inst.get("objective") or {}
    if obj:
        bits = [str(obj["model"])] if obj.get("model") else []
        if obj.get("nominal_magnification"):
            bits.append(f"{obj['nominal_magnification']:g}x")
        if obj.get("lens_na"):
            bits.append(f"NA {obj['lens_na']:g}")
        if obj.get("immersion"):
            bits.append(str(obj["immersion"]))
        lines.append("objective   " + escape(", ".join(bits)))
    px = meta.get("physical_size") or {}
    if px:
        unit = px.get("unit") or ""
        lines.append(
            "pixel size  "
            + ", ".join(f"{k} {px[k]:g}" for k in ("x", "y", "z") if px.get(k))
            + f" {unit}".rstrip()
        )
    for n, ch in enumerate(meta.get("channels") or []):
        waves = "/".join(
            f"{ch[k]:g}" for k in ("excitation_wavelength", "emission_wavelength") if ch.get(k)
        )
        unit = f" {ch.get('wavelength_unit', 'nm')}" if waves else ""
        lines.append(
            f"channel {n}   {escape(str(ch.get('name') or '-'))}"
            + (f" ex/em {waves}{unit}" if waves else "")
        )
    return lines
