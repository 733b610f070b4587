"""Simulate one widefield fluorescence acquisition of stained nuclei.

The frame is fully determined by ``--seed``: 20-40 elliptical nuclei of varying size and
brightness, blurred by the optics, under an uneven illumination field, recorded with
photon (Poisson) and camera read (Gaussian) noise as a 16-bit image. Run as a command-line
tool by the ``acquire`` rule (a ``shell:`` rule), e.g.::

    python acquire.py --seed 101 --height 256 --width 256 raw/s01.tif
"""

import argparse
from pathlib import Path

import numpy as np
from bioimage_io import write_tiff
from skimage.filters import gaussian

CAMERA_OFFSET = 100.0  # ADU added by the camera to every pixel
READ_NOISE = 4.0  # ADU, standard deviation


def place_nuclei(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Return an (n, 5) array of nuclei: centre y, centre x, semi-axes a, b, angle."""
    wanted = int(rng.integers(20, 41))
    nuclei: list[tuple[float, float, float, float, float]] = []
    while len(nuclei) < wanted:
        a = rng.uniform(5.0, 11.0)
        b = a * rng.uniform(0.6, 1.0)
        cy, cx = rng.uniform(a, height - a), rng.uniform(a, width - a)
        # Keep nuclei apart enough to be countable, but let some of them touch.
        if all(np.hypot(cy - y, cx - x) > 0.8 * (a + na) for y, x, na, _, _ in nuclei):
            nuclei.append((cy, cx, a, b, rng.uniform(0.0, np.pi)))
    return np.array(nuclei)


def render(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Render the noise-free expected photon count per pixel."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    stain = np.zeros((height, width))
    for cy, cx, a, b, angle in place_nuclei(rng, height, width):
        dy, dx = yy - cy, xx - cx
        u = dx * np.cos(angle) + dy * np.sin(angle)
        v = -dx * np.sin(angle) + dy * np.cos(angle)
        radius = np.sqrt((u / a) ** 2 + (v / b) ** 2)
        brightness = rng.uniform(0.5, 1.0)
        texture = 1.0 + 0.15 * np.cos(u / 2.0 + rng.uniform(0.0, 2 * np.pi))  # chromatin
        stain += brightness * texture * 0.5 * (1.0 - np.tanh((radius - 1.0) * 6.0))  # soft edge
    stain = gaussian(stain, sigma=1.5)  # optical blur (point spread function)
    # Illumination falls off from a random bright spot towards the frame edges.
    sy, sx = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width
    distance = np.hypot(yy - sy, xx - sx)
    illumination = 1.0 - 0.5 * distance / distance.max()
    autofluorescence = 80.0 + 160.0 * (xx / width)
    return illumination * (900.0 * stain + autofluorescence)


def acquire(seed: int, height: int, width: int) -> np.ndarray:
    """Simulate a 16-bit camera frame for ``seed``."""
    rng = np.random.default_rng(seed)
    photons = rng.poisson(render(rng, height, width)).astype(np.float64)
    frame = photons + CAMERA_OFFSET + rng.normal(0.0, READ_NOISE, photons.shape)
    return np.clip(np.rint(frame), 0, np.iinfo(np.uint16).max).astype(np.uint16)


def main() -> None:
    """Parse the command line and write the simulated frame as a TIFF."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    write_tiff(args.output, acquire(args.seed, args.height, args.width))


if __name__ == "__main__":
    main()
