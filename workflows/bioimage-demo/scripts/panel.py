"""Multi-panel figure of every sample (``panel`` rule).

One row per sample: the raw acquisition (TIFF), the corrected image read back from the
OME-Zarr container, and the nuclei segmentation outlined on top of the corrected image.
"""

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from bioimage_io import read_tiff, read_zarr_array
from skimage.color import label2rgb
from skimage.exposure import rescale_intensity
from skimage.segmentation import find_boundaries

snakemake: Any  # injected by Snakemake's ``script:`` directive


def stretch(image: np.ndarray) -> np.ndarray:
    """Contrast-stretch ``image`` to [0, 1] between its 1st and 99.5th percentiles."""
    low, high = np.percentile(image, (1.0, 99.5))
    return rescale_intensity(image.astype(np.float64), in_range=(low, high), out_range=(0.0, 1.0))


def overlay(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Colour each nucleus translucently over ``image`` and draw its outline in yellow."""
    rgb = label2rgb(labels, image=stretch(image), alpha=0.25, bg_label=0, image_alpha=1.0)
    rgb[find_boundaries(labels, mode="inner")] = (1.0, 0.9, 0.0)
    return rgb


def plot_panel(raws: list[Path], zarrs: list[Path], labels: list[Path], output: Path) -> None:
    """Draw one row of (raw, corrected, overlay) per sample into ``output`` (PNG)."""
    fig, axes = plt.subplots(
        len(raws), 3, figsize=(9, 3 * len(raws)), squeeze=False, layout="constrained"
    )
    for row, raw, zarr, label_path in zip(axes, raws, zarrs, labels, strict=True):
        sample = raw.stem
        corrected = read_zarr_array(zarr / "0")
        nuclei = read_tiff(label_path)
        row[0].imshow(stretch(read_tiff(raw)), cmap="gray")
        row[1].imshow(stretch(corrected), cmap="gray")
        row[2].imshow(overlay(corrected, nuclei))
        titles = ("raw acquisition", "corrected (OME-Zarr)", f"{nuclei.max()} nuclei")
        for ax, title in zip(row, titles, strict=True):
            ax.set_title(f"{sample}: {title}", fontsize=10)
            ax.set_axis_off()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=100, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    plot_panel(
        [Path(p) for p in snakemake.input.raw],
        [Path(p) for p in snakemake.input.zarr],
        [Path(p) for p in snakemake.input.labels],
        Path(snakemake.output[0]),
    )
