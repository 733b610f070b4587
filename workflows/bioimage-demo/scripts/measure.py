"""Per-nucleus measurements of one sample (``measure`` rule).

For every label: area (pixels and square micrometres), centroid and mean intensity in the
corrected image. Numbers are written with fixed precision so the CSV is reproducible.
"""

import csv
from pathlib import Path
from typing import Any

from bioimage_io import read_tiff
from skimage.measure import regionprops

snakemake: Any  # injected by Snakemake's ``script:`` directive

COLUMNS = ("sample", "label", "area_px", "area_um2", "centroid_y", "centroid_x", "mean_intensity")


def measure(
    labels: Path, corrected: Path, sample: str, pixel_size_um: float
) -> list[dict[str, Any]]:
    """Return one row per nucleus, ordered by label."""
    regions = regionprops(read_tiff(labels), intensity_image=read_tiff(corrected))
    return [
        {
            "sample": sample,
            "label": region.label,
            "area_px": int(region.area),
            "area_um2": f"{region.area * pixel_size_um**2:.3f}",
            "centroid_y": f"{region.centroid[0]:.2f}",
            "centroid_x": f"{region.centroid[1]:.2f}",
            "mean_intensity": f"{region.intensity_mean:.3f}",
        }
        for region in regions
    ]


def main(labels: Path, corrected: Path, output: Path, sample: str, pixel_size_um: float) -> None:
    """Measure the nuclei of one sample and write them as CSV to ``output``."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(measure(labels, corrected, sample, pixel_size_um))


if __name__ == "__main__":
    main(
        Path(snakemake.input.labels),
        Path(snakemake.input.corrected),
        Path(snakemake.output[0]),
        snakemake.wildcards.sample,
        float(snakemake.params.pixel_size_um),
    )
