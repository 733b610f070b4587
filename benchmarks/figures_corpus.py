"""The figure-search benchmark corpus: real images, near-identical siblings, paper edits.

Generated (never committed) into a directory: ``originals/`` (recorded), ``siblings/``
(recorded: a time-lapse frame with drift, a parameter neighbour, another seed), ``edits/`` (the
queries: what a paper does to a figure) and ``negatives/`` (unrelated figures in the same
styles, never recorded, queried as they are and edited). Sources: scikit-image's bundled
pictures, nuclei rendered by the demo's own acquisition script (workflows/bioimage-demo), and
demo-style matplotlib figures (multi-panel image rows, histograms + bar charts), some of them
saved as SVG and PDF originals. ``manifest.json`` lists every file with its role and truth.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "workflows" / "bioimage-demo" / "scripts"

PHOTOS = [
    "camera",
    "coins",
    "astronaut",
    "coffee",
    "chelsea",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "cell",
    "brick",
    "gravel",
    "moon",
    "rocket",
    "microaneurysms",
    "page",
    "text",
]
NEG_PHOTOS = ["grass", "clock", "horse", "logo", "shepp_logan_phantom", "checkerboard"]
EDITS = [
    "jpeg",
    "half",
    "crop10",
    "crop25",
    "pad",
    "letter_bar",
    "layout2x2",
    "layout1x3",
    "screenshot",
    "combo",
    "grey",
    "pdfpage",
    "panel",
    "render",
]


def _skimage(name: str) -> np.ndarray:
    import skimage.data as d

    a = getattr(d, name)()
    if a.dtype == bool:
        a = (a * 255).astype(np.uint8)
    if a.dtype != np.uint8:
        a = (255 * (a - a.min()) / max(1e-9, float(np.ptp(a)))).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[..., :3]
    return a


def _acquire() -> Any:
    sys.path.insert(0, str(DEMO))
    spec = importlib.util.spec_from_file_location("demo_acquire", DEMO / "acquire.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def nuclei(
    seed: int,
    size: int = 384,
    shift: tuple[float, float] = (0, 0),
    noise_seed: int | None = None,
    blur: float = 0.0,
) -> np.ndarray:
    """A 16-bit widefield frame of nuclei as the demo's acquire.py renders it."""
    from scipy import ndimage

    acq = _acquire()
    rng = np.random.default_rng(seed)
    expected = acq.render(rng, size, size)
    if shift != (0, 0):
        expected = ndimage.shift(expected, shift, order=1, mode="nearest")
    if blur:
        expected = ndimage.gaussian_filter(expected, blur)
    nrng = np.random.default_rng(noise_seed if noise_seed is not None else seed + 1000)
    frame = nrng.poisson(np.clip(expected, 0, None)) + acq.CAMERA_OFFSET
    frame = frame + nrng.normal(0, acq.READ_NOISE, frame.shape)
    return np.clip(frame, 0, 65535).astype(np.uint16)


def _stretch8(a: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(a, (1, 99.5))
    return np.clip((a.astype(float) - lo) * 255 / max(1.0, hi - lo), 0, 255).astype(np.uint8)


def _mpl() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def panel_figure(seed: int, rows: int = 1, tweak: float = 0.0) -> Any:
    """Demo-style multi-panel figure: raw, corrected, thresholded rows of a nuclei frame."""
    plt = _mpl()
    fig, axes = plt.subplots(rows, 3, figsize=(9, 3 * rows), squeeze=False, layout="constrained")
    for r, row in enumerate(axes):
        raw = nuclei(seed * 10 + r, 256).astype(float)
        corr = raw - np.percentile(raw, 5)
        mask = corr > np.percentile(corr, 80 + tweak)
        row[0].imshow(_stretch8(raw), cmap="gray")
        row[1].imshow(_stretch8(corr), cmap="magma")
        row[2].imshow(mask, cmap="viridis")
        for ax, t in zip(
            row, ("raw acquisition", "corrected", f"mask {80 + tweak:.1f}"), strict=True
        ):
            ax.set_title(f"s{seed:02d}: {t}", fontsize=10)
            ax.set_axis_off()
    return fig


def summary_figure(seed: int, tweak: float = 0.0) -> Any:
    """Demo-style summary: area histograms per sample and a bar chart of counts."""
    plt = _mpl()
    rng = np.random.default_rng(seed)
    fig, (h, b) = plt.subplots(
        1, 2, figsize=(9, 3.8), gridspec_kw={"width_ratios": [2, 1]}, layout="constrained"
    )
    counts = []
    for i in range(3):
        areas = rng.gamma(4 + i, 20 + 3 * seed % 7, int(rng.integers(60, 160)))
        areas = areas * (1 + tweak)
        counts.append(areas.size)
        h.hist(
            areas,
            bins=np.linspace(0, 500, 16),
            histtype="step",
            linewidth=2,
            label=f"s{i} (median {np.median(areas):.0f} µm²)",
        )
    h.set(xlabel="nucleus area (µm²)", ylabel="nuclei", title="Nucleus size distribution")
    h.legend(frameon=False)
    bars = b.bar([f"s{i}" for i in range(3)], counts, color=["C0", "C1", "C2"])
    b.bar_label(bars)
    b.set(xlabel="sample", ylabel="segmented nuclei", title="Nuclei per sample")
    return fig


def _save_fig(fig: Any, path: Path, dpi: int = 100) -> None:
    fig.savefig(path, dpi=dpi, metadata={"Software": None} if path.suffix == ".png" else None)
    _mpl().close(fig)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf", size)
    except OSError:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
        return ImageFont.truetype(str(path), size)


def _letter_bar(img: Image.Image, letter: str = "B") -> Image.Image:
    out = img.convert("RGB")
    d = ImageDraw.Draw(out)
    s = max(14, out.width // 14)
    d.text(
        (s // 3, s // 4),
        letter,
        fill=(255, 255, 255),
        font=_font(s),
        stroke_width=2,
        stroke_fill=(0, 0, 0),
    )
    w, h = out.size
    d.rectangle((w - w // 4 - 10, h - 18, w - 10, h - 12), fill=(255, 255, 255), outline=(0, 0, 0))
    d.text(
        (w - w // 4 - 10, h - 18 - s // 2 - 4),
        "10 µm",
        fill=(255, 255, 255),
        font=_font(max(10, s // 2)),
        stroke_width=1,
        stroke_fill=(0, 0, 0),
    )
    return out


def _crop(img: Image.Image, keep: float, rng: np.random.Generator) -> Image.Image:
    w, h = img.size
    cw, ch = round(w * keep), round(h * keep)
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return img.crop((x, y, x + cw, y + ch))


def _layout(
    main: Image.Image,
    fillers: list[Image.Image],
    cols: int,
    rows: int,
    slot: int,
    rng: np.random.Generator,
) -> Image.Image:
    cell = 360
    gap = 24
    canvas = Image.new(
        "RGB", (cols * cell + (cols + 1) * gap, rows * cell + (rows + 1) * gap), "white"
    )
    pics = list(fillers)
    pics.insert(slot, main)
    d = ImageDraw.Draw(canvas)
    for i, p in enumerate(pics[: cols * rows]):
        r, c = divmod(i, cols)
        p = p.convert("RGB")
        p.thumbnail((cell, cell))
        x, y = gap + c * (cell + gap), gap + r * (cell + gap)
        canvas.paste(p, (x, y))
        d.text((x - gap + 4, y - gap + 2), "ABCDEF"[i], fill=(0, 0, 0), font=_font(18))
    return canvas


def _screenshot(img: Image.Image) -> Image.Image:
    w, h = img.size
    small = img.convert("RGB").resize((round(w * 0.8), round(h * 0.8)), Image.Resampling.LANCZOS)
    W, H = small.width + 120, small.height + 140
    shot = Image.new("RGB", (W, H), (38, 70, 110))  # desktop
    d = ImageDraw.Draw(shot)
    d.rectangle((30, 30, W - 30, H - 20), fill=(236, 236, 236), outline=(90, 90, 90))
    d.rectangle((30, 30, W - 30, 60), fill=(60, 60, 66))  # title bar
    d.text((44, 36), "figure.png - Image Viewer", fill=(230, 230, 230), font=_font(14))
    for i, col in enumerate([(255, 95, 86), (255, 189, 46), (39, 201, 63)]):
        d.ellipse((W - 110 + i * 24, 38, W - 96 + i * 24, 52), fill=col)
    d.rectangle((30, 60, W - 30, 84), fill=(220, 220, 224))  # tool bar
    for i in range(6):
        d.rectangle((40 + i * 30, 64, 60 + i * 30, 80), fill=(170, 170, 180))
    shot.paste(small, (60, 100))
    return shot


def _pdf_page(img: Image.Image, path: Path, rng: np.random.Generator) -> None:
    """A paper-like A4 page: text lines above and below, the figure at 60 % of text width."""
    plt = _mpl()
    fig = plt.figure(figsize=(8.27, 11.69))
    words = [
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet",
        "consectetur",
        "adipiscing",
        "elit",
        "sed",
        "do",
        "eiusmod",
    ]
    for i in range(12):
        line = " ".join(rng.choice(words, 12))
        fig.text(0.1, 0.95 - i * 0.022, line, fontsize=9)
    w, h = img.size
    fw = 0.6
    fh = fw * h / w * 8.27 / 11.69
    ax = fig.add_axes((0.2, 0.62 - fh, fw, fh))
    ax.imshow(np.asarray(img.convert("RGB")), interpolation="bilinear")
    ax.set_axis_off()
    fig.text(0.1, 0.6 - fh, "Figure 2. " + " ".join(rng.choice(words, 10)), fontsize=9)
    fig.savefig(path)
    plt.close(fig)


def _jpeg(img: Image.Image, path: Path, q: int = 75) -> None:
    img.convert("RGB" if img.mode not in ("L", "RGB") else img.mode).save(path, quality=q)


def build(out: Path, quick: bool = False) -> dict[str, Any]:
    """Write the corpus under ``out``; return (and write) its manifest."""
    rng = np.random.default_rng(7)
    for sub in ("originals", "siblings", "edits", "negatives"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    man: dict[str, Any] = {"originals": {}, "siblings": {}, "edits": [], "negatives": []}
    photos = PHOTOS[:6] if quick else PHOTOS
    originals: dict[str, Path] = {}
    multipanel: set[str] = set()
    vector: set[str] = set()

    def record(name: str, path: Path, kind: str) -> None:
        originals[name] = path
        man["originals"][name] = {"path": str(path.relative_to(out)), "kind": kind}

    def sibling(name: str, tag: str, path: Path) -> None:
        man["siblings"][f"{name}~{tag}"] = {"path": str(path.relative_to(out)), "of": name}

    from scipy import ndimage

    for n in photos:
        a = _skimage(n)
        p = out / "originals" / f"{n}.png"
        Image.fromarray(a).save(p)
        record(n, p, "photo")
        f = a.astype(float)
        srng = np.random.default_rng(abs(hash(n)) % 2**32)
        drift = ndimage.shift(f, (3, -2) + ((0,) if a.ndim == 3 else ()), order=1, mode="nearest")
        drift += ndimage.gaussian_filter(srng.normal(0, 14, f.shape), 3)  # local changes
        param = 255 * (f / 255) ** 1.15
        seed = f + srng.normal(0, 6, f.shape)
        for tag, s in (("drift", drift), ("param", param), ("seed", seed)):
            q = out / "siblings" / f"{n}~{tag}.png"
            Image.fromarray(np.clip(s, 0, 255).astype(np.uint8)).save(q)
            sibling(n, tag, q)

    import tifffile

    n_fluo = 3 if quick else 8
    for s in range(1, n_fluo + 1):
        n = f"nuclei{s:02d}"
        p = out / "originals" / f"{n}.tif"
        tifffile.imwrite(p, nuclei(s))
        record(n, p, "fluorescence")
        for tag, frame in (
            ("drift", nuclei(s, shift=(2.5, -1.5), noise_seed=s + 50)),
            ("param", nuclei(s, blur=1.2)),
            ("seed", nuclei(s, noise_seed=s + 99)),
        ):
            q = out / "siblings" / f"{n}~{tag}.tif"
            tifffile.imwrite(q, frame)
            sibling(n, tag, q)

    n_fig = 2 if quick else 6
    for s in range(1, n_fig + 1):
        for kind, make in (
            ("panel", lambda s, t=0.0: panel_figure(s, 1 + s % 2, t)),
            ("summary", lambda s, t=0.0: summary_figure(s, t)),
        ):
            n = f"{kind}{s:02d}"
            suffix = ".svg" if s == 1 else ".pdf" if s == 2 else ".png"
            p = out / "originals" / f"{n}{suffix}"
            _save_fig(make(s), p)
            record(n, p, f"figure-{kind}")
            multipanel.add(n)
            if suffix != ".png":
                vector.add(n)
                _save_fig(make(s), out / "originals" / f"{n}.render.png", dpi=150)
            for tag, fig in (
                ("param", make(s, 0.6 if kind == "panel" else 0.03)),
                ("seed", make(s + 100)),
            ):
                q = out / "siblings" / f"{n}~{tag}.png"
                _save_fig(fig, q)
                sibling(n, tag, q)

    # layouts are filled with never-recorded pictures
    fillers = [Image.fromarray(_skimage(n)) for n in NEG_PHOTOS[:3]]

    def pic(name: str) -> Image.Image:
        p = originals[name]
        if p.suffix in (".svg", ".pdf"):
            return Image.open(out / "originals" / f"{name}.render.png")
        img = Image.open(p)
        if img.mode.startswith("I"):
            return Image.fromarray(_stretch8(np.asarray(img)))
        return img.convert("RGB") if img.mode not in ("L", "RGB") else img

    def edit(name: str, kind: str, path: Path) -> None:
        man["edits"].append({"path": str(path.relative_to(out)), "of": name, "kind": kind})

    for name in originals:
        img = pic(name)
        e = out / "edits"
        w, h = img.size
        _jpeg(img, e / f"{name}.jpeg.jpg", 75)
        edit(name, "jpeg", e / f"{name}.jpeg.jpg")
        img.resize((w // 2, h // 2), Image.Resampling.LANCZOS).save(e / f"{name}.half.png")
        edit(name, "half", e / f"{name}.half.png")
        _crop(img, 0.9, rng).save(e / f"{name}.crop10.png")
        edit(name, "crop10", e / f"{name}.crop10.png")
        _crop(img, 0.75, rng).save(e / f"{name}.crop25.png")
        edit(name, "crop25", e / f"{name}.crop25.png")
        pad = max(12, w // 12)
        padded = Image.new(
            img.mode if img.mode in ("L", "RGB") else "RGB", (w + 2 * pad, h + 2 * pad), "white"
        )
        padded.paste(img, (pad, pad))
        padded.save(e / f"{name}.pad.png")
        edit(name, "pad", e / f"{name}.pad.png")
        _letter_bar(img).save(e / f"{name}.letter_bar.png")
        edit(name, "letter_bar", e / f"{name}.letter_bar.png")
        _layout(img, fillers, 2, 2, int(rng.integers(0, 4)), rng).save(e / f"{name}.2x2.png")
        edit(name, "layout2x2", e / f"{name}.2x2.png")
        _layout(img, fillers[:2], 3, 1, int(rng.integers(0, 3)), rng).save(e / f"{name}.1x3.png")
        edit(name, "layout1x3", e / f"{name}.1x3.png")
        _screenshot(img).save(e / f"{name}.screenshot.png")
        edit(name, "screenshot", e / f"{name}.screenshot.png")
        combo = _letter_bar(
            _crop(img, 0.9, rng).resize(
                (round(w * 0.54), round(h * 0.54)), Image.Resampling.LANCZOS
            ),
            "C",
        )
        _jpeg(combo, e / f"{name}.combo.jpg", 80)
        edit(name, "combo", e / f"{name}.combo.jpg")
        if img.mode == "RGB":
            img.convert("L").save(e / f"{name}.grey.png")
            edit(name, "grey", e / f"{name}.grey.png")
        _pdf_page(img, e / f"{name}.pdfpage.pdf", rng)
        edit(name, "pdfpage", e / f"{name}.pdfpage.pdf")
        if name in multipanel and name.startswith("panel"):
            # the middle panel alone, as a paper would reuse it
            from iscc_lineage.codes.figure import split

            gray = np.asarray(img.convert("L"))
            boxes = sorted(split(gray), key=lambda b: (b[1], b[0]))
            if len(boxes) >= 2:
                img.crop(boxes[1]).save(e / f"{name}.panel.png")
                edit(name, "panel", e / f"{name}.panel.png")
        if name in vector:
            (e / f"{name}.render.png").write_bytes(
                (out / "originals" / f"{name}.render.png").read_bytes()
            )
            edit(name, "render", e / f"{name}.render.png")

    # negatives: never recorded, same styles
    neg = out / "negatives"
    negs: list[tuple[str, Image.Image]] = []
    for n in NEG_PHOTOS[3:] + PHOTOS[len(photos) : len(photos)]:
        negs.append((n, Image.fromarray(_skimage(n))))
    for s in range(1, (4 if quick else 12) + 1):
        negs.append((f"nuclei-neg{s:02d}", Image.fromarray(_stretch8(nuclei(500 + s)))))
    for s in range(1, (2 if quick else 6) + 1):
        for kind, make in (
            ("panel", lambda s: panel_figure(300 + s, 1 + s % 2)),
            ("summary", lambda s: summary_figure(300 + s)),
        ):
            buf = io.BytesIO()
            fig = make(s)
            fig.savefig(buf, format="png", dpi=100)
            _mpl().close(fig)
            negs.append((f"{kind}-neg{s:02d}", Image.open(io.BytesIO(buf.getvalue()))))
    for n, img in negs:
        for kind in ("as-is", "jpeg", "crop25", "pad", "letter_bar"):
            p = neg / f"{n}.{kind}.png"
            if kind == "as-is":
                img.save(p)
            elif kind == "jpeg":
                p = p.with_suffix(".jpg")
                _jpeg(img, p, 75)
            elif kind == "crop25":
                _crop(img, 0.75, rng).save(p)
            elif kind == "pad":
                w, h = img.size
                c = Image.new("RGB", (w + 60, h + 60), "white")
                c.paste(img.convert("RGB"), (30, 30))
                c.save(p)
            else:
                _letter_bar(img).save(p)
            man["negatives"].append({"path": str(p.relative_to(out)), "kind": kind})
    # a text-only paper page
    plt = _mpl()
    fig = plt.figure(figsize=(8.27, 11.69))
    for i in range(40):
        fig.text(0.1, 0.95 - i * 0.022, "lorem ipsum dolor sit amet " * 3, fontsize=9)
    fig.savefig(neg / "textpage.pdf")
    plt.close(fig)
    man["negatives"].append({"path": "negatives/textpage.pdf", "kind": "pdf-text"})
    (out / "manifest.json").write_text(json.dumps(man, indent=1))
    return man


if __name__ == "__main__":
    build(Path(sys.argv[1]), quick="--quick" in sys.argv)
