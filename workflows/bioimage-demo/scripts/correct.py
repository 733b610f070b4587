"""Illumination correction and denoising of one raw acquisition (``correct`` rule).

The camera offset is removed, the image is median-filtered against shot noise and lightly
smoothed, and a background estimate (a grey opening wider than any nucleus, then a heavy
Gaussian) is subtracted, which flattens the uneven illumination and autofluorescence.
"""

from pathlib import Path
from typing import Any

import numpy as np
from bioimage_io import read_tiff, write_tiff
from skimage.filters import gaussian, median
from skimage.morphology import disk, opening

snakemake: Any  # injected by Snakemake's ``script:`` directive

CAMERA_OFFSET = 100.0


def correct(raw: np.ndarray, background_radius: int = 15) -> np.ndarray:
    """Return the background-subtracted, denoised image as float32 (photon-like units)."""
    signal = np.clip(raw.astype(np.float64) - CAMERA_OFFSET, 0.0, None)
    denoised = gaussian(median(signal, disk(1)), sigma=1.0)
    background = gaussian(opening(denoised, disk(background_radius)), sigma=10.0)
    return np.clip(denoised - background, 0.0, None).astype(np.float32)


def main(raw: Path, output: Path) -> None:
    """Correct ``raw`` and write the result to ``output``."""
    write_tiff(output, correct(read_tiff(raw)))


if __name__ == "__main__":
    main(Path(snakemake.input[0]), Path(snakemake.output[0]))
