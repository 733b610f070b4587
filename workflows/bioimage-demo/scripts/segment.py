"""Nuclei segmentation of one corrected image (``segment`` rule).

Foreground is found with an Otsu threshold; touching nuclei are split by a marker-based
watershed seeded at the intensity maxima of a smoothed copy. Writes a uint16 label image.
"""

from pathlib import Path
from typing import Any

import numpy as np
from bioimage_io import read_tiff, write_tiff
from skimage.feature import peak_local_max
from skimage.filters import gaussian, threshold_otsu
from skimage.measure import label
from skimage.morphology import disk, opening
from skimage.segmentation import relabel_sequential, watershed

snakemake: Any  # injected by Snakemake's ``script:`` directive


def drop_small(labels: np.ndarray, min_area: int) -> np.ndarray:
    """Set every labelled object smaller than ``min_area`` pixels to background."""
    small = np.bincount(labels.ravel()) < min_area
    return np.where(small[labels], 0, labels)


def segment(image: np.ndarray, min_area: int = 30, min_distance: int = 5) -> np.ndarray:
    """Return a label image: 0 is background, 1..n are the nuclei."""
    smooth = gaussian(image, sigma=2.0)
    mask = opening((image > threshold_otsu(image)).astype(np.uint8), disk(1)) > 0
    objects = drop_small(label(mask), min_area)
    peaks = peak_local_max(smooth, min_distance=min_distance, labels=objects)
    markers = np.zeros(image.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    labels = watershed(-smooth, markers, mask=objects > 0)
    return relabel_sequential(drop_small(labels, min_area))[0]


def main(corrected: Path, output: Path) -> None:
    """Segment ``corrected`` and write the labels to ``output``."""
    write_tiff(output, segment(read_tiff(corrected)).astype(np.uint16))


if __name__ == "__main__":
    main(Path(snakemake.input[0]), Path(snakemake.output[0]))
