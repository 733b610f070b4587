"""Summary figure over all samples (``summary`` rule, fan-in of the measurement tables).

Left: distribution of nucleus areas per sample; right: number of nuclei per sample.
"""

import csv
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

snakemake: Any  # injected by Snakemake's ``script:`` directive


def read_areas(table: Path) -> tuple[str, np.ndarray]:
    """Return the sample name and nucleus areas (square micrometres) of one CSV table."""
    with table.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return table.stem, np.array([float(row["area_um2"]) for row in rows])


def plot_summary(tables: list[Path], output: Path) -> None:
    """Draw the area histograms and the nucleus count bar chart into ``output`` (PNG)."""
    samples = [read_areas(table) for table in tables]
    colors = [f"C{index % 10}" for index in range(len(samples))]  # default colour cycle
    every = np.concatenate([areas for _, areas in samples])
    bins = np.linspace(0.0, every.max() * 1.05 if every.size else 1.0, 16)

    fig, (hist_ax, bar_ax) = plt.subplots(
        1, 2, figsize=(9, 3.8), gridspec_kw={"width_ratios": [2, 1]}, layout="constrained"
    )
    for (name, areas), color in zip(samples, colors, strict=True):
        hist_ax.hist(
            areas,
            bins=bins,
            histtype="step",
            linewidth=2,
            color=color,
            label=f"{name} (median {np.median(areas):.0f} µm²)",
        )
    hist_ax.set(xlabel="nucleus area (µm²)", ylabel="nuclei", title="Nucleus size distribution")
    hist_ax.legend(frameon=False)

    names = [name for name, _ in samples]
    counts = [areas.size for _, areas in samples]
    bars = bar_ax.bar(names, counts, color=colors)
    bar_ax.bar_label(bars)
    bar_ax.set(xlabel="sample", ylabel="segmented nuclei", title="Nuclei per sample")
    bar_ax.margins(y=0.15)

    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=120, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    plot_summary([Path(table) for table in snakemake.input], Path(snakemake.output[0]))
