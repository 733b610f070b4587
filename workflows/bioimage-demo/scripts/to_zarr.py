"""Package a corrected image and its nuclei labels as OME-Zarr (``to_zarr`` rule).

The container follows the Zarr v2 layout with OME-NGFF 0.4 metadata: the image at the
group root and the segmentation as the label image ``labels/nuclei``, both chunked.
"""

from pathlib import Path
from typing import Any

from bioimage_io import read_tiff, write_ome_zarr

snakemake: Any  # injected by Snakemake's ``script:`` directive


def main(
    corrected: Path, labels: Path, output: Path, sample: str, pixel_size_um: float, chunk: int
) -> None:
    """Write ``corrected`` and ``labels`` of ``sample`` into the OME-Zarr directory ``output``."""
    image, nuclei = read_tiff(corrected), read_tiff(labels)
    write_ome_zarr(output, sample, image, nuclei, pixel_size_um, chunk)


if __name__ == "__main__":
    main(
        Path(snakemake.input.corrected),
        Path(snakemake.input.labels),
        Path(snakemake.output[0]),
        snakemake.wildcards.sample,
        float(snakemake.params.pixel_size_um),
        int(snakemake.params.chunk),
    )
